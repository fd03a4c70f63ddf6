"""Timers as claimed jobs in the service's own database.

PostgreSQL (table `jobs`, crm_common/sql/0001_platform.sql): a worker claims due jobs with
`FOR UPDATE SKIP LOCKED` and stamps a lease (attempts + 1), then runs each handler in a transaction that
re-locks the row and marks it done, so effects and completion commit together. A crashed worker's job runs
again once its lease expires; failures are retried with backoff and, after max_attempts, kept with state
'failed'. Any number of replicas is safe.

MongoDB (collection `jobs`, `MongoJobQueue` / `MongoJobWorker`): the same states, lease, retries and backoff.
A claim is one atomic ``find_one_and_update`` of a due, unleased document. MongoDB transactions must stay
short, so a handler works in *steps*: each step's writes commit in one transaction together with the job's
progress checkpoint and a renewed lease, and only while the lease is still this claim's. A crashed job
resumes after its last committed step; completion is one last guarded update.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
from prometheus_client import Counter
from pymongo import ASCENDING, AsyncMongoClient, IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

__all__ = [
    "MONGO_JOB_INDEXES",
    "JobHandler",
    "JobQueue",
    "JobWorker",
    "LeaseLost",
    "MongoJob",
    "MongoJobHandler",
    "MongoJobQueue",
    "MongoJobWorker",
    "RunLater",
]

log = logging.getLogger(__name__)

JobHandler = Callable[[asyncpg.Connection, dict[str, Any]], Awaitable["RunLater | None"]]

JOBS_RUN = Counter("crm_jobs_run_total", "Job runs by outcome", ["kind", "outcome"])


@dataclass(frozen=True)
class RunLater:
    """What a PostgreSQL job handler returns to keep its job for later: the handler's writes commit, and the
    job is due again at ``run_at`` without counting as a failed attempt (quiet hours, a counted retry the
    handler manages itself)."""

    run_at: datetime


class JobQueue:
    """Schedules jobs in the caller's transaction."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def schedule(
        self,
        conn: asyncpg.Connection,
        kind: str,
        run_at: datetime,
        payload: dict[str, Any],
        *,
        key: str | None = None,
    ) -> None:
        """Schedule `kind` at `run_at` (aware datetime). With a key, scheduling the same (kind, key) again
        is a no-op, so a redelivered event or a retried command does not create a second timer."""
        if run_at.tzinfo is None:
            raise ValueError("run_at must be timezone-aware")
        await conn.execute(
            "INSERT INTO jobs (kind, key, run_at, payload) VALUES ($1, $2, $3, $4::jsonb)"
            " ON CONFLICT (kind, key) DO NOTHING",
            kind,
            key,
            run_at,
            json.dumps(payload),
        )


class _PollingWorker(ABC):
    """What both workers share: settings, lease tokens, backoff, the failure log and the polling loop.

    A subclass claims and runs due jobs in ``run_once`` and stores a failure in ``_store_failure``.
    """

    task_name = "job-worker"
    default_poll_interval = 0.5
    # Seconds ``stop`` gives the batch in hand before cancelling it (None: wait for it to finish).
    stop_grace: float | None = None

    def __init__(
        self,
        handlers: Mapping[str, Any],
        *,
        poll_interval: float | None = None,
        lease_seconds: float = 60,
        max_attempts: int = 10,
        batch_size: int = 10,
        retry_base: float = 5.0,
        retry_max: float = 3600.0,
    ) -> None:
        self.handlers = dict(handlers)
        self.poll_interval = self.default_poll_interval if poll_interval is None else poll_interval
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.batch_size = batch_size
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._last_error_log = 0.0

    def _claim_token(self) -> str:
        # A fresh token per claim lets a run check the lease is still its own: if it expired and another
        # worker re-claimed the job, the late run must not complete it.
        return f"{self.worker_id}:{uuid.uuid4().hex[:12]}"

    @abstractmethod
    async def run_once(self) -> int:
        """Claim due jobs and run them; return how many were run (succeeded or failed)."""

    @abstractmethod
    async def _store_failure(
        self, job_id: Any, token: str, *, give_up: bool, error: str, retry_in: timedelta
    ) -> None:
        """Release the job: pending again after ``retry_in``, or failed for good."""

    async def _record_failure(self, job_id: Any, kind: str, token: str, attempts: int, exc: Exception) -> None:
        give_up = attempts >= self.max_attempts
        delay = min(self.retry_base * 2 ** (attempts - 1), self.retry_max)
        error = f"{type(exc).__name__}: {exc}"[:1000]
        await self._store_failure(job_id, token, give_up=give_up, error=error, retry_in=timedelta(seconds=delay))
        JOBS_RUN.labels(kind, "failed" if give_up else "retry").inc()
        log.warning(
            "job %s (%s) attempt %d failed%s: %s",
            job_id,
            kind,
            attempts,
            ", giving up" if give_up else f", retry in {delay:.1f}s",
            error,
        )

    async def start(self) -> None:
        """Start polling in the background (idempotent)."""
        if self._task is None or self._task.done():
            self._stopping.clear()
            self._task = asyncio.create_task(self._run(), name=self.task_name)

    async def stop(self, grace: float | None = None) -> None:
        """Stop claiming and let the batch in hand finish; unclaimed jobs stay for other workers. With a grace
        (``stop_grace`` by default), a job still running after it is cancelled: a cancelled run commits
        nothing and runs again once its lease expires."""
        self._stopping.set()
        if self._task is None:
            return
        grace = self.stop_grace if grace is None else grace
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=grace)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                if await self.run_once() >= self.batch_size:
                    continue  # a full batch: more are probably due
            except Exception as exc:
                now = time.monotonic()
                if now - self._last_error_log >= 5.0:
                    self._last_error_log = now
                    log.warning("job worker poll failed: %r", exc)
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=self.poll_interval)
            except TimeoutError:
                pass


class JobWorker(_PollingWorker):
    """Claims and runs due jobs for the kinds it has handlers for."""

    def __init__(self, pool: asyncpg.Pool, handlers: Mapping[str, JobHandler], **options: Any) -> None:
        """``options``: poll_interval, lease_seconds, max_attempts, batch_size, retry_base, retry_max."""
        super().__init__(handlers, **options)
        self.pool = pool

    async def _claim(self) -> list[asyncpg.Record]:
        token = self._claim_token()
        async with self.pool.acquire() as conn:
            return await conn.fetch(
                """
                WITH due AS (
                    SELECT id FROM jobs
                    WHERE state = 'pending' AND run_at <= now() AND kind = ANY($1::text[])
                      AND (locked_until IS NULL OR locked_until < now())
                    ORDER BY run_at, id
                    LIMIT $2
                    FOR UPDATE SKIP LOCKED
                )
                UPDATE jobs SET locked_by = $3, locked_until = now() + make_interval(secs => $4),
                                attempts = attempts + 1, updated_at = now()
                FROM due WHERE jobs.id = due.id
                RETURNING jobs.id, jobs.kind, jobs.payload, jobs.attempts, jobs.locked_by
                """,
                list(self.handlers),
                self.batch_size,
                token,
                float(self.lease_seconds),
            )

    async def _run_job(self, job: asyncpg.Record) -> None:
        kind, job_id, token = job["kind"], job["id"], job["locked_by"]
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                # The row lock held for the whole run keeps other workers' SKIP LOCKED claims away even
                # if the lease runs out while the handler is still busy.
                mine = await conn.fetchval(
                    "SELECT 1 FROM jobs WHERE id = $1 AND locked_by = $2 AND state = 'pending' FOR UPDATE",
                    job_id,
                    token,
                )
                if not mine:
                    return
                later = await self.handlers[kind](conn, json.loads(job["payload"]))
                if isinstance(later, RunLater):
                    await conn.execute(
                        "UPDATE jobs SET run_at = $2, attempts = attempts - 1, updated_at = now(),"
                        " locked_by = NULL, locked_until = NULL WHERE id = $1",
                        job_id,
                        later.run_at,
                    )
                else:
                    await conn.execute(
                        "UPDATE jobs SET state = 'done', finished_at = now(), updated_at = now(),"
                        " locked_by = NULL, locked_until = NULL, last_error = NULL WHERE id = $1",
                        job_id,
                    )
            JOBS_RUN.labels(kind, "later" if isinstance(later, RunLater) else "done").inc()
        except Exception as exc:
            await self._record_failure(job_id, kind, token, job["attempts"], exc)

    async def _store_failure(
        self, job_id: Any, token: str, *, give_up: bool, error: str, retry_in: timedelta
    ) -> None:
        await self.pool.execute(
            "UPDATE jobs SET state = $3, last_error = $4, run_at = CASE WHEN $3 = 'pending'"
            " THEN now() + $5::interval ELSE run_at END,"
            " finished_at = CASE WHEN $3 = 'failed' THEN now() END,"
            " locked_by = NULL, locked_until = NULL, updated_at = now()"
            " WHERE id = $1 AND locked_by = $2",
            job_id,
            token,
            "failed" if give_up else "pending",
            error,
            retry_in,
        )

    async def run_once(self) -> int:
        """Claim one batch of due jobs and run them; return how many were run (succeeded or failed)."""
        jobs = await self._claim()
        for job in jobs:
            await self._run_job(job)
        return len(jobs)


# --- MongoDB ------------------------------------------------------------------------------------------------

T = TypeVar("T")
Doc = dict[str, Any]

MONGO_JOB_INDEXES: dict[str, list[IndexModel]] = {
    "jobs": [
        IndexModel([("state", ASCENDING), ("kind", ASCENDING), ("run_at", ASCENDING)], name="jobs_due"),
    ]
}
"""Indexes of the `jobs` collection; add them to the service's own index specs."""


class LeaseLost(Exception):
    """The job's lease expired and another worker claimed it: this run must not commit anything more."""


def _utcnow() -> datetime:
    moment = datetime.now(UTC)
    # MongoDB keeps milliseconds: what we compare against is what we stored.
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class MongoJobQueue:
    """Schedules jobs in the `jobs` collection, in the caller's transaction when given a session."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.collection = db["jobs"]

    async def schedule(
        self,
        kind: str,
        run_at: datetime,
        payload: Mapping[str, Any],
        *,
        key: str | None = None,
        session: AsyncClientSession | None = None,
    ) -> bool:
        """Schedule `kind` at `run_at` (aware datetime); True when a job was created. With a key, scheduling
        the same (kind, key) again is a no-op (False), so retries and replicas create one job."""
        if run_at.tzinfo is None:
            raise ValueError("run_at must be timezone-aware")
        now = _utcnow()
        doc: Doc = {
            "_id": f"{kind}|{key}" if key is not None else f"{kind}|{uuid.uuid4().hex}",
            "kind": kind,
            "key": key,
            "run_at": run_at,
            "payload": dict(payload),
            "state": "pending",
            "attempts": 0,
            "progress": {},
            "locked_by": None,
            "locked_until": None,
            "last_error": None,
            "created_at": now,
            "updated_at": now,
        }
        if key is not None and session is not None and session.in_transaction:
            # A duplicate key aborts a MongoDB transaction, so inside one, look before inserting; a racing
            # insert of the same key is a write conflict, and the transaction is retried and finds it.
            if await self.collection.find_one({"_id": doc["_id"]}, {"_id": 1}, session=session) is not None:
                return False
        try:
            await self.collection.insert_one(doc, session=session)
        except DuplicateKeyError:
            if key is None:
                raise
            return False
        return True

    async def get(self, kind: str, key: str) -> Doc | None:
        """The job scheduled with (kind, key), in any state, or None."""
        return await self.collection.find_one({"_id": f"{kind}|{key}"})


@dataclass
class MongoJob:
    """One claimed run of a job, handed to its handler."""

    id: str
    kind: str
    payload: dict[str, Any]
    progress: dict[str, Any]
    attempts: int
    token: str = field(repr=False)
    worker: MongoJobWorker = field(repr=False)

    async def step(
        self,
        work: Callable[[AsyncClientSession], Awaitable[T]],
        progress: Mapping[str, Any] | Callable[[T], Mapping[str, Any]] | None = None,
    ) -> T:
        """Run ``work(session)`` in one transaction that renews the lease and stores ``progress`` (a mapping,
        or a function of what ``work`` returned); raises LeaseLost, committing nothing, when the job is no
        longer this run's."""
        worker = self.worker
        stored: dict[str, Any] | None = None

        async def txn(session: AsyncClientSession) -> T:
            nonlocal stored
            # Writing the job document first makes it this transaction's: a rival claim waits or conflicts.
            renewed = await worker.collection.update_one(
                {"_id": self.id, "locked_by": self.token, "state": "pending"},
                {
                    "$set": {
                        "locked_until": _utcnow() + timedelta(seconds=worker.lease_seconds),
                        "updated_at": _utcnow(),
                    }
                },
                session=session,
            )
            if renewed.matched_count != 1:
                raise LeaseLost(self.id)
            result = await work(session)
            if progress is not None:
                stored = dict(progress(result) if callable(progress) else progress)
                await worker.collection.update_one({"_id": self.id}, {"$set": {"progress": stored}}, session=session)
            return result

        async with worker.client.start_session() as session:
            result = await session.with_transaction(txn)
        if stored is not None:
            self.progress = stored
        return result


MongoJobHandler = Callable[[MongoJob], Awaitable[None]]


class MongoJobWorker(_PollingWorker):
    """Claims and runs due jobs of the kinds it has handlers for (MongoDB)."""

    task_name = "mongo-job-worker"
    default_poll_interval = 1.0
    stop_grace = 5.0  # a step is a short transaction; a cancelled one commits nothing

    def __init__(
        self,
        client: AsyncMongoClient[Doc],
        db: AsyncDatabase[Doc],
        handlers: Mapping[str, MongoJobHandler],
        *,
        clock: Callable[[], datetime] = _utcnow,
        **options: Any,
    ) -> None:
        """``options`` as for ``JobWorker``."""
        super().__init__(handlers, **options)
        self.client = client
        self.collection = db["jobs"]
        # Which jobs are due is asked at the clock's time: tests move it forward instead of waiting.
        self.clock = clock

    async def _claim(self) -> Doc | None:
        now = self.clock()
        token = self._claim_token()
        return await self.collection.find_one_and_update(
            {
                "state": "pending",
                "kind": {"$in": list(self.handlers)},
                "run_at": {"$lte": now},
                "$or": [{"locked_until": None}, {"locked_until": {"$lt": _utcnow()}}],
            },
            {
                "$set": {
                    "locked_by": token,
                    "locked_until": _utcnow() + timedelta(seconds=self.lease_seconds),
                    "updated_at": _utcnow(),
                },
                "$inc": {"attempts": 1},
            },
            sort=[("run_at", ASCENDING), ("_id", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )

    async def _run_job(self, doc: Doc) -> None:
        job = MongoJob(
            id=doc["_id"],
            kind=doc["kind"],
            payload=doc.get("payload") or {},
            progress=doc.get("progress") or {},
            attempts=doc["attempts"],
            token=doc["locked_by"],
            worker=self,
        )
        try:
            await self.handlers[job.kind](job)
            done = await self.collection.update_one(
                {"_id": job.id, "locked_by": job.token, "state": "pending"},
                {
                    "$set": {
                        "state": "done",
                        "finished_at": _utcnow(),
                        "updated_at": _utcnow(),
                        "locked_by": None,
                        "locked_until": None,
                        "last_error": None,
                    }
                },
            )
            if done.matched_count != 1:
                raise LeaseLost(job.id)
            JOBS_RUN.labels(job.kind, "done").inc()
        except LeaseLost:
            # Another worker owns the job now; it resumes from the last step committed under our lease.
            JOBS_RUN.labels(job.kind, "lease_lost").inc()
            log.warning("job %s (%s) lost its lease; left to its new owner", job.id, job.kind)
        except Exception as exc:
            await self._record_failure(job.id, job.kind, job.token, job.attempts, exc)

    async def _store_failure(
        self, job_id: Any, token: str, *, give_up: bool, error: str, retry_in: timedelta
    ) -> None:
        changes: Doc = {
            "state": "failed" if give_up else "pending",
            "last_error": error,
            "locked_by": None,
            "locked_until": None,
            "updated_at": _utcnow(),
        }
        if give_up:
            changes["finished_at"] = _utcnow()
        else:
            changes["run_at"] = self.clock() + retry_in
        await self.collection.update_one({"_id": job_id, "locked_by": token}, {"$set": changes})

    async def run_once(self) -> int:
        """Claim up to one batch of due jobs, one at a time, and run them; return how many were run."""
        ran = 0
        while ran < self.batch_size and not self._stopping.is_set():
            doc = await self._claim()
            if doc is None:
                break
            await self._run_job(doc)
            ran += 1
        return ran
