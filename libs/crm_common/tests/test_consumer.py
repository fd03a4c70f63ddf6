"""Idempotent consumers against real NATS JetStream, PostgreSQL and MongoDB-wire servers."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from nats.js.errors import NotFoundError
from pymongo import AsyncMongoClient

from crm.members.v1.events_pb2 import MemberRegistered
from crm_common.bus import EventBus
from crm_common.consumer import CONSUMER_DUPLICATES, Batched, EventConsumer, MongoInbox, PgInbox, route
from crm_common.events import Event, build_envelope, decode, headers_for
from crm_common.migrations import ensure_mongo_indexes, migrate_pg

SUBJECTS = ["crm.members.v1.MemberRegistered"]


async def _eventually(check: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def _brand() -> str:
    return f"brand-{uuid.uuid4().hex[:8]}"


def _durable() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


def _envelope(brand: str, member: str) -> Any:
    return build_envelope(
        MemberRegistered(brand_id=brand, member_id=member), source="members", brand_id=brand, subject=member
    )


async def _publish(bus: EventBus, envelope: Any, *, msg_id: str | None = None) -> None:
    """Publish directly (tests only), retrying while the client reconnects after a server restart."""
    headers = headers_for(envelope)
    if msg_id is not None:
        headers["Nats-Msg-Id"] = msg_id
    deadline = time.monotonic() + 15
    while True:
        try:
            await bus.js.publish(envelope.type, envelope.SerializeToString(), headers=headers, timeout=2)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


_created: list[tuple[str, str]] = []


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[EventBus]:
    bus = await EventBus.connect(nats_url, name="test-consumer")
    await bus.ensure_stream("members")
    yield bus
    # Durables outlive their test on the shared server; remove this test's ones.
    while _created:
        stream, durable = _created.pop()
        try:
            await bus.js.delete_consumer(stream, durable)
        except NotFoundError:
            pass
    await bus.close()


@pytest.fixture
async def pg_pool(pg_dsn_factory: Callable[[str], str], request: pytest.FixtureRequest) -> AsyncIterator[asyncpg.Pool]:
    dsn = pg_dsn_factory(f"consumer_{request.node.name}")
    await migrate_pg(dsn)
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=8)
    await pool.execute("CREATE TABLE points (member_id text PRIMARY KEY, points int NOT NULL)")
    yield pool
    await pool.close()


def _pg_credit(brand: str, calls: list[str], fail_first: int = 0, poison: str | None = None) -> Any:
    """A projection handler: +10 points per registration of this test's brand (others are ignored)."""

    async def handler(conn: asyncpg.Connection, event: Event) -> None:
        if event.brand_id != brand:
            return
        calls.append(event.subject)
        if event.subject == poison or calls.count(event.subject) <= fail_first:
            # The write happens before the failure, so a non-atomic inbox would leave it behind.
            await conn.execute(
                "INSERT INTO points VALUES ($1, 10) ON CONFLICT (member_id) DO UPDATE SET points = points.points + 10",
                event.subject,
            )
            raise RuntimeError("projection failed")
        await conn.execute(
            "INSERT INTO points VALUES ($1, 10) ON CONFLICT (member_id) DO UPDATE SET points = points.points + 10",
            event.subject,
        )

    return handler


def _consumer(bus: EventBus, handler: Any, inbox: Any, **kwargs: Any) -> EventConsumer:
    durable = _durable()
    _created.append(("MEMBERS", durable))
    return EventConsumer(
        bus,
        durable=durable,
        stream_service="members",
        subjects=SUBJECTS,
        handler=handler,
        inbox=inbox,
        backoff=[0.05],
        **kwargs,
    )


async def _points(pool: asyncpg.Pool) -> dict[str, int]:
    return {r["member_id"]: r["points"] for r in await pool.fetch("SELECT * FROM points")}


# -- PostgreSQL inbox ------------------------------------------------------------------------------------


async def test_pg_redelivered_event_has_one_effect(pg_pool: asyncpg.Pool, bus: EventBus) -> None:
    brand, calls = _brand(), []
    consumer = _consumer(bus, _pg_credit(brand, calls), PgInbox(pg_pool))
    duplicates_before = CONSUMER_DUPLICATES.labels(consumer.durable)._value.get()
    envelope = _envelope(brand, "m-1")
    # Same event twice in the stream (as if a producer bypassed dedupe): two deliveries, one effect.
    await _publish(bus, envelope, msg_id="copy-a-" + envelope.id)
    await _publish(bus, envelope, msg_id="copy-b-" + envelope.id)
    await consumer.start()
    try:
        await _eventually(lambda: _drained(bus, consumer.durable))
    finally:
        await consumer.stop()
    assert await _points(pg_pool) == {"m-1": 10}
    assert calls == ["m-1"]
    assert CONSUMER_DUPLICATES.labels(consumer.durable)._value.get() >= duplicates_before + 1


async def _drained(bus: EventBus, durable: str) -> bool:
    """Every message of the stream was delivered to the durable and acknowledged."""
    try:
        info = await bus.js.consumer_info("MEMBERS", durable)
    except NotFoundError:
        return False  # not created yet
    return info.num_pending == 0 and info.num_ack_pending == 0 and info.delivered.stream_seq > 0


async def test_pg_handler_failing_twice_then_succeeding_applies_once(pg_pool: asyncpg.Pool, bus: EventBus) -> None:
    brand, calls = _brand(), []
    consumer = _consumer(bus, _pg_credit(brand, calls, fail_first=2), PgInbox(pg_pool))
    envelope = _envelope(brand, "m-1")
    await _publish(bus, envelope)
    await consumer.start()
    try:

        async def credited() -> bool:
            return await _points(pg_pool) == {"m-1": 10}

        await _eventually(credited)
        await asyncio.sleep(0.3)  # no late redelivery adds more
    finally:
        await consumer.stop()
    assert calls == ["m-1", "m-1", "m-1"]
    assert await _points(pg_pool) == {"m-1": 10}
    assert (
        await pg_pool.fetchval(
            "SELECT count(*) FROM processed_events WHERE consumer = $1 AND event_id = $2",
            consumer.durable,
            envelope.id,
        )
        == 1
    )


async def test_pg_poison_message_ends_in_dead_letters_after_max_deliver(pg_pool: asyncpg.Pool, bus: EventBus) -> None:
    brand, calls = _brand(), []
    consumer = _consumer(bus, _pg_credit(brand, calls, poison="m-bad"), PgInbox(pg_pool), max_deliver=3)
    bad = _envelope(brand, "m-bad")
    await _publish(bus, bad)
    await _publish(bus, _envelope(brand, "m-good"))
    await consumer.start()
    try:

        async def dead_lettered() -> bool:
            return await pg_pool.fetchval("SELECT count(*) FROM dead_letters") == 1

        await _eventually(dead_lettered)
        await asyncio.sleep(0.3)
    finally:
        await consumer.stop()
    row = await pg_pool.fetchrow("SELECT * FROM dead_letters")
    assert (row["consumer"], row["event_id"], row["event_type"]) == (
        consumer.durable,
        bad.id,
        "crm.members.v1.MemberRegistered",
    )
    assert row["deliveries"] == 3 and "projection failed" in row["error"]
    assert calls.count("m-bad") == 3
    assert await _points(pg_pool) == {"m-good": 10}  # the poison message's writes never committed


async def test_undecodable_message_is_dead_lettered_at_once(pg_pool: asyncpg.Pool, bus: EventBus) -> None:
    await bus.ensure_stream("leads")
    durable = _durable()
    _created.append(("LEADS", durable))
    consumer = EventConsumer(
        bus,
        durable=durable,
        stream_service="leads",
        subjects=["crm.leads.v1.NotAnEvent"],
        handler=_pg_credit("x", []),
        inbox=PgInbox(pg_pool),
    )
    await bus.js.publish("crm.leads.v1.NotAnEvent", b"\xff\xfe garbage", headers={"ce-id": "garbage-1"})
    await consumer.start()
    try:

        async def dead_lettered() -> bool:
            return await pg_pool.fetchval("SELECT count(*) FROM dead_letters") >= 1

        await _eventually(dead_lettered)
    finally:
        await consumer.stop()
    row = await pg_pool.fetchrow("SELECT * FROM dead_letters ORDER BY created_at DESC LIMIT 1")
    assert row["event_id"] == "garbage-1" and row["deliveries"] == 1


async def test_consumer_keeps_working_across_nats_restart(
    pg_pool: asyncpg.Pool, bus: EventBus, nats_restart: Callable[[], None]
) -> None:
    brand, calls = _brand(), []
    consumer = _consumer(bus, _pg_credit(brand, calls), PgInbox(pg_pool))
    for i in range(5):
        await _publish(bus, _envelope(brand, f"before-{i}"))
    await consumer.start()
    try:

        async def count_is(n: int) -> bool:
            return len(await _points(pg_pool)) == n

        await _eventually(lambda: count_is(5))
        nats_restart()  # sync on purpose: the testing plugin spawns servers from this thread
        for i in range(5):
            await _publish(bus, _envelope(brand, f"after-{i}"))
        await _eventually(lambda: count_is(10), within=30)
        await asyncio.sleep(0.3)
    finally:
        await consumer.stop()
    points = await _points(pg_pool)
    assert set(points.values()) == {10} and len(points) == 10
    assert sorted(calls) == sorted(points)


# -- MongoDB inbox ---------------------------------------------------------------------------------------


@pytest.fixture
async def mongo(mongo_uri_factory: Callable[[str], str], request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    client: AsyncMongoClient = AsyncMongoClient(mongo_uri_factory(f"consumer_{request.node.name}"))
    db = client.get_default_database()
    await ensure_mongo_indexes(db, {})
    yield client, db
    await client.close()


def _mongo_credit(db: Any, brand: str, calls: list[str], fail_first: int = 0) -> Any:
    async def handler(session: Any, event: Event) -> None:
        if event.brand_id != brand:
            return
        calls.append(event.subject)
        await db["points"].update_one({"_id": event.subject}, {"$inc": {"points": 10}}, upsert=True, session=session)
        if calls.count(event.subject) <= fail_first:
            raise RuntimeError("projection failed")

    return handler


async def test_mongo_redelivered_event_has_one_effect(mongo: Any, bus: EventBus) -> None:
    client, db = mongo
    brand, calls = _brand(), []
    consumer = _consumer(bus, _mongo_credit(db, brand, calls), MongoInbox(client, db))
    duplicates_before = CONSUMER_DUPLICATES.labels(consumer.durable)._value.get()
    envelope = _envelope(brand, "m-1")
    await _publish(bus, envelope, msg_id="copy-a-" + envelope.id)
    await _publish(bus, envelope, msg_id="copy-b-" + envelope.id)
    await consumer.start()
    try:
        await _eventually(lambda: _drained(bus, consumer.durable))
    finally:
        await consumer.stop()
    assert [d async for d in db["points"].find({})] == [{"_id": "m-1", "points": 10}]
    assert calls == ["m-1"]
    assert CONSUMER_DUPLICATES.labels(consumer.durable)._value.get() >= duplicates_before + 1


async def test_mongo_handler_failing_twice_then_succeeding_applies_once(mongo: Any, bus: EventBus) -> None:
    client, db = mongo
    brand, calls = _brand(), []
    consumer = _consumer(bus, _mongo_credit(db, brand, calls, fail_first=2), MongoInbox(client, db))
    await _publish(bus, _envelope(brand, "m-1"))
    await consumer.start()
    try:

        async def credited() -> bool:
            return await db["points"].count_documents({}) == 1

        await _eventually(credited)
        await asyncio.sleep(0.3)
    finally:
        await consumer.stop()
    assert calls == ["m-1", "m-1", "m-1"]
    assert [d async for d in db["points"].find({})] == [{"_id": "m-1", "points": 10}]


async def test_mongo_poison_message_ends_in_dead_letters(mongo: Any, bus: EventBus) -> None:
    client, db = mongo
    brand, calls = _brand(), []
    consumer = _consumer(bus, _mongo_credit(db, brand, calls, fail_first=99), MongoInbox(client, db), max_deliver=2)
    bad = _envelope(brand, "m-bad")
    await _publish(bus, bad)
    await consumer.start()
    try:

        async def dead_lettered() -> bool:
            return await db["dead_letters"].count_documents({}) == 1

        await _eventually(dead_lettered)
    finally:
        await consumer.stop()
    doc = await db["dead_letters"].find_one({})
    assert doc["event_id"] == bad.id and doc["deliveries"] == 2
    assert await db["points"].count_documents({}) == 0


# -- PostgreSQL inbox, one transaction per fetched batch ---------------------------------------------------


def _batch_consumer(bus: EventBus, handler: Any, inbox: Any, **kwargs: Any) -> EventConsumer:
    return _consumer(bus, handler, inbox, batch_transactions=True, batch=50, **kwargs)


async def test_pg_batch_applies_a_fetched_batch_in_one_transaction_and_skips_seen_events(
    pg_pool: asyncpg.Pool, bus: EventBus
) -> None:
    brand, calls, transactions = _brand(), [], set()
    credit = _pg_credit(brand, calls)

    async def handler(conn: asyncpg.Connection, event: Event) -> None:
        if event.brand_id == brand:
            transactions.add(await conn.fetchval("SELECT txid_current()"))
        await credit(conn, event)

    consumer = _batch_consumer(bus, handler, PgInbox(pg_pool))
    envelopes = [_envelope(brand, f"m-{i}") for i in range(20)]
    # Two were applied before (a redelivery after a commit whose acks were lost), one is in the stream twice.
    await pg_pool.executemany(
        "INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2)",
        [(consumer.durable, e.id) for e in envelopes[:2]],
    )
    for e in envelopes:
        await _publish(bus, e)
    await _publish(bus, envelopes[5], msg_id="copy-" + envelopes[5].id)
    await consumer.start()
    try:
        await _eventually(lambda: _drained(bus, consumer.durable))
    finally:
        await consumer.stop()
    assert await _points(pg_pool) == {f"m-{i}": 10 for i in range(2, 20)}
    assert sorted(calls) == sorted(f"m-{i}" for i in range(2, 20))
    assert len(transactions) < len(calls)  # batched: fewer transactions than events


async def test_pg_poison_event_in_a_batch_is_dead_lettered_alone(pg_pool: asyncpg.Pool, bus: EventBus) -> None:
    brand, calls = _brand(), []
    consumer = _batch_consumer(bus, _pg_credit(brand, calls, poison="m-bad"), PgInbox(pg_pool), max_deliver=3)
    bad, good = _envelope(brand, "m-bad"), [_envelope(brand, f"m-{i}") for i in range(10)]
    for e in [good[0], bad, *good[1:]]:
        await _publish(bus, e)
    await consumer.start()
    try:

        async def dead_lettered() -> bool:
            return await pg_pool.fetchval("SELECT count(*) FROM dead_letters") == 1

        await _eventually(dead_lettered)
        await _eventually(lambda: _drained(bus, consumer.durable))
    finally:
        await consumer.stop()
    row = await pg_pool.fetchrow("SELECT * FROM dead_letters")
    assert (row["event_id"], row["deliveries"]) == (bad.id, 3) and "projection failed" in row["error"]
    # Every good event once, although the first attempt of their batch was rolled back.
    assert await _points(pg_pool) == {f"m-{i}": 10 for i in range(10)}
    recorded = await pg_pool.fetch("SELECT event_id FROM processed_events WHERE consumer = $1", consumer.durable)
    assert {e.id for e in good} <= {r["event_id"] for r in recorded} and bad.id not in {r["event_id"] for r in recorded}


class _CrashingInbox(PgInbox):
    """Dies (as a killed process would) once: ``before`` the batch commits, or after it, before any ack."""

    def __init__(self, pool: asyncpg.Pool, *, before: bool) -> None:
        super().__init__(pool)
        self.before = before
        self.crashed = False

    async def process_batch(self, consumer: str, events: Any, handler: Any) -> list[bool]:
        if self.crashed:
            return await super().process_batch(consumer, events, handler)
        self.crashed = True

        async def crash_midway(conn: asyncpg.Connection, event: Event) -> None:
            await handler(conn, event)
            if self.before and event.id == events[len(events) // 2].id:
                raise asyncio.CancelledError  # the process dies mid-batch, with effects written but not committed

        await super().process_batch(consumer, events, crash_midway)
        raise asyncio.CancelledError  # committed; the acks never leave


@pytest.mark.parametrize("before_commit", [True, False], ids=["before-commit", "after-commit"])
async def test_pg_crash_mid_batch_loses_nothing_and_doubles_nothing(
    pg_pool: asyncpg.Pool, bus: EventBus, before_commit: bool
) -> None:
    brand, calls = _brand(), []
    inbox = _CrashingInbox(pg_pool, before=before_commit)
    consumer = _batch_consumer(bus, _pg_credit(brand, calls), inbox, ack_wait=1.0)
    for i in range(10):
        await _publish(bus, _envelope(brand, f"m-{i}"))
    await consumer.start()
    assert consumer._task is not None
    with contextlib.suppress(asyncio.CancelledError):
        await consumer._task  # the crash ends the fetch loop, as it would end the process
    assert inbox.crashed
    # A restarted replica (same durable) gets the unacknowledged messages again after ack_wait.
    restarted = EventConsumer(
        bus,
        durable=consumer.durable,
        stream_service="members",
        subjects=SUBJECTS,
        handler=_pg_credit(brand, calls),
        inbox=PgInbox(pg_pool),
        backoff=[0.05],
        ack_wait=1.0,
        batch_transactions=True,
    )
    await restarted.start()
    try:

        async def all_credited() -> bool:
            return len(await _points(pg_pool)) == 10

        await _eventually(all_credited, within=30)
        await _eventually(lambda: _drained(bus, consumer.durable), within=30)
    finally:
        await restarted.stop()
    assert await _points(pg_pool) == {f"m-{i}": 10 for i in range(10)}


async def test_route_hands_runs_of_a_batched_type_over_together_and_keeps_the_order() -> None:
    from crm.members.v1.events_pb2 import MemberUpdated

    seen: list[tuple[str, ...]] = []

    async def one(tx: Any, event: Event) -> None:
        seen.append((event.subject,))

    async def run(tx: Any, events: Any) -> None:
        seen.append(tuple(e.subject for e in events))

    handler: Any = route({MemberRegistered: Batched(run), MemberUpdated: one})
    brand = _brand()

    def event(kind: type, member: str) -> Event:
        envelope = build_envelope(
            kind(brand_id=brand, member_id=member), source="members", brand_id=brand, subject=member
        )
        return decode(envelope.SerializeToString(), headers_for(envelope))

    events = [
        event(MemberRegistered, "a"),
        event(MemberRegistered, "b"),
        event(MemberUpdated, "c"),
        event(MemberUpdated, "d"),
        event(MemberRegistered, "e"),
    ]
    await handler.many(None, events)
    assert seen == [("a", "b"), ("c",), ("d",), ("e",)]
    seen.clear()
    await handler(None, events[0])  # one at a time outside a batch
    assert seen == [("a",)]
