"""Fixtures of the campaigns component tests: the service on real PostgreSQL and NATS, and a publisher."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import grpc
import pytest
from google.protobuf.message import Message

from campaigns.bootstrap import CampaignsSettings, build, migrate
from crm.campaigns.v1 import campaigns_pb2
from crm.campaigns.v1.campaigns_pb2_grpc import CampaignsServiceStub
from crm_common.bus import EventBus
from crm_common.errors import RemoteError
from crm_common.events import build_envelope
from crm_common.grpc_client import stub
from crm_common.grpc_server import serving

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
