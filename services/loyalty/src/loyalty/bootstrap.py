"""Composition root of the loyalty service: settings, pool, repository, outbox, consumer, servicer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from crm.loyalty.v1 import loyalty_pb2, loyalty_pb2_grpc
from crm.members.v1.members_pb2_grpc import MembersServiceStub
from crm_common import grpc_client, pg
from crm_common.bus import EventBus
from crm_common.consumer import EventConsumer, PgInbox
from crm_common.grpc_server import Service
from crm_common.jobs import JobQueue, JobWorker
from crm_common.migrations import migrate_pg
from crm_common.outbox import OutboxRelay, PgOutbox
from crm_common.settings import PostgresSettings
from loyalty.adapters.consumers import SUBJECTS, members_handler
from loyalty.adapters.grpc_api import Apps, LoyaltyServicer
from loyalty.adapters.members_client import MembersDirectory
from loyalty.adapters.repository import LoyaltyRepository
from loyalty.app.birthday import BIRTHDAY_JOB, BirthdayGifts
from loyalty.app.coupons import COUPON_EXPIRE_JOB, COUPON_EXPIRING_JOB, CouponsApp
from loyalty.app.loyalty import LoyaltyApp
from loyalty.app.points import EXPIRE_JOB, TIER_REVIEW_JOB
from loyalty.app.wallet import WalletApp

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
        self.apps: Apps | None = None
        self.worker: JobWorker | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        """Connect PostgreSQL and NATS, then start the outbox relay, the members-events consumer and the
        job worker (points expiry, tier reviews, coupon reminders and expiry)."""
        s = self.settings
        self.pool = await pg.create_pool(s.pg_dsn, min_size=s.pg_pool_min, max_size=s.pg_pool_max)
        self.bus = await EventBus.connect(s.nats_url, name=s.service_name)
        await self.bus.ensure_stream(s.service_name)

        repo = LoyaltyRepository(self.pool)
        outbox = PgOutbox(self.pool, source=s.service_name)
        self.relay = OutboxRelay(outbox, self.bus)
        jobs = JobQueue(self.pool)
        self.app = LoyaltyApp(self.pool, repo, outbox, MembersDirectory(self.members_stub), jobs)
        coupons = CouponsApp(self.pool, outbox, jobs, self.app)
        birthday = BirthdayGifts(repo, jobs, coupons)
        self.app.program_hooks.append(birthday.ensure_scheduled)
        self.apps = Apps(self.app, coupons, WalletApp(self.pool, outbox, self.app))
        self.consumer = EventConsumer(
            self.bus,
            durable="loyalty-members",
            stream_service="members",
            subjects=SUBJECTS,
            handler=members_handler(self.app),
            inbox=PgInbox(self.pool),
        )
        self.worker = JobWorker(
            self.pool,
            {
                EXPIRE_JOB: self.app.expire_points,
                TIER_REVIEW_JOB: self.app.review_tier,
                COUPON_EXPIRING_JOB: coupons.remind_expiring,
                COUPON_EXPIRE_JOB: coupons.expire,
                BIRTHDAY_JOB: birthday.run,
            },
        )
        await self.relay.start()
        await self.consumer.start()
        await self.worker.start()
        self._ready.set()

    async def stop(self) -> None:
        """Stop taking events, let the relay finish its batch, then close connections (reverse of start)."""
        if self.worker is not None:
            await self.worker.stop()
        if self.consumer is not None:
            await self.consumer.stop()
        if self.relay is not None:
            await self.relay.stop()
        if self.bus is not None:
            await self.bus.close()
        await self.members_channel.close()
        if self.pool is not None:
            await self.pool.close()

    async def ready_apps(self) -> Apps:
        """The use cases, once started. The port is bound before the start hook has finished, so an
        early call waits here (bounded by its own deadline) instead of meeting a half-built service."""
        await self._ready.wait()
        assert self.apps is not None
        return self.apps


async def build(settings: Settings) -> Service:
    """The loyalty ``Service``: its servicer plus the runtime's start and stop hooks."""
    runtime = Runtime(settings)
    servicer = LoyaltyServicer(runtime.ready_apps)
    return Service(
        name=settings.service_name,
        servicers=[(loyalty_pb2_grpc.add_LoyaltyServiceServicer_to_server, servicer, SERVICE_NAME)],
        start=runtime.start,
        stop=runtime.stop,
        extra={"runtime": runtime},
    )
