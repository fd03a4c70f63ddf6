"""Composition root of the leads service: settings, pool, members client, outbox relay, bus, servicer."""

from __future__ import annotations

from importlib import resources

from crm.leads.v1 import leads_pb2, leads_pb2_grpc
from crm.members.v1.members_pb2_grpc import MembersServiceStub
from crm_common import pg
from crm_common.bus import EventBus
from crm_common.grpc_client import close_all, stub
from crm_common.grpc_server import Service
from crm_common.migrations import migrate_pg
from crm_common.outbox import OutboxRelay, PgOutbox
from crm_common.settings import PostgresSettings
from leads.adapters.directory import MembersDirectory
from leads.adapters.grpc_api import LeadsServicer
from leads.app.leads import LeadsApp

SERVICE = "leads"


class LeadsSettings(PostgresSettings):
    """Environment of the leads service (``CRM_PG_DSN``, ``CRM_NATS_URL``, ``CRM_MEMBERS_ADDR``, ...)."""

    service_name: str = SERVICE
    grpc_port: int = 50054


async def migrate(settings: LeadsSettings) -> None:
    """Apply the platform tables, then this service's migrations."""
    await migrate_pg(settings.pg_dsn, resources.files("leads") / "migrations")


async def build(settings: LeadsSettings) -> Service:
    """Wire the service. Nothing connects here: `start` does, so health is NOT_SERVING until then."""
    # An un-awaited pool is not connected yet; awaiting it in `start` opens the connections.
    pool = pg.create_pool(settings.pg_dsn, min_size=settings.pg_pool_min, max_size=settings.pg_pool_max)
    members, members_channel = stub(
        MembersServiceStub, settings.members_addr, service="members", timeout=settings.rpc_timeout_seconds
    )
    outbox = PgOutbox(pool, source=SERVICE)
    app = LeadsApp(pool, outbox, MembersDirectory(members))
    bus: EventBus | None = None
    relay: OutboxRelay | None = None

    async def start() -> None:
        nonlocal bus, relay
        await pool
        bus = await EventBus.connect(settings.nats_url, name=settings.service_name)
        await bus.ensure_stream(SERVICE)
        relay = OutboxRelay(outbox, bus)
        await relay.start()

    async def stop() -> None:
        # Reverse order of start: the relay still needs the bus and the pool for its last batch.
        if relay is not None:
            await relay.stop()
        if bus is not None:
            await bus.close()
        await pool.close()
        await close_all(members_channel)

    full_name = leads_pb2.DESCRIPTOR.services_by_name["LeadsService"].full_name
    return Service(
        name=SERVICE,
        servicers=[(leads_pb2_grpc.add_LeadsServiceServicer_to_server, LeadsServicer(app), full_name)],
        start=start,
        stop=stop,
    )
