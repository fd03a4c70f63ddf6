"""Transactional outbox + relay against real PostgreSQL, MongoDB-wire and NATS JetStream servers."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest
from pymongo import AsyncMongoClient

from crm.common.v1.events_pb2 import EventEnvelope
from crm.members.v1.events_pb2 import MemberRegistered
from crm_common.bus import EventBus
from crm_common.events import build_envelope, decode, stream_for
from crm_common.migrations import ensure_mongo_indexes, migrate_pg
from crm_common.outbox import (
    OUTBOX_BACKLOG,
    OUTBOX_PUBLISH_ERRORS,
    OUTBOX_PUBLISHED,
    MongoOutbox,
    OutboxRelay,
    PgOutbox,
)
from crm_devstack.infra import Infra

SERVICE = "members"


async def _last_seq(bus: EventBus) -> int:
    return (await bus.js.stream_info(stream_for(SERVICE))).state.last_seq


async def _messages_for_brand(bus: EventBus, after_seq: int, brand_id: str) -> list[Any]:
    """Every stream message after `after_seq` that belongs to this test (its own brand id)."""
    last = await _last_seq(bus)
    found = []
    for seq in range(after_seq + 1, last + 1):
        msg = await bus.js.get_msg(stream_for(SERVICE), seq)
        if (msg.headers or {}).get("crm-brand-id") == brand_id:
            found.append(msg)
    return found


async def _eventually(check: Callable[[], Any], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[EventBus]:
    bus = await EventBus.connect(nats_url, name="test-outbox")
    await bus.ensure_stream(SERVICE)
    yield bus
    await bus.close()


@pytest.fixture
async def pg_pool(pg_dsn_factory: Callable[[str], str], request: pytest.FixtureRequest) -> AsyncIterator[asyncpg.Pool]:
    dsn = pg_dsn_factory(f"outbox_{request.node.name}")
    await migrate_pg(dsn)
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=8)
    yield pool
    await pool.close()


@pytest.fixture
async def mongo(mongo_uri_factory: Callable[[str], str], request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    client: AsyncMongoClient = AsyncMongoClient(mongo_uri_factory(f"outbox_{request.node.name}"))
    db = client.get_default_database()
    await ensure_mongo_indexes(db, {})
    yield client, db
    await client.close()


def _published_total() -> float:
    return OUTBOX_PUBLISHED.labels(SERVICE)._value.get()


def _brand() -> str:
    return f"brand-{uuid.uuid4().hex[:8]}"


async def _pg_register(pool: asyncpg.Pool, outbox: PgOutbox, brand: str, member: str, *, fail: bool = False) -> str:
    """A business transaction: the member row and its event commit (or roll back) together."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("CREATE TABLE IF NOT EXISTS members (id text PRIMARY KEY, brand_id text)")
        await conn.execute("INSERT INTO members VALUES ($1, $2)", member, brand)
        event_id = await outbox.add(
            conn, MemberRegistered(brand_id=brand, member_id=member), brand_id=brand, subject=member
        )
        if fail:
            raise RuntimeError("business rule failed after the event was added")
    return event_id


async def _mongo_register(
    client: Any, db: Any, outbox: MongoOutbox, brand: str, member: str, *, fail: bool = False
) -> str:
    async with client.start_session() as session, await session.start_transaction():
        await db["members"].insert_one({"_id": member, "brand_id": brand}, session=session)
        event_id = await outbox.add(
            MemberRegistered(brand_id=brand, member_id=member),
            brand_id=brand,
            subject=member,
            session=session,
        )
        if fail:
            raise RuntimeError("business rule failed after the event was added")
    return event_id


# -- PostgreSQL ------------------------------------------------------------------------------------------


async def test_pg_rolled_back_transaction_publishes_nothing(pg_pool: asyncpg.Pool, bus: EventBus) -> None:
    outbox, brand = PgOutbox(pg_pool, source=SERVICE), _brand()
    before = await _last_seq(bus)
    with pytest.raises(RuntimeError):
        await _pg_register(pg_pool, outbox, brand, "m-1", fail=True)

    assert await OutboxRelay(outbox, bus).run_once() == 0
    assert await pg_pool.fetchval("SELECT count(*) FROM outbox") == 0
    assert await _messages_for_brand(bus, before, brand) == []


async def test_pg_committed_event_is_published_once_with_cloudevents_headers(
    pg_pool: asyncpg.Pool, bus: EventBus
) -> None:
    outbox, brand = PgOutbox(pg_pool, source=SERVICE), _brand()
    before = await _last_seq(bus)
    event_id = await _pg_register(pg_pool, outbox, brand, "m-1")
    relay = OutboxRelay(outbox, bus)

    assert await relay.run_once() == 1
    assert await relay.run_once() == 0  # marked sent: nothing left

    [msg] = await _messages_for_brand(bus, before, brand)
    assert msg.subject == "crm.members.v1.MemberRegistered"
    assert msg.headers["Nats-Msg-Id"] == msg.headers["ce-id"] == event_id
    assert msg.headers["ce-type"] == "crm.members.v1.MemberRegistered"
    assert msg.headers["ce-source"] == SERVICE
    assert msg.headers["ce-subject"] == "m-1"
    assert msg.headers["ce-time"].endswith("Z")
    event = decode(msg.data, msg.headers)
    assert event.id == event_id and event.payload.member_id == "m-1"
    assert await pg_pool.fetchval("SELECT sent_at IS NOT NULL FROM outbox WHERE event_id = $1", event_id)
    assert OUTBOX_BACKLOG.labels(SERVICE)._value.get() == 0


async def test_pg_event_is_published_once_after_nats_comes_back(
    pg_pool: asyncpg.Pool, bus: EventBus, infra: Infra
) -> None:
    outbox, brand = PgOutbox(pg_pool, source=SERVICE), _brand()
    before = await _last_seq(bus)
    errors_before = OUTBOX_PUBLISH_ERRORS.labels(SERVICE)._value.get()
    relay = OutboxRelay(outbox, bus, idle_interval=0.05)
    await relay.start()
    try:
        infra.stop_nats()
        ids = [await _pg_register(pg_pool, outbox, brand, f"m-{i}") for i in range(5)]
        await asyncio.sleep(1.5)  # the relay tries, fails and backs off; the rows must stay
        assert await pg_pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 5
        assert OUTBOX_PUBLISH_ERRORS.labels(SERVICE)._value.get() > errors_before

        infra.start_nats()  # in this thread: a child dies with the thread that spawned it

        async def all_sent() -> bool:
            return await pg_pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0

        await _eventually(all_sent, within=20)
    finally:
        infra.start_nats()  # never leave the shared server down for the next tests
        await relay.stop()
    published = [m.headers["ce-id"] for m in await _messages_for_brand(bus, before, brand)]
    assert published == ids  # each once, in insertion order


async def test_pg_two_relays_publish_each_event_once(pg_pool: asyncpg.Pool, bus: EventBus) -> None:
    outbox, brand = PgOutbox(pg_pool, source=SERVICE), _brand()
    before = await _last_seq(bus)
    published_before = _published_total()
    ids = [await _pg_register(pg_pool, outbox, brand, f"m-{i}") for i in range(300)]
    relays = [OutboxRelay(PgOutbox(pg_pool, source=SERVICE), bus, batch_size=20, idle_interval=0.02) for _ in range(2)]
    for relay in relays:
        await relay.start()
    try:

        async def all_sent() -> bool:
            return await pg_pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0

        await _eventually(all_sent)
    finally:
        for relay in relays:
            await relay.stop()
    published = [m.headers["ce-id"] for m in await _messages_for_brand(bus, before, brand)]
    assert Counter(published) == Counter(ids) and len(published) == len(ids)
    # The stream would hide a second publish (Nats-Msg-Id dedupe), so also count PubAcks: one per event.
    assert _published_total() - published_before == len(ids)
    assert published == ids  # one relay at a time per source keeps insertion order


# -- MongoDB ---------------------------------------------------------------------------------------------


async def test_mongo_rolled_back_transaction_publishes_nothing(mongo: Any, bus: EventBus) -> None:
    client, db = mongo
    outbox, brand = MongoOutbox(db, source=SERVICE), _brand()
    before = await _last_seq(bus)
    with pytest.raises(RuntimeError):
        await _mongo_register(client, db, outbox, brand, "m-1", fail=True)

    assert await OutboxRelay(outbox, bus).run_once() == 0
    assert await db["outbox"].count_documents({}) == 0
    assert await db["members"].count_documents({}) == 0
    assert await _messages_for_brand(bus, before, brand) == []


async def test_mongo_committed_event_is_published_once_with_cloudevents_headers(mongo: Any, bus: EventBus) -> None:
    client, db = mongo
    outbox, brand = MongoOutbox(db, source=SERVICE), _brand()
    before = await _last_seq(bus)
    event_id = await _mongo_register(client, db, outbox, brand, "m-1")
    relay = OutboxRelay(outbox, bus)

    assert await relay.run_once() == 1
    assert await relay.run_once() == 0

    [msg] = await _messages_for_brand(bus, before, brand)
    assert msg.headers["Nats-Msg-Id"] == msg.headers["ce-id"] == event_id
    assert msg.headers["ce-type"] == "crm.members.v1.MemberRegistered"
    assert msg.headers["ce-source"] == SERVICE
    assert msg.headers["ce-subject"] == "m-1"
    doc = await db["outbox"].find_one({"_id": event_id})
    assert doc["sent_at"] is not None


async def test_mongo_event_is_published_once_after_nats_comes_back(mongo: Any, bus: EventBus, infra: Infra) -> None:
    client, db = mongo
    outbox, brand = MongoOutbox(db, source=SERVICE), _brand()
    before = await _last_seq(bus)
    errors_before = OUTBOX_PUBLISH_ERRORS.labels(SERVICE)._value.get()
    relay = OutboxRelay(outbox, bus, idle_interval=0.05)
    await relay.start()
    try:
        infra.stop_nats()
        ids = [await _mongo_register(client, db, outbox, brand, f"m-{i}") for i in range(5)]
        await asyncio.sleep(1.5)
        assert await db["outbox"].count_documents({"sent_at": None}) == 5
        assert OUTBOX_PUBLISH_ERRORS.labels(SERVICE)._value.get() > errors_before

        infra.start_nats()  # in this thread: a child dies with the thread that spawned it

        async def all_sent() -> bool:
            return await db["outbox"].count_documents({"sent_at": None}) == 0

        await _eventually(all_sent, within=20)
    finally:
        infra.start_nats()  # never leave the shared server down for the next tests
        await relay.stop()
    published = [m.headers["ce-id"] for m in await _messages_for_brand(bus, before, brand)]
    assert published == ids


async def test_mongo_two_relays_publish_each_event_once(mongo: Any, bus: EventBus) -> None:
    client, db = mongo
    outbox, brand = MongoOutbox(db, source=SERVICE), _brand()
    before = await _last_seq(bus)
    published_before = _published_total()
    ids = [await _mongo_register(client, db, outbox, brand, f"m-{i}") for i in range(100)]
    relays = [OutboxRelay(MongoOutbox(db, source=SERVICE), bus, batch_size=10, idle_interval=0.02) for _ in range(2)]
    for relay in relays:
        await relay.start()
    try:

        async def all_sent() -> bool:
            return await db["outbox"].count_documents({"sent_at": None}) == 0

        await _eventually(all_sent)
    finally:
        for relay in relays:
            await relay.stop()
    published = [m.headers["ce-id"] for m in await _messages_for_brand(bus, before, brand)]
    assert sorted(published) == sorted(ids) and len(published) == len(ids)
    assert _published_total() - published_before == len(ids)


async def test_mongo_add_many_writes_rows_shaped_like_add_in_one_transaction(mongo: Any, bus: EventBus) -> None:
    client, db = mongo
    outbox, brand = MongoOutbox(db, source=SERVICE), _brand()
    single = await _mongo_register(client, db, outbox, brand, "m-0")
    before = await _last_seq(bus)
    messages = [(MemberRegistered(brand_id=brand, member_id=f"m-{i}"), brand, f"m-{i}") for i in range(1, 4)]
    async with client.start_session() as session:
        with pytest.raises(RuntimeError):  # outside a transaction the events could outlive a rollback
            await outbox.add_many(messages, session=session)
        async with await session.start_transaction():
            ids = await outbox.add_many(messages, session=session)
            assert await outbox.add_many([], session=session) == []

    assert len(set(ids)) == 3
    rows = {d["_id"]: d async for d in db["outbox"].find({"_id": {"$in": [single, *ids]}})}
    shape = set(rows[single])
    assert all(set(rows[i]) == shape for i in ids)
    assert all(rows[i]["event_type"] == "crm.members.v1.MemberRegistered" and rows[i]["sent_at"] is None for i in ids)
    await OutboxRelay(outbox, bus).run_once()
    published = [m.headers["ce-subject"] for m in await _messages_for_brand(bus, before, brand)]
    assert published == ["m-0", "m-1", "m-2", "m-3"]  # insertion order survives the bulk insert


async def test_a_pipelined_batch_lands_in_order_and_reports_the_acknowledged_prefix(bus: EventBus) -> None:
    brand = f"b-{uuid.uuid4().hex[:8]}"
    before = await _last_seq(bus)
    good = [
        build_envelope(
            MemberRegistered(brand_id=brand, member_id=f"m-{i}"), source=SERVICE, brand_id=brand, subject=brand
        )
        for i in range(60)
    ]
    done, error = await bus.publish_batch([(e, None) for e in good])
    assert (done, error) == (60, None)
    stored = [decode(m.data, m.headers) for m in await _messages_for_brand(bus, before, brand)]
    assert [e.id for e in stored] == [e.id for e in good]

    # No stream takes this subject: JetStream answers "no responders" for it and the batch stops there.
    stray = EventEnvelope()
    stray.CopyFrom(good[0])
    stray.id, stray.type = "stray-" + uuid.uuid4().hex, "crm.nowhere.v1.Nothing"
    again = [
        build_envelope(
            MemberRegistered(brand_id=brand, member_id=f"n-{i}"), source=SERVICE, brand_id=brand, subject=brand
        )
        for i in range(3)
    ]
    done, error = await bus.publish_batch([(again[0], None), (again[1], None), (stray, None), (again[2], None)])
    assert done == 2
    assert error is not None and stray.id in str(error)
    # Re-publishing the whole batch (what the relay does next) stores nothing twice.
    done, _ = await bus.publish_batch([(e, None) for e in [*good, *again]])
    assert done == 63
    ids = [decode(m.data, m.headers).id for m in await _messages_for_brand(bus, before, brand)]
    assert Counter(ids) == Counter({e.id: 1 for e in [*good, *again]})
    assert ids[:62] == [e.id for e in [*good, *again[:2]]]


async def test_concurrent_batches_on_one_connection_each_get_their_own_acks(bus: EventBus) -> None:
    brand = f"b-{uuid.uuid4().hex[:8]}"
    before = await _last_seq(bus)
    batches = [
        [
            build_envelope(
                MemberRegistered(brand_id=brand, member_id=f"m-{b}-{i}"), source=SERVICE, brand_id=brand, subject=brand
            )
            for i in range(40)
        ]
        for b in range(3)
    ]
    # The first use subscribes the ack inbox: three batches racing for it must still each hear all their acks.
    results = await asyncio.gather(*(bus.publish_batch([(e, None) for e in batch]) for batch in batches))
    assert results == [(40, None)] * 3
    stored = Counter(decode(m.data, m.headers).id for m in await _messages_for_brand(bus, before, brand))
    assert stored == Counter({e.id: 1 for batch in batches for e in batch})
