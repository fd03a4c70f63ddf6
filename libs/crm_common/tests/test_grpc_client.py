"""The shared gRPC client: the caller's trace travels in the metadata, a client span exists only inside a
recorded trace, and a service's error comes back as ``RemoteError`` with its reason."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
import pytest_asyncio
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind, StatusCode

from crm.reporting.v1 import reporting_pb2, reporting_pb2_grpc
from crm_common import grpc_client
from crm_common.errors import RemoteError

FULL_NAME = "crm.reporting.v1.ReportingService"


def _sampled(traceparent: str) -> bool:
    return bool(int(traceparent.rsplit("-", 1)[1], 16) & 0x01)  # W3C trace-flags bit 0 (bit 1 is "random")


class _Servicer(reporting_pb2_grpc.ReportingServiceServicer):
    def __init__(self) -> None:
        self.traceparents: list[str | None] = []

    async def GetKpis(self, request, context):  # type: ignore[no-untyped-def]
        self.traceparents.append(dict(context.invocation_metadata()).get("traceparent"))
        if request.brand_id == "missing":
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such brand")
        return reporting_pb2.Kpis(orders=7)


@pytest_asyncio.fixture
async def served() -> AsyncIterator[tuple[str, _Servicer]]:
    servicer = _Servicer()
    server = grpc.aio.server()
    reporting_pb2_grpc.add_ReportingServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield f"127.0.0.1:{port}", servicer
    await server.stop(0)


async def test_a_recorded_trace_gets_a_client_span_and_the_callee_its_context(served) -> None:  # type: ignore[no-untyped-def]
    addr, servicer = served
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    stub, channel = grpc_client.stub(reporting_pb2_grpc.ReportingServiceStub, addr, service="reporting",
                                     tracer=tracer)
    with tracer.start_as_current_span("caller"):
        assert (await stub.GetKpis(reporting_pb2.GetKpisRequest(brand_id="b"))).orders == 7
        with pytest.raises(RemoteError) as missing:
            await stub.GetKpis(reporting_pb2.GetKpisRequest(brand_id="missing"))
    await channel.close()

    assert missing.value.code == grpc.StatusCode.NOT_FOUND and missing.value.service == "reporting"
    spans = {s.name: s for s in exporter.get_finished_spans()}
    caller = spans.pop("caller")
    calls = [s for s in exporter.get_finished_spans() if s.name == f"/{FULL_NAME}/GetKpis"]
    assert len(calls) == 2
    for call, traceparent in zip(calls, servicer.traceparents, strict=True):
        assert call.kind == SpanKind.CLIENT
        assert call.parent is not None and call.parent.span_id == caller.context.span_id
        assert call.attributes is not None and call.attributes["rpc.method"] == "GetKpis"
        trace_id, span_id = format(call.context.trace_id, "032x"), format(call.context.span_id, "016x")
        assert traceparent is not None and traceparent.startswith(f"00-{trace_id}-{span_id}-")  # child of the call
        assert _sampled(traceparent)
    assert [c.attributes["rpc.grpc.status_code"] for c in calls] == [0, 5]  # type: ignore[index]
    assert [c.status.status_code for c in calls] == [StatusCode.UNSET, StatusCode.ERROR]


async def test_an_unrecorded_trace_travels_without_a_span_and_no_trace_sends_none(served) -> None:  # type: ignore[no-untyped-def]
    addr, servicer = served
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ALWAYS_OFF)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    stub, channel = grpc_client.stub(reporting_pb2_grpc.ReportingServiceStub, addr, service="reporting",
                                     tracer=tracer)
    with tracer.start_as_current_span("unsampled") as unsampled:
        await stub.GetKpis(reporting_pb2.GetKpisRequest(brand_id="b"))
    await stub.GetKpis(reporting_pb2.GetKpisRequest(brand_id="b"))
    await channel.close()

    assert exporter.get_finished_spans() == ()
    trace_id, span_id = format(unsampled.get_span_context().trace_id, "032x"), format(
        unsampled.get_span_context().span_id, "016x")
    # The callee follows the caller's "not sampled" instead of starting a trace of its own.
    first, second = servicer.traceparents
    assert first is not None and first.startswith(f"00-{trace_id}-{span_id}-") and not _sampled(first)
    assert second is None
