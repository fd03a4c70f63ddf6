"""Component fixtures: the leads service in-process on real PostgreSQL and NATS, with a fake members service.

The fake speaks the real MembersService contract over real gRPC, so the leads service's client, deadlines
and error mapping are exercised; it only knows the stores and staff a test gives it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import asyncpg
import grpc
import pytest_asyncio

from crm.common.v1.types_pb2 import GeoPoint
from crm.leads.v1.leads_pb2_grpc import LeadsServiceStub
from crm.members.v1 import members_pb2
from crm.members.v1.members_pb2_grpc import MembersServiceServicer, add_MembersServiceServicer_to_server
from crm_common.errors import NotFound
from crm_common.grpc_client import stub
from crm_common.grpc_server import Service, serving
from crm_common.settings import ServiceSettings
from leads.bootstrap import LeadsSettings, build, migrate


class FakeMembers(MembersServiceServicer):
    """The part of the org directory the leads service reads: stores and staff, per brand."""

    def __init__(self) -> None:
        self.stores: dict[tuple[str, str], members_pb2.Store] = {}
        self.staff: list[members_pb2.Staff] = []

    async def GetStore(  # the proto fixes gRPC method names
        self, request: members_pb2.GetStoreRequest, context: grpc.aio.ServicerContext
    ) -> members_pb2.Store:
        store = self.stores.get((request.brand_id, request.store_id))
        if store is None:
            raise NotFound("store not found", reason="STORE_NOT_FOUND", field="store_id")
        return store

    async def ListStores(
        self, request: members_pb2.ListStoresRequest, context: grpc.aio.ServicerContext
    ) -> members_pb2.ListStoresResponse:
        stores = [s for (brand, _), s in self.stores.items() if brand == request.brand_id]
        return members_pb2.ListStoresResponse(stores=stores)

    async def ListStaff(
        self, request: members_pb2.ListStaffRequest, context: grpc.aio.ServicerContext
    ) -> members_pb2.ListStaffResponse:
        staff = [
            s
            for s in self.staff
            if s.brand_id == request.brand_id and (not request.store_id or request.store_id in s.store_ids)
        ]
        return members_pb2.ListStaffResponse(staff=staff)


@dataclass
class Brand:
    """A fresh brand in the fake directory; each test makes its own, so tests never share data."""

    fake: FakeMembers
    id: str = field(default_factory=lambda: f"brand-{uuid.uuid4().hex[:8]}")

    def store(
        self, code: str, *, city: str = "", at: tuple[float, float] | None = None, open: bool = True
    ) -> str:
        store_id = f"{self.id}-{code}"
        location = GeoPoint(lat=at[0], lng=at[1]) if at else None
        self.fake.stores[(self.id, store_id)] = members_pb2.Store(
            id=store_id, brand_id=self.id, code=code, name=code, city=city, location=location, open=open
        )
        return store_id

    def staff(self, name: str, role: str, store_id: str, *, active: bool = True) -> str:
        staff_id = f"{self.id}-{name}"
        self.fake.staff.append(
            members_pb2.Staff(
                id=staff_id,
                brand_id=self.id,
                username=staff_id,
                role=role,
                store_ids=[store_id],
                active=active,
            )
        )
        return staff_id


@dataclass
class LeadsUnderTest:
    """A running leads service: its client, its database, and the fake directory behind it."""

    client: LeadsServiceStub
    db: asyncpg.Pool
    fake: FakeMembers
    nats_url: str

    def brand(self) -> Brand:
        return Brand(self.fake)


@pytest_asyncio.fixture(scope="module")
async def leads(
    pg_dsn_factory: Callable[[str], str], nats_url: str
) -> AsyncIterator[LeadsUnderTest]:
    """The leads service built by its own composition root, serving on a free port."""
    fake = FakeMembers()
    members_service = Service(
        "members-fake", [(add_MembersServiceServicer_to_server, fake, "crm.members.v1.MembersService")]
    )
    async with serving(members_service, ServiceSettings(service_name="members-fake")) as members_addr:
        settings = LeadsSettings(
            pg_dsn=pg_dsn_factory("leads_component"),
            nats_url=nats_url,
            members_addr=members_addr,
            grpc_port=0,
            env="test",
        )
        await migrate(settings)
        async with serving(await build(settings), settings) as addr:
            client, channel = stub(LeadsServiceStub, addr, service="leads")
            db = await asyncpg.create_pool(settings.pg_dsn, min_size=1, max_size=2)
            try:
                yield LeadsUnderTest(client=client, db=db, fake=fake, nats_url=nats_url)
            finally:
                await db.close()
                await channel.close()
