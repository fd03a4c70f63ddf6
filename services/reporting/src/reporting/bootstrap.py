"""Composition root of the reporting service: settings, pool, bus, consumers, outbox relay, jobs, servicer."""

from __future__ import annotations

from importlib import resources

import asyncpg
from pydantic import field_validator

from crm.members.v1.members_pb2_grpc import MembersServiceStub
from crm.reporting.v1 import reporting_pb2, reporting_pb2_grpc
from crm_common import pg
from crm_common.bus import EventBus
from crm_common.consumer import EventConsumer, PgInbox, consumers_of
from crm_common.grpc_client import close_all, stub
from crm_common.grpc_server import Service
from crm_common.jobs import JobQueue, JobWorker
from crm_common.migrations import migrate_pg
from crm_common.outbox import OutboxRelay, PgOutbox
from crm_common.settings import PostgresSettings
from reporting.adapters.brands import BrandTimezones
from reporting.adapters.consumers import FactsProjector
from reporting.adapters.delivery import SmtpSettings
from reporting.adapters.grpc_api import ReportingServicer
from reporting.app import ANOMALY_SCAN, SCHEDULED_REPORT, Reports
from reporting.domain.webhooks import AllowList

MIGRATIONS = resources.files("reporting") / "migrations"


class ReportingSettings(PostgresSettings):
    """Environment of the reporting service (``CRM_*``)."""

    service_name: str = "reporting"
    smtp_host: str = ""
    """Outgoing mail for scheduled reports; empty disables email delivery (webhooks still work)."""
    smtp_port: int = 25
    smtp_from: str = "reports@crm.invalid"
    job_poll_seconds: float = 1.0
    webhook_allowlist: str = ""
    """Comma-separated hosts, addresses and networks report webhooks may reach although they are not public
    (``hooks.corp.example, 10.20.0.0/16``); everything else must resolve to public addresses only."""

    @field_validator("webhook_allowlist")
    @classmethod
    def _allowlist_parses(cls, value: str) -> str:
        AllowList.parse(value.split(","))  # a typo stops the service at start-up, naming the variable
        return value

    def webhook_allow(self) -> AllowList:
        """The parsed allow-list."""
        return AllowList.parse(self.webhook_allowlist.split(","))


async def migrate(settings: ReportingSettings) -> None:
    """Apply the platform tables and the fact tables."""
    await migrate_pg(settings.pg_dsn, MIGRATIONS)


def consumers_for(
    bus: EventBus, pool: asyncpg.Pool, projector: FactsProjector, **options: object
) -> list[EventConsumer]:
    """One durable consumer per stream the projector reads, feeding it through the inbox.

    Each fetched batch of events is applied in one transaction (one inbox statement, one commit): the fact
    builder's rate was bound by per-event round trips (bench/bench_reporting.py).
    """
    return consumers_of(bus, PgInbox(pool), projector.subscriptions(), **{"batch_transactions": True, **options})


async def build(settings: ReportingSettings) -> Service:
    """Wire the service; connections are made in ``start`` so health stays NOT_SERVING until they are up."""
    # Created unawaited: the servicer can hold it now, and ``await pool`` in start() connects it.
    pool = pg.create_pool(settings.pg_dsn, min_size=settings.pg_pool_min, max_size=settings.pg_pool_max)
    members, members_channel = stub(
        MembersServiceStub, settings.members_addr, service="members", timeout=settings.rpc_timeout_seconds
    )
    outbox = PgOutbox(pool, source="reporting")  # type: ignore[arg-type]
    jobs = JobQueue(pool)  # type: ignore[arg-type]
    smtp = SmtpSettings(settings.smtp_host, settings.smtp_port, settings.smtp_from) if settings.smtp_host else None
    reports = Reports(pool, outbox=outbox, jobs=jobs, smtp=smtp, webhook_allow=settings.webhook_allow())  # type: ignore[arg-type]
    projector = FactsProjector(BrandTimezones(members), on_new_brand=reports.schedule_scan)
    running: list[EventConsumer | OutboxRelay | JobWorker] = []
    buses: list[EventBus] = []

    async def start() -> None:
        await pool
        bus = await EventBus.connect(settings.nats_url, name=settings.service_name)
        buses.append(bus)
        await bus.ensure_stream("reporting")
        running.extend(consumers_for(bus, pool, projector))  # type: ignore[arg-type]
        running.append(OutboxRelay(outbox, bus))
        running.append(
            JobWorker(
                pool,
                {SCHEDULED_REPORT: reports.report_job, ANOMALY_SCAN: reports.scan_job},  # type: ignore[arg-type]
                poll_interval=settings.job_poll_seconds,
            )
        )
        for part in running:
            await part.start()

    async def stop() -> None:
        for part in running:
            await part.stop()
        for bus in buses:
            await bus.close()
        await close_all(members_channel)
        await pool.close()

    servicer = ReportingServicer(reports)
    full_name = reporting_pb2.DESCRIPTOR.services_by_name["ReportingService"].full_name
    return Service(
        name=settings.service_name,
        servicers=[(reporting_pb2_grpc.add_ReportingServiceServicer_to_server, servicer, full_name)],
        start=start,
        stop=stop,
    )
