"""Claimed jobs (timers) against a real PostgreSQL: exactly-once under concurrency, leases, retries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from crm_common.jobs import JobQueue, JobWorker, RunLater
from crm_common.migrations import migrate_pg


async def _eventually(check: Callable[[], Awaitable[bool]], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@pytest.fixture
async def pool(pg_dsn_factory: Callable[[str], str], request: pytest.FixtureRequest) -> AsyncIterator[asyncpg.Pool]:
    dsn = pg_dsn_factory(f"jobs_{request.node.name}")
    await migrate_pg(dsn)
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=12)
    await pool.execute("CREATE TABLE runs (job text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())")
    yield pool
    await pool.close()


async def _schedule(pool: asyncpg.Pool, kind: str, payloads: list[dict[str, Any]], *, key: bool = False) -> None:
    queue = JobQueue(pool)
    now = datetime.now(UTC) - timedelta(seconds=1)
    async with pool.acquire() as conn, conn.transaction():
        for p in payloads:
            await queue.schedule(conn, kind, now, p, key=p["name"] if key else None)


async def _record_run(conn: asyncpg.Connection, payload: dict[str, Any]) -> None:
    await conn.execute("INSERT INTO runs (job) VALUES ($1)", payload["name"])


async def test_each_of_200_jobs_runs_exactly_once_with_4_workers(pool: asyncpg.Pool) -> None:
    await _schedule(pool, "remind", [{"name": f"job-{i}"} for i in range(200)])

    async def slow_record(conn: asyncpg.Connection, payload: dict[str, Any]) -> None:
        await asyncio.sleep(0.002)  # widen the window in which a second claim would slip in
        await _record_run(conn, payload)

    workers = [JobWorker(pool, {"remind": slow_record}, poll_interval=0.02, batch_size=5) for _ in range(4)]
    for worker in workers:
        await worker.start()
    try:

        async def all_done() -> bool:
            return await pool.fetchval("SELECT count(*) FROM jobs WHERE state <> 'done'") == 0

        await _eventually(all_done)
    finally:
        for worker in workers:
            await worker.stop()
    assert await pool.fetchval("SELECT count(*) FROM runs") == 200
    assert await pool.fetchval("SELECT count(DISTINCT job) FROM runs") == 200
    assert await pool.fetchval("SELECT max(attempts) FROM jobs") == 1


async def test_job_of_a_crashed_worker_runs_again_after_its_lease(pool: asyncpg.Pool) -> None:
    await _schedule(pool, "expire", [{"name": "points-expiry"}])
    entered, calls = asyncio.Event(), []

    async def hangs_first_time(conn: asyncpg.Connection, payload: dict[str, Any]) -> None:
        calls.append(payload["name"])
        await _record_run(conn, payload)
        if len(calls) == 1:
            entered.set()
            await asyncio.Event().wait()  # stuck until the "crash"

    crashing = JobWorker(pool, {"expire": hangs_first_time}, poll_interval=0.02, lease_seconds=1)
    rescuer = JobWorker(pool, {"expire": hangs_first_time}, poll_interval=0.02, lease_seconds=1)
    await crashing.start()
    await asyncio.wait_for(entered.wait(), 10)

    await asyncio.sleep(1.2)  # lease expired, but the stuck run still holds the row lock
    assert await rescuer.run_once() == 0

    # Kill the worker mid-job: its transaction (with the handler's writes) rolls back, like a crashed process.
    assert crashing._task is not None
    crashing._task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await crashing._task

    assert await rescuer.run_once() == 1
    job = await pool.fetchrow("SELECT state, attempts FROM jobs")
    assert (job["state"], job["attempts"]) == ("done", 2)
    assert calls == ["points-expiry", "points-expiry"]
    assert await pool.fetchval("SELECT count(*) FROM runs") == 1  # the crashed run's write never committed


async def test_failing_job_is_retried_then_marked_failed(pool: asyncpg.Pool) -> None:
    await _schedule(pool, "sla", [{"name": "always-fails"}, {"name": "fails-once"}])
    calls: list[str] = []

    async def flaky(conn: asyncpg.Connection, payload: dict[str, Any]) -> None:
        calls.append(payload["name"])
        await _record_run(conn, payload)
        if payload["name"] == "always-fails" or calls.count("fails-once") == 1:
            raise ValueError(f"cannot escalate {payload['name']}")

    worker = JobWorker(pool, {"sla": flaky}, poll_interval=0.02, max_attempts=3, retry_base=0.05)
    await worker.start()
    try:

        async def settled() -> bool:
            return await pool.fetchval("SELECT count(*) FROM jobs WHERE state = 'pending'") == 0

        await _eventually(settled)
    finally:
        await worker.stop()
    rows = {r["job_name"]: r for r in await pool.fetch("SELECT payload->>'name' AS job_name, * FROM jobs")}
    failed, recovered = rows["always-fails"], rows["fails-once"]
    assert (failed["state"], failed["attempts"]) == ("failed", 3)
    assert "ValueError: cannot escalate always-fails" in failed["last_error"]
    assert (recovered["state"], recovered["attempts"], recovered["last_error"]) == ("done", 2, None)
    assert calls.count("always-fails") == 3
    # Only the successful run's effect committed.
    assert await pool.fetchval("SELECT count(*) FROM runs") == 1


async def test_scheduling_with_a_key_is_idempotent(pool: asyncpg.Pool) -> None:
    await _schedule(pool, "birthday", [{"name": "m-1"}], key=True)
    await _schedule(pool, "birthday", [{"name": "m-1"}], key=True)
    await _schedule(pool, "birthday", [{"name": "m-2"}], key=True)
    assert await pool.fetchval("SELECT count(*) FROM jobs") == 2


async def test_future_jobs_and_unknown_kinds_are_left_alone(pool: asyncpg.Pool) -> None:
    queue = JobQueue(pool)
    async with pool.acquire() as conn, conn.transaction():
        await queue.schedule(conn, "remind", datetime.now(UTC) + timedelta(hours=1), {"name": "later"})
        await queue.schedule(conn, "other-service-kind", datetime.now(UTC), {"name": "not-mine"})
    worker = JobWorker(pool, {"remind": _record_run})
    assert await worker.run_once() == 0
    assert await pool.fetchval("SELECT count(*) FROM jobs WHERE state = 'pending' AND attempts = 0") == 2


async def test_a_handler_can_keep_its_job_for_later_with_its_writes_committed(pool: asyncpg.Pool) -> None:
    await _schedule(pool, "send", [{"name": "quiet-hours"}])
    later = datetime.now(UTC) + timedelta(hours=9)

    async def not_now(conn: asyncpg.Connection, payload: dict[str, Any]) -> RunLater:
        await _record_run(conn, payload)
        return RunLater(later)

    worker = JobWorker(pool, {"send": not_now})
    assert await worker.run_once() == 1
    job = await pool.fetchrow("SELECT * FROM jobs")
    # Pending again at the new time, unlocked, and not counted as a failed attempt.
    assert (job["state"], job["run_at"], job["attempts"], job["locked_by"]) == ("pending", later, 0, None)
    assert await pool.fetchval("SELECT count(*) FROM runs") == 1
    assert await worker.run_once() == 0  # not due yet
