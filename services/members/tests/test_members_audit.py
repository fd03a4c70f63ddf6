"""The PII audit's group commit against a real MongoDB-wire server: every entry is stored before its read is
answered, concurrent entries share one bucket document per brand, and a failed write fails every read waiting
on it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient

from members.adapters.audit import MAX_BUCKET_IDS, AuditWriter, buckets

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def entry(actor: str, brand: str = "b1", ids: tuple[str, ...] = ("m1",), at: datetime = T0) -> dict[str, Any]:
    return {"brand_id": brand, "actor_id": actor, "member_ids": list(ids), "purpose": "test", "what": "read",
            "at": at}


async def stored_reads(collection: Any, **query: Any) -> list[dict[str, Any]]:
    """Every stored entry (buckets unwound), oldest first."""
    reads = [r | {"brand_id": d["brand_id"]} async for d in collection.find(query) for r in d["reads"]]
    return sorted(reads, key=lambda r: r["at"])


@pytest_asyncio.fixture
async def collection(mongo_uri_factory: Callable[[str], str]) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri_factory("members_audit"), tz_aware=True)
    coll = client.get_default_database()["pii_audit"]
    await coll.delete_many({})
    yield coll
    await client.close()


async def test_each_entry_is_stored_when_its_call_returns(collection: Any) -> None:
    writer = AuditWriter(collection)

    await writer.record(entry("st_1"))

    [bucket] = await collection.find().to_list()
    assert bucket["brand_id"] == "b1" and bucket["count"] == 1 and bucket["at"] == T0
    assert bucket["reads"] == [{"actor_id": "st_1", "member_ids": ["m1"], "purpose": "test", "what": "read",
                                "at": T0}]


async def test_concurrent_entries_share_one_write_and_one_bucket_per_brand(collection: Any) -> None:
    writer = AuditWriter(collection)
    writes: list[int] = []
    insert_many = collection.insert_many

    async def counting(docs: list[dict[str, Any]], **kw: Any) -> Any:
        writes.append(len(docs))
        return await insert_many(docs, **kw)

    writer.collection = type("Counted", (), {"insert_many": staticmethod(counting)})()

    async def read(i: int) -> None:
        brand = "b1" if i % 2 else "b2"
        await writer.record(entry(f"st_{i}", brand, (f"m{i}",), T0 + timedelta(seconds=i)))
        # Answered only once stored: the group commit never acknowledges early.
        assert any(r["actor_id"] == f"st_{i}" for r in await stored_reads(collection, brand_id=brand))

    await asyncio.gather(*(read(i) for i in range(200)))

    reads = await stored_reads(collection)
    assert [r["actor_id"] for r in reads] == [f"st_{i}" for i in range(200)]  # every entry, exactly once
    assert len(writes) < 20
    assert sum(writes) == await collection.count_documents({}) <= 2 * len(writes)  # ≤ one bucket per brand
    newest_b1 = await collection.find({"brand_id": "b1"}).sort("at", -1).limit(1).to_list()
    assert newest_b1[0]["at"] == T0 + timedelta(seconds=199)


async def test_a_failed_write_fails_every_read_in_its_flush(collection: Any) -> None:
    writer = AuditWriter(collection)
    insert_many = collection.insert_many
    failures = iter([ConnectionError("primary stepped down")])

    async def failing_once(docs: list[dict[str, Any]], **kw: Any) -> Any:
        for failure in failures:
            raise failure
        return await insert_many(docs, **kw)

    writer.collection = type("Flaky", (), {"insert_many": staticmethod(failing_once)})()

    results = await asyncio.gather(writer.record(entry("st_a")), writer.record(entry("st_b", "b2")),
                                   return_exceptions=True)

    # Both were in one flush: neither read may be answered as audited when the write did not commit.
    assert all(isinstance(r, ConnectionError) for r in results)
    assert await collection.count_documents({}) == 0
    await writer.record(entry("st_after"))  # the writer keeps working after a failure
    assert [r["actor_id"] for r in await stored_reads(collection)] == ["st_after"]


@pytest.mark.parametrize("n", [1, 3])
async def test_drain_waits_for_writes_in_flight(collection: Any, n: int) -> None:
    writer = AuditWriter(collection)
    tasks = [asyncio.create_task(writer.record(entry(f"st_{i}"))) for i in range(n)]
    await asyncio.sleep(0)

    await writer.drain()

    assert len(await stored_reads(collection)) == n
    await asyncio.gather(*tasks)


async def test_a_write_lingers_for_company_only_while_reads_arrive_together(collection: Any) -> None:
    writes: list[list[str]] = []
    insert_many = collection.insert_many

    async def counting(docs: list[dict[str, Any]], **kw: Any) -> Any:
        writes.append([r["actor_id"] for d in docs for r in d["reads"]])
        return await insert_many(docs, **kw)

    lone = AuditWriter(collection, linger_seconds=30)
    lone.collection = type("Counted", (), {"insert_many": staticmethod(counting)})()
    await lone.record(entry("st_first"))
    # The last write held one entry: nobody else is reading, so this one is not held back (30 s would fail).
    await asyncio.wait_for(lone.record(entry("st_alone")), timeout=5)

    busy = AuditWriter(collection, linger_seconds=0.5)
    busy.collection = lone.collection
    await asyncio.gather(busy.record(entry("st_a")), busy.record(entry("st_b")))  # two at once: busy

    async def late() -> None:
        await asyncio.sleep(0.05)
        await busy.record(entry("st_d"))

    await asyncio.gather(busy.record(entry("st_c")), late())

    # st_c's write waited and took st_d, which came 50 ms later, with it.
    assert writes == [["st_first"], ["st_alone"], ["st_a", "st_b"], ["st_c", "st_d"]]


def test_a_bucket_splits_before_its_member_ids_pass_the_cap() -> None:
    export_page = tuple(f"m{i}" for i in range(1000))
    entries = [entry("st_1", ids=export_page, at=T0 + timedelta(seconds=i)) for i in range(45)]

    docs = buckets(entries)

    assert [d["count"] for d in docs] == [20, 20, 5]
    assert all(sum(len(r["member_ids"]) for r in d["reads"]) <= MAX_BUCKET_IDS for d in docs)
    assert docs[1]["first_at"] == T0 + timedelta(seconds=20) and docs[1]["at"] == T0 + timedelta(seconds=39)
