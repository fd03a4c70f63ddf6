"""Composition root of the members service: settings, MongoDB, outbox relay, NATS and the servicer."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import Field
from pymongo import AsyncMongoClient

from crm_common.bus import EventBus
from crm_common.consumer import EventConsumer, MongoInbox
from crm_common.grpc_server import Service
from crm_common.jobs import MONGO_JOB_INDEXES, MongoJobQueue, MongoJobWorker
from crm_common.migrations import ensure_mongo_indexes
from crm_common.outbox import MongoOutbox, OutboxRelay
from crm_common.settings import DEV_SECRET_MARKER, MongoSettings, require_real_secret
from members.adapters.auto_tags import AutoTags
from members.adapters.consumers import DURABLE, SCORES_DURABLE, SUBJECTS, order_handler, score_handler
from members.adapters.grpc_api import MembersServicer, registration
from members.adapters.imports import ImportRunner
from members.adapters.repository import INDEXES, Repository
from members.domain.pii import PiiCipher

log = logging.getLogger(__name__)

SERVICE = "members"
BOOTSTRAP_ADMIN = "admin"


class Settings(MongoSettings):
    """Environment of the members service (``CRM_`` prefix)."""

    service_name: str = SERVICE
    admin_password: str = Field(default="admin", description="Password of the bootstrap group admin `admin`")
    pii_key: str = Field(
        default=f"{DEV_SECRET_MARKER}-members-pii-key",
        description="Secret the phone encryption and lookup-hash keys are derived from",
    )


def _client(settings: Settings) -> AsyncMongoClient[dict[str, Any]]:
    # tz_aware: stored times come back as aware UTC datetimes, as the rest of the code expects.
    return AsyncMongoClient(settings.mongo_uri, tz_aware=True, serverSelectionTimeoutMS=10_000)


async def build(settings: Settings) -> Service:
    """Wire the service; connections are opened by the start hook so health stays NOT_SERVING until then."""
    # A default secret in production would make every phone hash guessable and the admin open.
    require_real_secret("CRM_PII_KEY", settings.pii_key, settings.env)
    require_real_secret("CRM_ADMIN_PASSWORD", settings.admin_password, settings.env)

    client = _client(settings)
    db = client.get_default_database()
    repo = Repository(client, db)
    outbox = MongoOutbox(db, source=SERVICE)
    servicer = MembersServicer(repo, outbox, PiiCipher(settings.pii_key))
    imports = ImportRunner(servicer, repo, outbox)
    servicer.imports = imports
    auto_tags = AutoTags(servicer, repo, MongoJobQueue(db))
    servicer.auto_tags = auto_tags
    # Due-ness is asked at the auto-tag clock, so a test that moves it moves both.
    jobs = MongoJobWorker(client, db, auto_tags.handlers(), clock=lambda: auto_tags.clock())
    runtime: dict[str, Any] = {
        "repo": repo,
        "outbox": outbox,
        "servicer": servicer,
        "imports": imports,
        "auto_tags": auto_tags,
        "jobs": jobs,
    }

    async def start() -> None:
        await client.admin.command("ping")
        await ensure_mongo_indexes(db, {**INDEXES, **MONGO_JOB_INDEXES})
        bus = await EventBus.connect(settings.nats_url, name=SERVICE)
        runtime["bus"] = bus
        await bus.ensure_stream(SERVICE)
        if await servicer.ensure_group_admin(BOOTSTRAP_ADMIN, settings.admin_password):
            log.info("created the bootstrap group admin")
        relay = OutboxRelay(outbox, bus)
        runtime["relay"] = relay
        await relay.start()
        orders = EventConsumer(
            bus,
            durable=DURABLE,
            stream_service="loyalty",
            subjects=SUBJECTS,
            handler=order_handler(servicer),
            inbox=MongoInbox(client, db),
        )
        runtime["orders"] = orders
        await orders.start()
        scores = EventConsumer(
            bus,
            durable=SCORES_DURABLE,
            stream_service="reporting",
            subjects=["crm.reporting.v1.ChurnRiskScored"],
            handler=score_handler(servicer),
            inbox=MongoInbox(client, db),
        )
        runtime["scores"] = scores
        await scores.start()
        await imports.resume()
        await auto_tags.ensure_daily()
        await jobs.start()

    async def stop() -> None:
        await jobs.stop()
        await imports.stop()
        await servicer.audit.drain()
        for consumer in ("orders", "scores"):
            if consumer in runtime:
                await runtime[consumer].stop()
        if "relay" in runtime:
            await runtime["relay"].stop()
        if "bus" in runtime:
            await runtime["bus"].close()
        await client.close()

    return Service(name=SERVICE, servicers=[registration(servicer)], start=start, stop=stop, extra=runtime)


async def migrate(settings: Settings) -> None:
    """Create the platform's and the service's MongoDB indexes (idempotent)."""
    client = _client(settings)
    try:
        await ensure_mongo_indexes(client.get_default_database(), {**INDEXES, **MONGO_JOB_INDEXES})
    finally:
        await client.close()
