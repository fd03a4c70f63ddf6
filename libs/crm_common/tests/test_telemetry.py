"""Logs are one JSON object per line, carry the trace id, and never carry phone numbers or secrets."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider

from crm_common import telemetry


@pytest.fixture
def json_logs():  # type: ignore[no-untyped-def]
    out = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    telemetry.configure_logging("test-svc", "INFO", stream=out)
    yield lambda: [json.loads(line) for line in out.getvalue().splitlines()]
    structlog.reset_defaults()
    root.handlers[:], level = saved
    root.setLevel(level)


def test_log_lines_are_json_with_the_current_trace_id(json_logs) -> None:  # type: ignore[no-untyped-def]
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        logging.getLogger("crm.test").info("order recorded")
        trace_id = format(span.get_span_context().trace_id, "032x")
    (line,) = [entry for entry in json_logs() if entry["event"] == "order recorded"]
    assert line["trace_id"] == trace_id
    assert line["service"] == "test-svc"
    assert line["level"] == "info"


def test_phones_and_secrets_are_redacted(json_logs) -> None:  # type: ignore[no-untyped-def]
    log = structlog.get_logger("crm.test")
    log.info("lookup for 13800138000 failed", phone="+8613800138000", password="hunter2", member_id="m_1")
    logging.getLogger("crm.test").warning("stdlib line about +8613912345678")
    lines = json_logs()
    text = json.dumps(lines, ensure_ascii=False)
    for secret in ("13800138000", "hunter2", "13912345678"):
        assert secret not in text
    structured = next(e for e in lines if e["event"].startswith("lookup"))
    assert structured["member_id"] == "m_1"  # ids stay readable
    assert structured["phone"] == "***"


async def _spans_of_one_call_per_trace_state(instrumentor: Any, call: Callable[[int], Awaitable[object]]) -> list[Any]:
    """Instrument with a fresh provider, then ``call`` outside any trace, in an unsampled one and in a sampled
    one; the client spans recorded, after checking the sampled call's is a child of its trace."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor.instrument(tracer_provider=provider)
    try:
        await call(1)  # no trace at all: no span, no trace of its own
        with TracerProvider(sampler=ALWAYS_OFF).get_tracer("t").start_as_current_span("unsampled"):
            await call(2)
        with provider.get_tracer("t").start_as_current_span("sampled"):
            await call(3)
    finally:
        instrumentor.uninstrument()
    spans = exporter.get_finished_spans()
    sampled = next(s for s in spans if s.name == "sampled")
    client_spans = [s for s in spans if s is not sampled]
    assert all(s.parent is not None and s.parent.span_id == sampled.context.span_id for s in client_spans)
    return client_spans


async def test_sql_statements_get_spans_inside_a_recorded_trace_only(pg_dsn_factory) -> None:  # type: ignore[no-untyped-def]
    import asyncpg

    conn = await asyncpg.connect(pg_dsn_factory("telemetry_spans"))
    try:
        spans = await _spans_of_one_call_per_trace_state(
            telemetry.sampled_asyncpg_instrumentor(), lambda n: conn.fetchval(f"SELECT {n}"))
    finally:
        await conn.close()
    assert [s.name for s in spans] == ["SELECT"]


async def test_mongo_commands_get_spans_inside_a_recorded_trace_only(mongo_uri_factory) -> None:  # type: ignore[no-untyped-def]
    from pymongo import AsyncMongoClient

    clients: list[AsyncMongoClient[dict[str, object]]] = []

    async def find(n: int) -> object:
        if not clients:  # created once instrumented: PyMongo reads its listeners when a client is made
            clients.append(AsyncMongoClient(mongo_uri_factory("telemetry_spans")))
        return await clients[0].get_default_database()["things"].find_one({"n": n})

    try:
        spans = await _spans_of_one_call_per_trace_state(telemetry.sampled_pymongo_instrumentor(), find)
    finally:
        for client in clients:
            await client.close()
    assert [s.name for s in spans] == ["telemetry_spans.find"]
