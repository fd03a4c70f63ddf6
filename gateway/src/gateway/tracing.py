"""Request telemetry at the gateway: one server span per request and the RED histogram, in one ASGI layer.

The span joins the caller's W3C trace and is named after the route template. The sampler decides first: only a
recorded span gets its full attributes (server address, protocol, the query's *keys*), so the nine requests in ten
that are not recorded cost an id and a context switch. FastAPI's native telemetry built every attribute (the
host parsed, the whole query string re-encoded) before sampling, about a tenth of a till lookup's gateway CPU, and
a second layer kept the histogram; both are replaced by this one. Query *values* never reach a span: a query
string is where PII travels in this API (``?phone=13800138000``, ``?q=<name prefix>``).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, StatusCode, TracerProvider
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.metrics import HTTP_LATENCY, UNMATCHED_ROUTE

UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""Probes and scrapes would drown the real traces (they are still counted in the histogram)."""

_CONTEXT_HEADERS = frozenset({b"traceparent", b"tracestate", b"baggage"})


def redact_query(query: str) -> str:
    """``phone=138…&limit=20`` → ``phone=REDACTED&limit=REDACTED``: the keys show which filters were used."""
    return urlencode([(key, "REDACTED") for key, _ in parse_qsl(query, keep_blank_values=True)], safe="")


class RequestTelemetry:
    """Pure ASGI middleware (no body buffering): the request's span and its RED observation, labelled by the
    route *template* the router writes into the scope on its way down."""

    def __init__(self, app: ASGIApp, tracer_provider: TracerProvider | None = None) -> None:
        self.app = app
        self._tracer_provider = tracer_provider
        self._tracer: trace.Tracer | None = None
        self._series: dict[tuple[str, str, int], Any] = {}

    def _get_tracer(self) -> trace.Tracer:
        if self._tracer is None:
            self._tracer = trace.get_tracer("gateway.http", tracer_provider=self._tracer_provider)
        return self._tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # stays 500 if the app raises before starting a response
        method: str = scope["method"]
        span = token = None
        if scope["path"] not in UNTRACED_PATHS:
            carrier = {
                key.decode("latin-1"): value.decode("latin-1")
                for key, value in scope["headers"]
                if key in _CONTEXT_HEADERS
            }
            parent = propagate.extract(carrier)
            span = self._get_tracer().start_span(
                method, context=parent, kind=SpanKind.SERVER, attributes={"http.request.method": method}
            )
            if span.is_recording():
                _request_attributes(span, scope)
            token = otel_context.attach(trace.set_span_in_context(span, parent))

        async def send_and_record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        error: BaseException | None = None
        try:
            await self.app(scope, receive, send_and_record_status)
        except BaseException as exc:
            error = exc
            raise
        finally:
            route = getattr(scope.get("route"), "path", None)
            label = route or UNMATCHED_ROUTE
            key = (method, label, status)
            series = self._series.get(key)
            if series is None:  # labels() takes a lock and builds a key; the series are few and fixed
                series = self._series[key] = HTTP_LATENCY.labels(method, label, str(status))
            series.observe(time.perf_counter() - started)
            if span is not None:
                if span.is_recording():
                    _response_attributes(span, method, route, status, error)
                span.end()
                otel_context.detach(token)


def _request_attributes(span: trace.Span, scope: Scope) -> None:
    """What OpenTelemetry's HTTP server conventions name, for a recorded span only."""
    span.set_attribute("url.scheme", scope.get("scheme", "http"))
    span.set_attribute("url.path", scope["path"])
    if scope.get("http_version"):
        span.set_attribute("network.protocol.version", scope["http_version"])
    server = scope.get("server")
    if server:
        span.set_attribute("server.address", server[0])
        if server[1] is not None:
            span.set_attribute("server.port", server[1])
    if scope.get("query_string"):
        span.set_attribute("url.query", redact_query(scope["query_string"].decode("latin-1")))


def _response_attributes(
    span: trace.Span, method: str, route: str | None, status: int, error: BaseException | None
) -> None:
    if route is not None:
        span.set_attribute("http.route", route)
        span.update_name(f"{method} {route}")
    span.set_attribute("http.response.status_code", status)
    if error is not None or status >= 500:
        span.set_attribute("error.type", type(error).__qualname__ if error is not None else str(status))
        span.set_status(StatusCode.ERROR)
