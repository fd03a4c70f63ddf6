"""Timers as claimed jobs in the service's own PostgreSQL (table `jobs`, crm_common/sql/0001_platform.sql).

A worker claims due jobs with `FOR UPDATE SKIP LOCKED` and stamps a lease (attempts + 1), then runs each
handler in a transaction that re-locks the row and marks it done, so effects and completion commit
together. A crashed worker's job runs again once its lease expires; failures are retried with backoff
and, after max_attempts, kept with state 'failed'. Any number of replicas is safe.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg
from prometheus_client import Counter

__all__ = ["JobHandler", "JobQueue", "JobWorker"]

log = logging.getLogger(__name__)

JobHandler = Callable[[asyncpg.Connection, dict[str, Any]], Awaitable[None]]

JOBS_RUN = Counter("crm_jobs_run_total", "Job runs by outcome", ["kind", "outcome"])


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


class JobWorker:
    """Claims and runs due jobs for the kinds it has handlers for."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        handlers: dict[str, JobHandler],
        *,
        poll_interval: float = 0.5,
        lease_seconds: float = 60,
        max_attempts: int = 10,
        batch_size: int = 10,
        retry_base: float = 5.0,
        retry_max: float = 3600.0,
    ) -> None:
        self.pool = pool
        self.handlers = dict(handlers)
        self.poll_interval = poll_interval
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.batch_size = batch_size
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._last_error_log = 0.0

    async def _claim(self) -> list[asyncpg.Record]:
        # A fresh token per claim lets the run transaction check the lease is still ours: if it expired
        # and another worker re-claimed the job, our late run must not complete it.
        token = f"{self.worker_id}:{uuid.uuid4().hex[:12]}"
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
                await self.handlers[kind](conn, json.loads(job["payload"]))
                await conn.execute(
                    "UPDATE jobs SET state = 'done', finished_at = now(), updated_at = now(),"
                    " locked_by = NULL, locked_until = NULL, last_error = NULL WHERE id = $1",
                    job_id,
                )
            JOBS_RUN.labels(kind, "done").inc()
        except Exception as exc:
            await self._record_failure(job, exc)

    async def _record_failure(self, job: asyncpg.Record, exc: Exception) -> None:
        attempts = job["attempts"]
        give_up = attempts >= self.max_attempts
        delay = min(self.retry_base * 2 ** (attempts - 1), self.retry_max)
        error = f"{type(exc).__name__}: {exc}"[:1000]
        await self.pool.execute(
            "UPDATE jobs SET state = $3, last_error = $4, run_at = CASE WHEN $3 = 'pending'"
            " THEN now() + make_interval(secs => $5) ELSE run_at END,"
            " finished_at = CASE WHEN $3 = 'failed' THEN now() END,"
            " locked_by = NULL, locked_until = NULL, updated_at = now()"
            " WHERE id = $1 AND locked_by = $2",
            job["id"],
            job["locked_by"],
            "failed" if give_up else "pending",
            error,
            float(delay),
        )
        JOBS_RUN.labels(job["kind"], "failed" if give_up else "retry").inc()
        log.warning(
            "job %s (%s) attempt %d failed%s: %s",
            job["id"],
            job["kind"],
            attempts,
            ", giving up" if give_up else f", retry in {delay:.1f}s",
            error,
        )

    async def run_once(self) -> int:
        """Claim one batch of due jobs and run them; return how many were run (succeeded or failed)."""
        jobs = await self._claim()
        for job in jobs:
            await self._run_job(job)
        return len(jobs)

    async def start(self) -> None:
        """Start polling in the background (idempotent)."""
        if self._task is None or self._task.done():
            self._stopping.clear()
            self._task = asyncio.create_task(self._run(), name="job-worker")

    async def stop(self) -> None:
        """Finish the batch in hand and stop; unclaimed jobs stay for other workers."""
        self._stopping.set()
        if self._task is not None:
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
