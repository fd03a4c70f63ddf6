"""Fixtures of the campaigns component tests: the service on real PostgreSQL and NATS, and a publisher."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import asyncpg
import grpc
import pytest
from google.protobuf.message import Message

from campaigns.adapters import repository
from campaigns.adapters.channels import Delivery, Outcome, OutgoingMessage
from campaigns.adapters.contacts import Contact
from campaigns.app.campaigns import SEND_JOB, CampaignsApp
from campaigns.app.segments import SegmentsApp
from campaigns.bootstrap import CampaignsSettings, build, migrate
from campaigns.domain.campaign import Content, Draft, FrequencyCap
from crm.campaigns.v1 import campaigns_pb2
from crm.campaigns.v1.campaigns_pb2_grpc import CampaignsServiceStub
from crm_common.bus import EventBus
from crm_common.errors import RemoteError
from crm_common.events import build_envelope
from crm_common.grpc_client import stub
from crm_common.grpc_server import serving
from crm_common.jobs import JobWorker
from crm_common.outbox import PgOutbox

T = TypeVar("T")
WAIT_SECONDS = 10.0


async def eventually(probe: Callable[[], Awaitable[T]], done: Callable[[T], bool]) -> T:
    """Poll ``probe`` until ``done`` holds for its result (events are applied asynchronously)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            result = await probe()
            if done(result):
                return result
        except RemoteError as err:
            if err.code != grpc.StatusCode.NOT_FOUND or time.monotonic() > deadline:
                raise
            result = None  # type: ignore[assignment]
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {WAIT_SECONDS}s; last result: {result}")
        await asyncio.sleep(0.05)


@dataclass
class Harness:
    """A running campaigns service, a client of it, and a publisher on the bus."""

    client: CampaignsServiceStub
    bus: EventBus
    pg_dsn: str
    brand_id: str

    async def publish(self, msg: Message, source: str) -> None:
        await self.bus.publish(build_envelope(msg, source=source, brand_id=self.brand_id, subject=""))

    async def member(self, member_id: str) -> campaigns_pb2.AudienceMember:
        return await self.client.GetAudienceMember(
            campaigns_pb2.GetAudienceMemberRequest(brand_id=self.brand_id, member_id=member_id)
        )


@pytest.fixture
async def campaigns(
    request: pytest.FixtureRequest, pg_dsn_factory: Callable[[str], str], nats_url: str
) -> AsyncIterator[Harness]:
    pg_dsn = pg_dsn_factory(f"campaigns_{request.node.name}")
    settings = CampaignsSettings(pg_dsn=pg_dsn, nats_url=nats_url, env="test", pg_pool_min=1)
    await migrate(settings)
    bus = await EventBus.connect(nats_url, name="campaigns-test-publisher")
    for producer in ("members", "loyalty"):
        await bus.ensure_stream(producer)
    async with serving(await build(settings), settings) as addr:
        client, channel = stub(CampaignsServiceStub, addr, service="campaigns")
        try:
            # A fresh brand per test: the streams and durable consumers outlive a test, the brand does not.
            yield Harness(client, bus, pg_dsn, brand_id=f"b-{uuid.uuid4().hex[:12]}")
        finally:
            await channel.close()
    await bus.close()


# --- campaigns on real PostgreSQL with a recording channel (test_campaign_sending, test_journeys) ---------

BRAND = "brand-c"
NOON = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai; in the past, so the jobs it schedules are due


@dataclass
class RecordingChannel:
    """The sms channel: records what it is asked to send and answers what the test scripts."""

    name: str = "sms"
    sent: list[OutgoingMessage] = field(default_factory=list)
    script: dict[str, list[Outcome]] = field(default_factory=dict)  # member id → outcomes, in order

    delay: float = 0.0  # seconds a send takes (widens race windows)

    async def send(self, message: OutgoingMessage) -> Delivery:
        await asyncio.sleep(self.delay)
        self.sent.append(message)
        outcomes = self.script.get(message.recipient.member_id)
        outcome = outcomes.pop(0) if outcomes else Outcome.SENT
        return Delivery(outcome, provider_message_id=f"biz-{len(self.sent)}" if outcome is Outcome.SENT else "",
                        detail="" if outcome is Outcome.SENT else f"provider said {outcome.value}")

    async def close(self) -> None:
        return None


@dataclass
class FakeContacts:
    """Members as the directory knows them now (consents may differ from the audience store's)."""

    consents: dict[str, dict[str, bool]] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    purposes: list[str] = field(default_factory=list)
    unreachable: bool = False  # the directory answers UNAVAILABLE

    async def contact(self, brand_id: str, member_id: str, purpose: str) -> Contact | None:
        self.purposes.append(purpose)
        if self.unreachable:
            raise RemoteError(code=grpc.StatusCode.UNAVAILABLE, reason="UNAVAILABLE", message="refused",
                              service="members")
        if member_id in self.gone:
            return None
        return Contact(member_id, f"+86138{abs(hash(member_id)) % 10**8:08d}", None, None,
                       self.consents.get(member_id, {"sms": True}))


@dataclass
class Rig:
    pool: asyncpg.Pool
    app: CampaignsApp
    channel: RecordingChannel
    contacts: FakeContacts
    clock: list[datetime]

    async def member(self, member_id: str, store: str = "s1", sms: bool = True,
                     tags: tuple[str, ...] = ("vip",)) -> None:
        async with self.pool.acquire() as conn:
            await repository.upsert_profile(
                conn, BRAND, member_id,
                repository.Profile(store, None, "f", None, NOON - timedelta(days=30), {"sms": sms}),
                NOON - timedelta(days=30), tags=list(tags), attributes={},
            )

    async def segment(self, rule: object, scope: list[str] | None = None) -> str:
        return (await self.app.segments.create(BRAND, "vip", json.dumps(rule), scope, "staff-1")).id

    async def campaign(self, segment_id: str, scope: list[str] | None = None, **changes: object) -> str:
        draft = Draft(name="回店礼", segment_id=segment_id, channel="sms",
                      content=Content(template_id="SMS_1", params={"gift": "咖啡"}), send_at=None,
                      attribution_days=7, cost_per_message_fen=0)
        return (await self.app.create(BRAND, replace(draft, **changes), scope, "staff-1")).id  # type: ignore[arg-type]

    async def drain(self, workers: int = 1) -> None:
        """Run every due send job."""
        # With several workers each claims one job at a time, so they really do run side by side.
        size = 20 if workers == 1 else 1
        pool_workers = [JobWorker(self.pool, {SEND_JOB: self.app.send}, batch_size=size) for _ in range(workers)]

        async def run(worker: JobWorker) -> None:
            while await worker.run_once():
                pass

        await asyncio.gather(*(run(w) for w in pool_workers))

    async def statuses(self, campaign_id: str) -> dict[str, str]:
        rows = await self.pool.fetch("SELECT member_id, status FROM campaign_recipients WHERE campaign_id = $1",
                                     campaign_id)
        return {r["member_id"]: r["status"] for r in rows}


@pytest.fixture
async def rig(pg_dsn_factory: Callable[[str], str], nats_url: str,
              request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    dsn = pg_dsn_factory(f"campaigns_send_{request.node.name}"[:60])
    await migrate(CampaignsSettings(pg_dsn=dsn, nats_url=nats_url, env="test"))
    clock = [NOON]
    async with asyncpg.create_pool(dsn, min_size=1, max_size=6) as pool:
        channel, contacts = RecordingChannel(), FakeContacts()
        segments = SegmentsApp(pool, now=lambda: clock[0])
        app = CampaignsApp(pool, PgOutbox(pool, source="campaigns"), segments, {"sms": channel},
                           contacts, frequency_cap=FrequencyCap(2, 7), now=lambda: clock[0])  # type: ignore[arg-type]
        yield Rig(pool, app, channel, contacts, clock)


VIP = {"field": "tags", "op": "contains", "value": "vip"}
