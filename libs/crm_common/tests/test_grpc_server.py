"""The shared gRPC bootstrap: honest health, errors with reasons, deadlines, graceful shutdown, server spans."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from crm.reporting.v1 import reporting_pb2, reporting_pb2_grpc
from crm_common import grpc_client
from crm_common.errors import AlreadyExists, RemoteError
from crm_common.events import trace_carrier
from crm_common.grpc_server import Service, ServiceHost
from crm_common.settings import ServiceSettings

FULL_NAME = "crm.reporting.v1.ReportingService"


class _Servicer(reporting_pb2_grpc.ReportingServiceServicer):
    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered = asyncio.Event()

    async def GetKpis(self, request, context):  # type: ignore[no-untyped-def]
        if request.brand_id == "dup":
            raise AlreadyExists("phone taken", reason="DUPLICATE_PHONE", field="phone", details={"member_id": "m1"})
        if request.brand_id == "boom":
            raise RuntimeError("SELECT secret FROM internals")
        if request.brand_id == "slow":
            self.entered.set()
            await self.release.wait()
        return reporting_pb2.Kpis(orders=7)


def _settings() -> ServiceSettings:
    return ServiceSettings(service_name="test", grpc_port=0, shutdown_grace_seconds=5, drain_delay_seconds=0.5)


async def _health(addr: str) -> int:
    async with grpc.aio.insecure_channel(addr) as ch:
        resp = await health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
        return resp.status


async def test_health_is_serving_only_after_the_start_hook_and_not_while_draining() -> None:
    connected = asyncio.Event()

    async def start() -> None:
        await connected.wait()  # stands for "database and NATS connected"

    servicer = _Servicer()
    host = ServiceHost(
        Service("test", [(reporting_pb2_grpc.add_ReportingServiceServicer_to_server, servicer, FULL_NAME)],
                start=start),
        _settings(),
    )
    starting = asyncio.create_task(host.start())
    while not host.port:  # noqa: ASYNC110 - the port is bound inside start(); nothing to wait on but the value
        await asyncio.sleep(0.01)
    addr = f"127.0.0.1:{host.port}"
    assert await _health(addr) == health_pb2.HealthCheckResponse.NOT_SERVING
    connected.set()
    await starting
    assert await _health(addr) == health_pb2.HealthCheckResponse.SERVING

    # Graceful stop: the in-flight call finishes, health turns NOT_SERVING meanwhile.
    stub, channel = grpc_client.stub(reporting_pb2_grpc.ReportingServiceStub, addr, service="test", timeout=10)
    async def slow_call() -> reporting_pb2.Kpis:
        return await stub.GetKpis(reporting_pb2.GetKpisRequest(brand_id="slow"))

    in_flight = asyncio.create_task(slow_call())
    await servicer.entered.wait()
    stopping = asyncio.create_task(host.stop())
    await asyncio.sleep(0.1)
    # During the drain delay health already says NOT_SERVING, so probes take the pod out of rotation.
    draining = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
    assert draining.status == health_pb2.HealthCheckResponse.NOT_SERVING
    servicer.release.set()
    assert (await in_flight).orders == 7
    await stopping
    await channel.close()


@pytest.fixture
async def served():  # type: ignore[no-untyped-def]
    servicer = _Servicer()
    host = ServiceHost(
        Service("test", [(reporting_pb2_grpc.add_ReportingServiceServicer_to_server, servicer, FULL_NAME)]),
        _settings(),
    )
    port = await host.start()
    yield f"127.0.0.1:{port}", servicer
    servicer.release.set()
    await host.stop()


async def test_domain_errors_arrive_with_reason_field_and_details(served) -> None:  # type: ignore[no-untyped-def]
    addr, _ = served
    stub, channel = grpc_client.stub(reporting_pb2_grpc.ReportingServiceStub, addr, service="reporting")
    with pytest.raises(RemoteError) as caught:
        await stub.GetKpis(reporting_pb2.GetKpisRequest(brand_id="dup"))
    err = caught.value
    assert (err.code, err.reason, err.field, err.details) == (
        grpc.StatusCode.ALREADY_EXISTS, "DUPLICATE_PHONE", "phone", {"member_id": "m1"}
    )
    with pytest.raises(RemoteError) as internal:
        await stub.GetKpis(reporting_pb2.GetKpisRequest(brand_id="boom"))
    assert internal.value.code == grpc.StatusCode.INTERNAL
    assert "secret" not in internal.value.message  # internals never leave the service
    await channel.close()


async def test_every_client_call_has_a_deadline(served) -> None:  # type: ignore[no-untyped-def]
    addr, _ = served
    stub, channel = grpc_client.stub(reporting_pb2_grpc.ReportingServiceStub, addr, service="reporting", timeout=0.3)
    with pytest.raises(RemoteError) as caught:
        await stub.GetKpis(reporting_pb2.GetKpisRequest(brand_id="slow"))
    assert caught.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    await channel.close()


async def test_reflection_lists_the_service_and_health(served) -> None:  # type: ignore[no-untyped-def]
    addr, _ = served
    async with grpc.aio.insecure_channel(addr) as ch:
        stub = reflection_pb2_grpc.ServerReflectionStub(ch)

        async def requests():  # type: ignore[no-untyped-def]
            yield reflection_pb2.ServerReflectionRequest(list_services="")

        async for resp in stub.ServerReflectionInfo(requests()):
            names = {s.name for s in resp.list_services_response.service}
            break
    assert {FULL_NAME, "grpc.health.v1.Health"} <= names


def _traced_host() -> tuple[InMemorySpanExporter, list[dict[str, str]], ServiceHost]:
    """A host whose spans land in the exporter; each call records the trace carrier its handler sees (what an
    outbox row written there would carry)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    carriers: list[dict[str, str]] = []

    class Traced(_Servicer):
        async def GetKpis(self, request, context):  # type: ignore[no-untyped-def]
            carriers.append(trace_carrier())
            return await super().GetKpis(request, context)

    host = ServiceHost(
        Service("test", [(reporting_pb2_grpc.add_ReportingServiceServicer_to_server, Traced(), FULL_NAME)]),
        _settings(),
        tracer=provider.get_tracer("test"),
    )
    return exporter, carriers, host


async def test_calls_continue_the_callers_trace_in_a_server_span() -> None:
    exporter, carriers, host = _traced_host()
    port = await host.start()
    trace_id, parent_id = "ab" * 16, "cd" * 8
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        stub = reporting_pb2_grpc.ReportingServiceStub(ch)
        metadata = (("traceparent", f"00-{trace_id}-{parent_id}-01"),)
        await stub.GetKpis(reporting_pb2.GetKpisRequest(brand_id="b"), metadata=metadata, timeout=5)
        for brand in ("dup", "boom"):
            with pytest.raises(grpc.aio.AioRpcError):
                await stub.GetKpis(reporting_pb2.GetKpisRequest(brand_id=brand), metadata=metadata, timeout=5)
    await host.stop()

    spans = [s for s in exporter.get_finished_spans() if s.name == f"/{FULL_NAME}/GetKpis"]
    assert len(spans) == 3
    for span in spans:
        assert span.kind == SpanKind.SERVER
        assert format(span.context.trace_id, "032x") == trace_id
        assert span.parent is not None and format(span.parent.span_id, "016x") == parent_id
        assert span.attributes is not None
        assert (span.attributes["rpc.system"], span.attributes["rpc.service"], span.attributes["rpc.method"]) == (
            "grpc", FULL_NAME, "GetKpis"
        )
    assert carriers[0]["traceparent"] == f"00-{trace_id}-{format(spans[0].context.span_id, '016x')}-01"
    assert [s.attributes["rpc.grpc.status_code"] for s in spans] == [0, 6, 13]  # type: ignore[index]
    # The caller's mistakes leave the server span unset; the server's own failure marks it an error.
    assert [s.status.status_code for s in spans] == [StatusCode.UNSET, StatusCode.UNSET, StatusCode.ERROR]


async def test_an_unsampled_caller_is_followed_without_a_server_span() -> None:
    exporter, carriers, host = _traced_host()
    port = await host.start()
    trace_id, parent_id = "ef" * 16, "12" * 8
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        stub = reporting_pb2_grpc.ReportingServiceStub(ch)
        metadata = (("traceparent", f"00-{trace_id}-{parent_id}-00"),)
        await stub.GetKpis(reporting_pb2.GetKpisRequest(brand_id="b"), metadata=metadata, timeout=5)
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await stub.GetKpis(reporting_pb2.GetKpisRequest(brand_id="dup"), metadata=metadata, timeout=5)
    await host.stop()

    assert exporter.get_finished_spans() == ()
    # Events and downstream calls made here carry the caller's own context, still "not sampled".
    assert carriers[0]["traceparent"] == f"00-{trace_id}-{parent_id}-00"
    assert failed.value.code() == grpc.StatusCode.ALREADY_EXISTS  # errors are mapped all the same


async def test_a_caller_outside_any_trace_starts_one_here() -> None:
    exporter, carriers, host = _traced_host()
    port = await host.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        stub = reporting_pb2_grpc.ReportingServiceStub(ch)
        await stub.GetKpis(reporting_pb2.GetKpisRequest(brand_id="b"), metadata=(("x-other", "1"),), timeout=5)
        # Health checks go through the same wrapping as the service's own methods.
        health = health_pb2_grpc.HealthStub(ch)
        await health.Check(health_pb2.HealthCheckRequest(service=FULL_NAME), timeout=5)
    await host.stop()

    spans = {s.name: s for s in exporter.get_finished_spans()}
    root = spans[f"/{FULL_NAME}/GetKpis"]
    assert root.parent is None and root.kind == SpanKind.SERVER
    trace_id, span_id = format(root.context.trace_id, "032x"), format(root.context.span_id, "016x")
    _, carried_trace, carried_span, flags = carriers[0]["traceparent"].split("-")
    assert (carried_trace, carried_span) == (trace_id, span_id) and int(flags, 16) & 1  # sampled
    assert "/grpc.health.v1.Health/Check" in spans
