"""RED metrics per route (rate, errors, duration) as one Prometheus histogram, and the /metrics body.

``gateway.tracing.RequestTelemetry`` observes each request into the histogram, next to its span.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Histogram, generate_latest

HTTP_LATENCY = Histogram(
    "crm_http_server_request_duration_seconds",
    "Time to answer an HTTP request at the gateway",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
# Unmatched paths share one label: a scanner probing random URLs must not create unbounded series.
UNMATCHED_ROUTE = "<unmatched>"


def exposition() -> tuple[bytes, str]:
    """The Prometheus text format of every metric in the process, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
