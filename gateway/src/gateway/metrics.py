"""RED metrics per route (rate, errors, duration) as one Prometheus histogram, and the /metrics body."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_LATENCY = Histogram(
    "crm_http_server_request_duration_seconds",
    "Time to answer an HTTP request at the gateway",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
# Unmatched paths share one label: a scanner probing random URLs must not create unbounded series.
UNMATCHED_ROUTE = "<unmatched>"


class REDMiddleware:
    """Pure ASGI middleware (no body buffering) labelling each request by its route *template*."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._series: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # stays 500 if the app raises before starting a response

        async def send_and_record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record_status)
        finally:
            # The router writes the matched route into this same scope dict on its way down.
            route = getattr(scope.get("route"), "path", None) or UNMATCHED_ROUTE
            key = (scope["method"], route, status)
            series = self._series.get(key)
            if series is None:  # labels() takes a lock and builds a key; the series are few and fixed
                series = self._series[key] = HTTP_LATENCY.labels(key[0], route, str(status))
            series.observe(time.perf_counter() - started)


def exposition() -> tuple[bytes, str]:
    """The Prometheus text format of every metric in the process, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
