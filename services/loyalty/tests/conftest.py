"""Component-test stack: the loyalty service in-process on real PostgreSQL and NATS, called over real gRPC,
with a small fake MembersService (also over real gRPC) standing in for the directory."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import asyncpg
import pytest

from crm.loyalty.v1.loyalty_pb2_grpc import LoyaltyServiceStub
from crm.members.v1 import members_pb2, members_pb2_grpc
from crm_common import grpc_client
from crm_common.bus import EventBus
from crm_common.errors import NotFound
from crm_common.grpc_server import Service, serving
from crm_common.settings import ServiceSettings
from loyalty.bootstrap import Runtime, Settings, build, migrate


class FakeMembers(members_pb2_grpc.MembersServiceServicer):
    """Knows the stores and members each test registers; NOT_FOUND for everything else."""

    def __init__(self) -> None:
        self.stores: set[tuple[str, str]] = set()
        self.members: dict[tuple[str, str], str] = {}  # (brand, member id) -> phone
        self.birthdays: dict[tuple[str, str], str] = {}  # (brand, member id) -> YYYY-MM-DD

    async def GetStore(self, request: members_pb2.GetStoreRequest, context: object) -> members_pb2.Store:
        if (request.brand_id, request.store_id) not in self.stores:
            raise NotFound("no such store", reason="STORE_NOT_FOUND", field="store_id")
        return members_pb2.Store(id=request.store_id, brand_id=request.brand_id, open=True)

    async def GetMember(self, request: members_pb2.GetMemberRequest, context: object) -> members_pb2.Member:
        if (request.brand_id, request.member_id) not in self.members:
            raise NotFound("no such member", reason="MEMBER_NOT_FOUND", field="member_id")
        key = (request.brand_id, request.member_id)
        return members_pb2.Member(
            id=request.member_id,
            brand_id=request.brand_id,
            phone=self.members[key],
            birthday=self.birthdays.get(key, ""),
        )

    async def FindMemberByPhone(
        self, request: members_pb2.FindMemberByPhoneRequest, context: object
    ) -> members_pb2.Member:
        for (brand, member_id), phone in self.members.items():
            if brand == request.brand_id and phone == request.phone:
                return members_pb2.Member(id=member_id, brand_id=brand)
        raise NotFound("no such member", reason="MEMBER_NOT_FOUND", field="phone")


@dataclass
class Brand:
    """A brand of its own per test, so tests never see each other's rows or events."""

    id: str
    store_id: str
    member_id: str
    member_phone: str


@dataclass
class Stack:
    loyalty: LoyaltyServiceStub
    members: FakeMembers
    pg_dsn: str
    nats_url: str
    bus: EventBus
    runtime: Runtime

    def new_brand(self) -> Brand:
        brand = Brand(
            id=f"brand-{uuid.uuid4().hex[:10]}",
            store_id=f"store-{uuid.uuid4().hex[:6]}",
            member_id=f"member-{uuid.uuid4().hex[:10]}",
            member_phone=f"+86138{uuid.uuid4().int % 10**8:08d}",
        )
        self.members.stores.add((brand.id, brand.store_id))
        self.members.members[(brand.id, brand.member_id)] = brand.member_phone
        return brand

    def new_member(self, brand: Brand, birthday: str = "") -> str:
        """Another member of ``brand`` known to the directory; returns their id."""
        member_id = f"member-{uuid.uuid4().hex[:10]}"
        self.members.members[(brand.id, member_id)] = f"+86139{uuid.uuid4().int % 10**8:08d}"
        if birthday:
            self.members.birthdays[(brand.id, member_id)] = birthday
        return member_id

    async def run_due_jobs(self) -> None:
        """Run every job that is due now (tests move ``run_at`` into the past to travel in time)."""
        assert self.runtime.worker is not None
        while await self.runtime.worker.run_once():
            pass

    async def fetchval(self, sql: str, *args: object) -> object:
        conn = await asyncpg.connect(self.pg_dsn)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()


@pytest.fixture(scope="module")
async def stack(pg_dsn_factory: Callable[[str], str], nats_url: str) -> AsyncIterator[Stack]:
    """One loyalty service (and its fake directory) for the module; tests isolate by brand."""
    fake = FakeMembers()
    fake_service = Service(
        "members-fake",
        [(members_pb2_grpc.add_MembersServiceServicer_to_server, fake, "crm.members.v1.MembersService")],
    )
    async with serving(fake_service, ServiceSettings(service_name="members-fake", env="test")) as members_addr:
        settings = Settings(
            pg_dsn=pg_dsn_factory("loyalty_component"),
            nats_url=nats_url,
            members_addr=members_addr,
            grpc_port=0,
            env="test",
            shutdown_grace_seconds=1.0,
        )
        await migrate(settings)
        service = await build(settings)
        async with serving(service, settings) as addr:
            stub, channel = grpc_client.stub(LoyaltyServiceStub, addr, service="loyalty", timeout=15.0)
            bus = await EventBus.connect(nats_url, name="loyalty-tests")
            try:
                yield Stack(stub, fake, settings.pg_dsn, nats_url, bus, service.extra["runtime"])
            finally:
                await bus.close()
                await channel.close()


@pytest.fixture
def brand(stack: Stack) -> Brand:
    return stack.new_brand()
