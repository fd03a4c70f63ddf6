"""What the shared gRPC bootstrap costs: a call through ServiceHost (error mapping, RED metrics, health,
reflection, client deadline + error interceptor) vs the same servicer on a bare grpc.aio server."""

from __future__ import annotations

import asyncio

import grpc

from bench.harness import Result, measure, progress, report
from crm.reporting.v1 import reporting_pb2, reporting_pb2_grpc
from crm_common import grpc_client
from crm_common.grpc_server import Service, serving
from crm_common.settings import ServiceSettings

CONCURRENCY = 16


class _Kpis(reporting_pb2_grpc.ReportingServiceServicer):
    async def GetKpis(self, request, context):  # type: ignore[no-untyped-def]
        return reporting_pb2.Kpis(orders=1, revenue_fen=100)


async def _load(stub: reporting_pb2_grpc.ReportingServiceStub, n: int) -> None:
    request = reporting_pb2.GetKpisRequest(brand_id="b")

    async def worker(count: int) -> None:
        for _ in range(count):
            await stub.GetKpis(request)

    await asyncio.gather(*(worker(n // CONCURRENCY) for _ in range(CONCURRENCY)))


async def run(ops: int = 4_000) -> list[str]:
    """Both servers in this process, measured alternately; returns report rows."""
    progress("gRPC platform overhead")
    bare = grpc.aio.server()
    reporting_pb2_grpc.add_ReportingServiceServicer_to_server(_Kpis(), bare)
    bare_port = bare.add_insecure_port("127.0.0.1:0")
    await bare.start()
    service = Service("bench", [(reporting_pb2_grpc.add_ReportingServiceServicer_to_server, _Kpis(),
                                 "crm.reporting.v1.ReportingService")])
    async with serving(service, ServiceSettings(service_name="bench", grpc_port=0)) as addr:
        ours, ch1 = grpc_client.stub(reporting_pb2_grpc.ReportingServiceStub, addr, service="bench")
        ch2 = grpc.aio.insecure_channel(f"127.0.0.1:{bare_port}")
        theirs = reporting_pb2_grpc.ReportingServiceStub(ch2)
        subject = Result("ServiceHost", [])
        baseline = Result("bare grpc.aio", [])
        for _ in range(5):  # alternate so machine noise hits both alike
            subject.rounds += (await measure("ServiceHost", lambda n: _load(ours, n), ops=ops, rounds=1)).rounds
            baseline.rounds += (await measure("bare", lambda n: _load(theirs, n), ops=ops, rounds=1)).rounds
        await ch1.close()
        await ch2.close()
    await bare.stop(None)
    return [report("unary gRPC call via the shared bootstrap", subject, baseline, goal=0.8)]
