"""Composition root of the loyalty service: settings, pool, repository, outbox, consumer, servicer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from crm.loyalty.v1 import loyalty_pb2, loyalty_pb2_grpc
from crm.members.v1.members_pb2_grpc import MembersServiceStub
from crm_common import grpc_client
from crm_common.bus import EventBus
from crm_common.consumer import EventConsumer, PgInbox
from crm_common.grpc_server import Service
from crm_common.migrations import migrate_pg
from crm_common.outbox import OutboxRelay, PgOutbox
from crm_common.settings import PostgresSettings
from loyalty.adapters.consumers import MEMBER_REGISTERED, member_registered_handler
from loyalty.adapters.grpc_api import LoyaltyServicer
from loyalty.adapters.members_client import MembersDirectory
from loyalty.adapters.repository import LoyaltyRepository
from loyalty.app.loyalty import LoyaltyApp

MIGRATIONS = Path(__file__).parent / "migrations"
SERVICE_NAME = loyalty_pb2.DESCRIPTOR.services_by_name["LoyaltyService"].full_name


class Settings(PostgresSettings):
    """Environment of the loyalty service (``CRM_*``)."""

    service_name: str = "loyalty"
    grpc_port: int = 50052


async def migrate(settings: Settings) -> None:
    """Apply the platform tables and then loyalty's own migrations."""
    await migrate_pg(settings.pg_dsn, MIGRATIONS)


class Runtime:
    """The connected parts of a running loyalty service, made in ``start`` and closed in ``stop``.

    Connections open in the start hook rather than in ``build`` so that health stays NOT_SERVING until
    PostgreSQL and NATS are really there.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.members_stub, self.members_channel = grpc_client.stub(
            MembersServiceStub, settings.members_addr, service="members", timeout=settings.rpc_timeout_seconds
        )
        self.pool: asyncpg.Pool | None = None
        self.bus: EventBus | None = None
        self.relay: OutboxRelay | None = None
        self.consumer: EventConsumer | None = None
        self.app: LoyaltyApp | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        """Connect PostgreSQL and NATS, then start the outbox relay and the MemberRegistered consumer."""
        s = self.settings
        self.pool = await asyncpg.create_pool(s.pg_dsn, min_size=s.pg_pool_min, max_size=s.pg_pool_max)
        self.bus = await EventBus.connect(s.nats_url, name=s.service_name)
        await self.bus.ensure_stream(s.service_name)

        repo = LoyaltyRepository(self.pool)
        outbox = PgOutbox(self.pool, source=s.service_name)
        self.relay = OutboxRelay(outbox, self.bus)
        self.consumer = EventConsumer(
            self.bus,
            durable="loyalty-members",
            stream_service="members",
            subjects=[MEMBER_REGISTERED],
            handler=member_registered_handler(repo),
            inbox=PgInbox(self.pool),
        )
        self.app = LoyaltyApp(self.pool, repo, outbox, MembersDirectory(self.members_stub))
        await self.relay.start()
        await self.consumer.start()
        self._ready.set()

    async def stop(self) -> None:
        """Stop taking events, let the relay finish its batch, then close connections (reverse of start)."""
        if self.consumer is not None:
            await self.consumer.stop()
        if self.relay is not None:
            await self.relay.stop()
        if self.bus is not None:
            await self.bus.close()
        await self.members_channel.close()
        if self.pool is not None:
            await self.pool.close()

    async def ready_app(self) -> LoyaltyApp:
        """The use cases, once started. The port is bound before the start hook has finished, so an
        early call waits here (bounded by its own deadline) instead of meeting a half-built service."""
        await self._ready.wait()
        assert self.app is not None
        return self.app


async def build(settings: Settings) -> Service:
    """The loyalty ``Service``: its servicer plus the runtime's start and stop hooks."""
    runtime = Runtime(settings)
    servicer = LoyaltyServicer(runtime.ready_app)
    return Service(
        name=settings.service_name,
        servicers=[(loyalty_pb2_grpc.add_LoyaltyServiceServicer_to_server, servicer, SERVICE_NAME)],
        start=runtime.start,
        stop=runtime.stop,
        extra={"runtime": runtime},
    )
