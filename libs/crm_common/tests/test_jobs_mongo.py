"""Claimed jobs on MongoDB (the members service's timers) against a real MongoDB-wire server: exactly once
under concurrency, idempotent scheduling, steps that resume after a crash, leases, retries, a movable clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient

from crm_common.jobs import MONGO_JOB_INDEXES, MongoJob, MongoJobQueue, MongoJobWorker
from crm_common.migrations import ensure_mongo_indexes


@pytest_asyncio.fixture
async def mongo(
    mongo_uri_factory: Callable[[str], str], request: pytest.FixtureRequest
) -> AsyncIterator[tuple[AsyncMongoClient[dict[str, Any]], Any]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_uri_factory(f"jobs_{request.node.name}"[:40]), tz_aware=True
    )
    db = client.get_default_database()
    await ensure_mongo_indexes(db, MONGO_JOB_INDEXES)
    yield client, db
    await client.close()


def _past() -> datetime:
    return datetime.now(UTC) - timedelta(seconds=1)


async def test_each_of_40_jobs_runs_exactly_once_with_3_workers(mongo: Any) -> None:
    client, db = mongo
    queue = MongoJobQueue(db)
    for i in range(40):
        await queue.schedule("remind", _past(), {"name": f"job-{i}"})

    async def record(job: MongoJob) -> None:
        async def write(s: Any) -> None:
            await db["runs"].insert_one({"job": job.payload["name"]}, session=s)

        await job.step(write)

    workers = [MongoJobWorker(client, db, {"remind": record}, poll_interval=0.02, batch_size=5) for _ in range(3)]
    for worker in workers:
        await worker.start()
    try:
        for _ in range(600):
            if await db["jobs"].count_documents({"state": {"$ne": "done"}}) == 0:
                break
            await asyncio.sleep(0.05)
    finally:
        for worker in workers:
            await worker.stop()
    assert await db["jobs"].count_documents({"state": "done"}) == 40
    assert len(await db["runs"].distinct("job")) == 40
    assert await db["runs"].count_documents({}) == 40


async def test_scheduling_with_a_key_is_idempotent(mongo: Any) -> None:
    _, db = mongo
    queue = MongoJobQueue(db)
    assert await queue.schedule("birthday", _past(), {"m": 1}, key="m-1")
    assert not await queue.schedule("birthday", _past(), {"m": 1}, key="m-1")
    assert await queue.schedule("birthday", _past(), {"m": 2}, key="m-2")
    assert await db["jobs"].count_documents({}) == 2
    assert (await queue.get("birthday", "m-1") or {})["state"] == "pending"


async def test_a_crashed_job_resumes_after_its_last_step_once_the_lease_expires(mongo: Any) -> None:
    client, db = mongo
    await MongoJobQueue(db).schedule("scan", _past(), {"items": 5}, key="daily")
    crash_after = {"value": 2}
    seen: list[int] = []

    async def scan(job: MongoJob) -> None:
        for i in range(job.progress.get("next", 0), job.payload["items"]):
            if i == crash_after["value"]:
                raise asyncio.CancelledError  # the process dies between steps

            async def write(s: Any, i: int = i) -> None:
                await db["scanned"].insert_one({"_id": i}, session=s)

            seen.append(i)
            await job.step(write, {"next": i + 1})

    crashing = MongoJobWorker(client, db, {"scan": scan}, lease_seconds=0.5)
    with pytest.raises(asyncio.CancelledError):
        await crashing.run_once()
    rescuer = MongoJobWorker(client, db, {"scan": scan}, lease_seconds=0.5)
    assert await rescuer.run_once() == 0  # still leased to the crashed run

    await asyncio.sleep(0.6)
    crash_after["value"] = -1
    assert await rescuer.run_once() == 1

    job = await db["jobs"].find_one({})
    assert (job["state"], job["attempts"], job["progress"]) == ("done", 2, {"next": 5})
    assert seen == [0, 1, 2, 3, 4]  # nothing done twice
    assert sorted(await db["scanned"].distinct("_id")) == [0, 1, 2, 3, 4]


async def test_a_run_that_lost_its_lease_commits_nothing_more(mongo: Any) -> None:
    client, db = mongo
    await MongoJobQueue(db).schedule("slow", _past(), {})
    entered, go_on = asyncio.Event(), asyncio.Event()
    calls = 0

    async def slow(job: MongoJob) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            entered.set()
            await go_on.wait()

        async def write(s: Any) -> None:
            await db["effects"].insert_one({"call": calls}, session=s)

        await job.step(write)

    first = MongoJobWorker(client, db, {"slow": slow}, lease_seconds=0.3)
    second = MongoJobWorker(client, db, {"slow": slow}, lease_seconds=0.3)
    stuck = asyncio.create_task(first.run_once())
    await entered.wait()
    await asyncio.sleep(0.4)
    assert await second.run_once() == 1  # took the job over and finished it
    go_on.set()
    await stuck  # the first run's late step finds the lease gone

    assert [d["call"] async for d in db["effects"].find({})] == [2]
    assert (await db["jobs"].find_one({}))["state"] == "done"


async def test_failing_job_is_retried_with_backoff_then_marked_failed(mongo: Any) -> None:
    client, db = mongo
    await MongoJobQueue(db).schedule("sla", _past(), {})

    async def fails(job: MongoJob) -> None:
        raise ValueError("cannot escalate")

    worker = MongoJobWorker(client, db, {"sla": fails}, max_attempts=2, retry_base=30)
    assert await worker.run_once() == 1
    job = await db["jobs"].find_one({})
    assert job["state"] == "pending" and job["run_at"] > datetime.now(UTC) + timedelta(seconds=20)
    assert await worker.run_once() == 0  # backing off

    later = MongoJobWorker(client, db, {"sla": fails}, max_attempts=2, clock=lambda: datetime.now(UTC) + timedelta(1))
    assert await later.run_once() == 1
    job = await db["jobs"].find_one({})
    assert (job["state"], job["attempts"]) == ("failed", 2)
    assert "ValueError: cannot escalate" in job["last_error"]


async def test_future_jobs_run_when_the_clock_reaches_them_and_other_kinds_are_left_alone(mongo: Any) -> None:
    client, db = mongo
    queue = MongoJobQueue(db)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    await queue.schedule("remind", tomorrow, {})
    await queue.schedule("not-mine", _past(), {})
    ran: list[str] = []

    async def remind(job: MongoJob) -> None:
        ran.append(job.id)

    assert await MongoJobWorker(client, db, {"remind": remind}).run_once() == 0
    moved = MongoJobWorker(client, db, {"remind": remind}, clock=lambda: tomorrow + timedelta(seconds=1))
    assert await moved.run_once() == 1
    assert len(ran) == 1
    assert await db["jobs"].count_documents({"kind": "not-mine", "state": "pending", "attempts": 0}) == 1
