"""Composition root of the reporting service: settings, pool, bus, members client, consumers, servicer."""

from __future__ import annotations

from importlib import resources

import asyncpg

from crm.members.v1.members_pb2_grpc import MembersServiceStub
from crm.reporting.v1 import reporting_pb2, reporting_pb2_grpc
from crm_common.bus import EventBus
from crm_common.consumer import EventConsumer, PgInbox, route
from crm_common.grpc_client import close_all, stub
from crm_common.grpc_server import Service
from crm_common.migrations import migrate_pg
from crm_common.settings import PostgresSettings
from reporting.adapters.brands import BrandTimezones
from reporting.adapters.consumers import FactsProjector
from reporting.adapters.grpc_api import ReportingServicer

MIGRATIONS = resources.files("reporting") / "migrations"


class ReportingSettings(PostgresSettings):
    """Environment of the reporting service (``CRM_*``)."""

    service_name: str = "reporting"


async def migrate(settings: ReportingSettings) -> None:
    """Apply the platform tables and the fact tables."""
    await migrate_pg(settings.pg_dsn, MIGRATIONS)


async def build(settings: ReportingSettings) -> Service:
    """Wire the service; connections are made in ``start`` so health stays NOT_SERVING until they are up."""
    # Created unawaited: the servicer can hold it now, and ``await pool`` in start() connects it.
    pool = asyncpg.create_pool(settings.pg_dsn, min_size=settings.pg_pool_min, max_size=settings.pg_pool_max)
    members, members_channel = stub(
        MembersServiceStub, settings.members_addr, service="members", timeout=settings.rpc_timeout_seconds
    )
    projector = FactsProjector(BrandTimezones(members))
    running: list[EventConsumer] = []
    buses: list[EventBus] = []

    async def start() -> None:
        await pool
        bus = await EventBus.connect(settings.nats_url, name=settings.service_name)
        buses.append(bus)
        inbox = PgInbox(pool)
        for durable, stream, handlers in projector.subscriptions():
            consumer = EventConsumer(
                bus,
                durable=durable,
                stream_service=stream,
                subjects=[t.DESCRIPTOR.full_name for t in handlers],
                handler=route(handlers),
                inbox=inbox,
            )
            await consumer.start()
            running.append(consumer)

    async def stop() -> None:
        for consumer in running:
            await consumer.stop()
        for bus in buses:
            await bus.close()
        await close_all(members_channel)
        await pool.close()

    servicer = ReportingServicer(pool)
    full_name = reporting_pb2.DESCRIPTOR.services_by_name["ReportingService"].full_name
    return Service(
        name=settings.service_name,
        servicers=[(reporting_pb2_grpc.add_ReportingServiceServicer_to_server, servicer, full_name)],
        start=start,
        stop=stop,
    )
