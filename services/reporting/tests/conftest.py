"""Shared harness of the reporting component tests: the live service on real PostgreSQL, NATS and gRPC,
with members as a small fake (every brand exists, in Shanghai)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import asyncpg
import pytest
from google.protobuf.message import Message

from crm.loyalty.v1 import loyalty_pb2, loyalty_pb2_grpc
from crm.members.v1 import members_pb2, members_pb2_grpc
from crm.members.v1.members_pb2_grpc import MembersServiceStub
from crm.reporting.v1 import reporting_pb2
from crm.reporting.v1.reporting_pb2_grpc import ReportingServiceStub
from crm_common.bus import EventBus
from crm_common.events import build_envelope
from crm_common.grpc_client import stub
from crm_common.grpc_server import Service, serving
from crm_common.settings import ServiceSettings
from reporting.bootstrap import ReportingSettings, build, migrate

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], timeout: float = 15.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if done(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last result: {result}")
        await asyncio.sleep(0.05)


class FakeMembers(members_pb2_grpc.MembersServiceServicer):
    """Every brand exists, in Shanghai (events of other tests share the streams)."""

    async def GetBrand(self, request, context):  # type: ignore[no-untyped-def]
        return members_pb2.Brand(id=request.brand_id, timezone="Asia/Shanghai")


class FakeLoyalty(loyalty_pb2_grpc.LoyaltyServiceServicer):
    """GetOrderTotals as loyalty will answer it: all-time totals per brand."""

    def __init__(self) -> None:
        self.totals: dict[str, loyalty_pb2.OrderTotals] = {}

    async def GetOrderTotals(self, request, context):  # type: ignore[no-untyped-def]
        return self.totals.get(request.brand_id, loyalty_pb2.OrderTotals())


@dataclass
class Live:
    """The running service, its database and a publisher."""

    client: ReportingServiceStub
    bus: EventBus
    pool: asyncpg.Pool
    dsn: str
    members: MembersServiceStub

    async def publish(self, msg: Message, source: str, brand_id: str) -> None:
        await self.bus.publish(build_envelope(msg, source=source, brand_id=brand_id, subject=""))

    async def kpis(self, brand_id: str) -> reporting_pb2.Kpis:
        return await self.client.GetKpis(reporting_pb2.GetKpisRequest(
            brand_id=brand_id, from_date="2026-03-01", to_date="2026-03-31"))


def fake_service(name: str, add: Callable[..., None], servicer: object, module: object, full: str) -> Service:
    return Service(name=name, servicers=[(add, servicer, module.DESCRIPTOR.services_by_name[full].full_name)])  # type: ignore[attr-defined]


@pytest.fixture
async def live(request: pytest.FixtureRequest, pg_dsn_factory: Callable[[str], str], nats_url: str
               ) -> AsyncIterator[Live]:
    bus = await EventBus.connect(nats_url, name="reporting-maintenance-test")
    for producer in ("members", "loyalty"):
        await bus.ensure_stream(producer)
    members_service = fake_service("members-fake", members_pb2_grpc.add_MembersServiceServicer_to_server,
                               FakeMembers(), members_pb2, "MembersService")
    async with serving(members_service, ServiceSettings(service_name="members-fake", env="test")) as members_addr:
        dsn = pg_dsn_factory(f"reporting_{request.node.name}")
        settings = ReportingSettings(pg_dsn=dsn, nats_url=nats_url, members_addr=members_addr, env="test",
                                     pg_pool_min=1)
        await migrate(settings)
        async with serving(await build(settings), settings) as addr:
            client, channel = stub(ReportingServiceStub, addr, service="reporting")
            members, members_channel = stub(MembersServiceStub, members_addr, service="members")
            pool = await asyncpg.create_pool(dsn, min_size=1, max_size=3)
            try:
                yield Live(client, bus, pool, dsn, members)
            finally:
                await pool.close()
                await channel.close()
                await members_channel.close()
    await bus.close()


