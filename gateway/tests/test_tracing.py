"""Request spans: one per request, joined to the caller's trace, with no query value (a phone) in them."""

from __future__ import annotations

import httpx
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.app import create_app
from gateway.metrics import HTTP_LATENCY
from gateway.tracing import redact_query

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_a_request_span_joins_the_callers_trace_and_keeps_no_query_value(settings, as_role) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = create_app(settings, tracer_provider=provider)
    headers = {**as_role("brand_admin"), "traceparent": f"00-{CALLER_TRACE}-00f067aa0ba902b7-01"}
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
            found = await http.get("/v1/brands/brand-a/members", params={"phone": "13800138000"}, headers=headers)
            assert (await http.get("/healthz")).status_code == 200

    assert found.status_code == 200 and found.json()["items"][0]["id"] == "m-a1"
    [span] = exporter.get_finished_spans()  # the probe has none
    assert format(span.context.trace_id, "032x") == CALLER_TRACE
    assert span.name == "GET /v1/brands/{brand_id}/members"
    assert span.attributes["http.route"] == "/v1/brands/{brand_id}/members"
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["url.query"] == "phone=REDACTED"
    assert "13800138000" not in str(dict(span.attributes))


def test_redact_query_keeps_keys_only() -> None:
    assert redact_query("phone=%2B8613800138000&q=%E7%8E%8B&limit=20&flag") == (
        "phone=REDACTED&q=REDACTED&limit=REDACTED&flag=REDACTED"
    )


async def test_an_unsampled_caller_gets_no_recorded_span_and_the_request_is_still_measured(settings, as_role) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = create_app(settings, tracer_provider=provider)
    route = "/v1/brands/{brand_id}/members"
    measured = HTTP_LATENCY.labels("GET", route, "200")
    before = measured._sum.get(), sum(b.get() for b in measured._buckets)
    headers = {**as_role("brand_admin"), "traceparent": f"00-{CALLER_TRACE}-00f067aa0ba902b7-00"}
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
            found = await http.get("/v1/brands/brand-a/members", params={"phone": "13800138000"}, headers=headers)

    assert found.status_code == 200
    assert exporter.get_finished_spans() == ()  # the caller's "not sampled" is followed
    assert sum(b.get() for b in measured._buckets) == before[1] + 1 and measured._sum.get() > before[0]
