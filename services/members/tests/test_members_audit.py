"""The PII audit's group commit against a real MongoDB-wire server: every record is stored before its read
is answered, concurrent records share inserts, and a failed insert fails every read waiting on it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient
from pymongo.errors import BulkWriteError

from members.adapters.audit import AuditWriter


@pytest_asyncio.fixture
async def collection(mongo_uri_factory: Callable[[str], str]) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri_factory("members_audit"), tz_aware=True)
    coll = client.get_default_database()["pii_audit"]
    await coll.delete_many({})
    yield coll
    await client.close()


async def test_each_record_is_stored_when_its_call_returns(collection: Any) -> None:
    writer = AuditWriter(collection)

    await writer.record({"_id": "one", "actor_id": "st_1"})

    assert await collection.find_one({"_id": "one"}) is not None


async def test_concurrent_records_share_a_few_inserts(collection: Any) -> None:
    writer = AuditWriter(collection)
    inserts = 0
    insert_many = collection.insert_many

    async def counting(docs: list[dict[str, Any]], **kw: Any) -> Any:
        nonlocal inserts
        inserts += 1
        return await insert_many(docs, **kw)

    writer.collection = type("Counted", (), {"insert_many": staticmethod(counting)})()

    async def read(i: int) -> None:
        await writer.record({"_id": f"r{i}", "actor_id": "st_1"})
        # Answered only once stored: the group commit never acknowledges early.
        assert await collection.find_one({"_id": f"r{i}"}) is not None

    await asyncio.gather(*(read(i) for i in range(200)))

    assert await collection.count_documents({}) == 200
    assert inserts < 20


async def test_a_failed_insert_fails_every_read_in_its_batch(collection: Any) -> None:
    writer = AuditWriter(collection)
    await collection.insert_one({"_id": "taken"})

    results = await asyncio.gather(
        writer.record({"_id": "taken"}), writer.record({"_id": "fresh"}), return_exceptions=True
    )

    # Both were in one batch: neither read may be answered as audited when the batch did not fully commit.
    assert all(isinstance(r, BulkWriteError) for r in results)
    await writer.record({"_id": "after"})  # the writer keeps working after a failure
    assert await collection.find_one({"_id": "after"}) is not None


@pytest.mark.parametrize("n", [1, 3])
async def test_drain_waits_for_writes_in_flight(collection: Any, n: int) -> None:
    writer = AuditWriter(collection)
    tasks = [asyncio.create_task(writer.record({"_id": f"d{i}"})) for i in range(n)]
    await asyncio.sleep(0)

    await writer.drain()

    assert await collection.count_documents({}) == n
    await asyncio.gather(*tasks)
