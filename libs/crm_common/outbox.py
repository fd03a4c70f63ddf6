"""Transactional outbox: events are written with the business change and published by a relay after commit.

`PgOutbox` / `MongoOutbox` write in the caller's transaction; `OutboxRelay` publishes unsent rows in
insertion order with Nats-Msg-Id = event id, marks a row sent only after its PubAck, and retries forever.
Several relay replicas are safe: one publishes at a time (advisory lock / leader lease) and rows are
claimed (FOR UPDATE SKIP LOCKED / per-row lease); a rare duplicate publish is dropped by JetStream.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from google.protobuf.message import Message
from prometheus_client import Counter, Gauge
from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from crm.common.v1.events_pb2 import EventEnvelope
from crm_common.bus import EventBus
from crm_common.events import build_envelope, trace_carrier

__all__ = ["MongoOutbox", "OutboxRelay", "PgOutbox", "trace_json"]

log = logging.getLogger(__name__)

OUTBOX_BACKLOG = Gauge("crm_outbox_backlog", "Outbox rows not yet published", ["source"])
OUTBOX_OLDEST_AGE = Gauge("crm_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row", ["source"])
OUTBOX_PUBLISHED = Counter("crm_outbox_published_total", "Outbox events published (PubAck received)", ["source"])
OUTBOX_PUBLISH_ERRORS = Counter("crm_outbox_publish_errors_total", "Failed outbox publish attempts", ["source"])

# Sent rows are kept a day for inspection, then purged.
SENT_RETENTION = timedelta(days=1)
PURGE_EVERY_SECONDS = 600.0
METRICS_EVERY_SECONDS = 2.0


@dataclass(frozen=True)
class _Pending:
    key: object  # seq (PostgreSQL) or _id (MongoDB)
    envelope: EventEnvelope
    trace: dict[str, str]


class _Outbox(ABC):
    """What the relay needs from a store; each store keeps its own claiming rules."""

    source: str

    @abstractmethod
    async def _relay_batch(self, bus: EventBus, *, limit: int, owner: str) -> tuple[int, Exception | None]:
        """Claim, publish in order and mark sent; return (marked sent, error that stopped the batch)."""

    @abstractmethod
    async def _stats(self) -> tuple[int, float]:
        """(unsent rows, age in seconds of the oldest unsent row)."""

    @abstractmethod
    async def _purge(self, older_than: timedelta) -> int:
        """Delete rows sent before now - older_than."""


async def _publish_in_order(
    bus: EventBus, pending: list[_Pending], source: str
) -> tuple[list[object], Exception | None]:
    """Publish in insertion order (pipelined on one connection); the keys of the acknowledged prefix and the
    first failure, if any."""
    done, error = await bus.publish_batch([(item.envelope, item.trace) for item in pending])
    if error is not None:
        OUTBOX_PUBLISH_ERRORS.labels(source).inc()
    return [item.key for item in pending[:done]], error


def trace_json() -> str:
    """The current trace context as the PostgreSQL outbox's ``trace`` column holds it (JSON text)."""
    return json.dumps(trace_carrier())


class PgOutbox(_Outbox):
    """Outbox table in the service's PostgreSQL (see crm_common/sql/0001_platform.sql)."""

    def __init__(self, pool: asyncpg.Pool, *, source: str) -> None:
        self.pool = pool
        self.source = source
        # One relay per source publishes at a time, so insertion order holds across replicas.
        self._lock_key = int.from_bytes(
            uuid.uuid5(uuid.NAMESPACE_URL, f"crm-outbox:{source}").bytes[:8], "big", signed=True
        )

    def row(
        self, message: Message, *, brand_id: str, subject: str, trace: str | None = None
    ) -> tuple[str, str, str, bytes, str]:
        """``(event_id, source, event_type, envelope, trace_json)`` of the row ``add`` inserts (plus brand_id).

        For a hot path that folds its events into a statement of its own (one round trip): that statement must
        insert these values into ``outbox`` in the business transaction, exactly as ``add`` does. ``trace`` is
        a ``trace_json()`` taken earlier in the same span (a command writing several events takes it once).
        """
        envelope = build_envelope(message, source=self.source, brand_id=brand_id, subject=subject)
        return (
            envelope.id, self.source, envelope.type, envelope.SerializeToString(),
            trace_json() if trace is None else trace,
        )

    async def add(self, conn: asyncpg.Connection, message: Message, *, brand_id: str, subject: str) -> str:
        """Insert an event in the caller's transaction (`conn` must be inside one); return its event id."""
        if not conn.is_in_transaction():
            # Outside a transaction the event and the business change could diverge: refuse.
            raise RuntimeError("PgOutbox.add must run inside the business transaction")
        event_id, source, event_type, envelope, trace = self.row(message, brand_id=brand_id, subject=subject)
        await conn.execute(
            "INSERT INTO outbox (event_id, source, event_type, brand_id, envelope, trace)"
            " VALUES ($1, $2, $3, $4, $5, $6::jsonb)",
            event_id, source, event_type, brand_id, envelope, trace,
        )
        return event_id

    async def _relay_batch(self, bus: EventBus, *, limit: int, owner: str) -> tuple[int, Exception | None]:
        async with self.pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", self._lock_key):
                return 0, None  # another replica is relaying this source
            # The row locks are held while publishing, so nobody else can publish these rows meanwhile.
            rows = await conn.fetch(
                "SELECT seq, envelope, trace FROM outbox WHERE source = $1 AND sent_at IS NULL"
                " ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED",
                self.source,
                limit,
            )
            if not rows:
                return 0, None
            pending = [
                _Pending(r["seq"], EventEnvelope.FromString(r["envelope"]), json.loads(r["trace"])) for r in rows
            ]
            done, error = await _publish_in_order(bus, pending, self.source)
            if done:
                await conn.execute("UPDATE outbox SET sent_at = now() WHERE seq = ANY($1::bigint[])", done)
        return len(done), error

    async def _stats(self) -> tuple[int, float]:
        row = await self.pool.fetchrow(
            "SELECT count(*) AS n, extract(epoch FROM now() - min(created_at)) AS age"
            " FROM outbox WHERE source = $1 AND sent_at IS NULL",
            self.source,
        )
        return int(row["n"]), float(row["age"] or 0.0)

    async def _purge(self, older_than: timedelta) -> int:
        status = await self.pool.execute(
            "DELETE FROM outbox WHERE source = $1 AND sent_at < now() - $2::interval", self.source, older_than
        )
        return int(status.split()[-1])


def _claimed(until: datetime | None, now: datetime) -> bool:
    """True while another relay's claim on a row lasts (PyMongo returns naive UTC datetimes)."""
    if until is None:
        return False
    return (until if until.tzinfo else until.replace(tzinfo=UTC)) > now


class MongoOutbox(_Outbox):
    """Outbox collection "outbox" in the service's MongoDB; `_id` is the event id."""

    LEASE = timedelta(seconds=30)

    def __init__(self, db: AsyncDatabase, *, source: str) -> None:
        self.db = db
        self.source = source
        self.collection = db["outbox"]
        self._locks = db["relay_locks"]

    async def add(self, message: Message, *, brand_id: str, subject: str, session: AsyncClientSession) -> str:
        """Insert an event in the caller's multi-document transaction; return its event id."""
        if not session.in_transaction:
            raise RuntimeError("MongoOutbox.add must run inside the business transaction")
        envelope = build_envelope(message, source=self.source, brand_id=brand_id, subject=subject)
        await self.collection.insert_one(
            self._row(envelope, brand_id, trace_carrier(), datetime.now(UTC)), session=session
        )
        return envelope.id

    async def add_many(
        self, messages: list[tuple[Message, str, str]], *, session: AsyncClientSession
    ) -> list[str]:
        """Insert ``(message, brand_id, subject)`` events with one ``insert_many`` in the caller's transaction.

        Rows have exactly the shape of ``add``'s; bulk writers (imports) use this so a thousand events cost one
        round trip instead of a thousand. Returns the event ids in order.
        """
        if not session.in_transaction:
            raise RuntimeError("MongoOutbox.add_many must run inside the business transaction")
        if not messages:
            return []
        carrier = trace_carrier()
        at = datetime.now(UTC)
        docs = []
        for message, brand_id, subject in messages:
            envelope = build_envelope(message, source=self.source, brand_id=brand_id, subject=subject)
            docs.append(self._row(envelope, brand_id, carrier, at))
        await self.collection.insert_many(docs, ordered=True, session=session)
        return [d["_id"] for d in docs]

    def _row(self, envelope: EventEnvelope, brand_id: str, trace: dict[str, str], at: datetime) -> dict[str, object]:
        return {
            "_id": envelope.id,
            "source": self.source,
            "event_type": envelope.type,
            "brand_id": brand_id,
            "envelope": envelope.SerializeToString(),
            "trace": trace,
            "created_at": at,
            "sent_at": None,
            "claimed_by": None,
            "claimed_until": None,
        }

    async def _lead(self, owner: str, now: datetime) -> bool:
        """Take or renew the per-source leader lease; only the leader publishes (keeps order)."""
        try:
            await self._locks.find_one_and_update(
                {"_id": f"outbox:{self.source}", "$or": [{"owner": owner}, {"until": {"$lt": now}}]},
                {"$set": {"owner": owner, "until": now + self.LEASE}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return False  # the lock document exists and is held by a live relay
        return True

    async def _relay_batch(self, bus: EventBus, *, limit: int, owner: str) -> tuple[int, Exception | None]:
        now = datetime.now(UTC)
        if not await self._lead(owner, now):
            return 0, None
        # The oldest unsent rows through the (source, sent_at, created_at, _id) index, sorted by it; rows
        # another relay claimed are skipped here rather than in the query, which keeps the scan an index range.
        unsent = {"source": self.source, "sent_at": None}
        order = [("created_at", ASCENDING), ("_id", ASCENDING)]
        candidates = [
            d
            async for d in self.collection.find(unsent, {"_id": 1, "claimed_until": 1}).sort(order).limit(limit)
        ]
        ids = [d["_id"] for d in candidates if not _claimed(d.get("claimed_until"), now)]
        if not ids:
            return 0, None
        # A fresh token per claim: we publish exactly the rows this update_many won, nothing more.
        token = f"{owner}:{uuid.uuid4().hex}"
        await self.collection.update_many(
            {"_id": {"$in": ids}, "sent_at": None, "claimed_until": {"$not": {"$gt": now}}},
            {"$set": {"claimed_by": token, "claimed_until": now + self.LEASE}},
        )
        won = {d["_id"]: d async for d in self.collection.find({"_id": {"$in": ids}, "claimed_by": token})}
        docs = [won[i] for i in ids if i in won]  # ids are in stream order already
        pending = [_Pending(d["_id"], EventEnvelope.FromString(d["envelope"]), d.get("trace") or {}) for d in docs]
        done, error = await _publish_in_order(bus, pending, self.source)
        if done:
            await self.collection.update_many(
                {"_id": {"$in": done}, "claimed_by": token},
                {"$set": {"sent_at": datetime.now(UTC), "claimed_by": None, "claimed_until": None}},
            )
        if error is not None:
            # Give the unpublished rows back at once rather than waiting for the lease to run out.
            await self.collection.update_many(
                {"claimed_by": token, "sent_at": None}, {"$set": {"claimed_by": None, "claimed_until": None}}
            )
        return len(done), error

    async def _stats(self) -> tuple[int, float]:
        unsent = {"source": self.source, "sent_at": None}
        count = await self.collection.count_documents(unsent)
        oldest = await self.collection.find_one(unsent, {"created_at": 1}, sort=[("created_at", ASCENDING)])
        if not oldest:
            return count, 0.0
        created = oldest["created_at"]
        if created.tzinfo is None:  # PyMongo returns naive UTC unless tz_aware=True
            created = created.replace(tzinfo=UTC)
        return count, max(0.0, (datetime.now(UTC) - created).total_seconds())

    async def _purge(self, older_than: timedelta) -> int:
        result = await self.collection.delete_many(
            {"source": self.source, "sent_at": {"$ne": None, "$lt": datetime.now(UTC) - older_than}}
        )
        return result.deleted_count


class OutboxRelay:
    """Background task publishing an outbox to JetStream; retries forever with capped backoff."""

    def __init__(
        self,
        outbox: PgOutbox | MongoOutbox,
        bus: EventBus,
        *,
        batch_size: int = 100,
        idle_interval: float = 0.2,
        max_backoff: float = 5.0,
    ) -> None:
        self.outbox = outbox
        self.bus = bus
        self.batch_size = batch_size
        self.idle_interval = idle_interval
        self.max_backoff = max_backoff
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._last_metrics = 0.0
        self._last_purge = 0.0
        self._last_error_log = 0.0

    async def run_once(self) -> int:
        """Publish one batch; return how many rows were marked sent. Raises the publish error, if any."""
        sent = await self._batch()
        await self.refresh_metrics()
        return sent

    async def refresh_metrics(self) -> None:
        """Update the backlog and oldest-age gauges from the store."""
        backlog, age = await self.outbox._stats()
        OUTBOX_BACKLOG.labels(self.outbox.source).set(backlog)
        OUTBOX_OLDEST_AGE.labels(self.outbox.source).set(age)
        self._last_metrics = time.monotonic()

    async def start(self) -> None:
        """Start the background relay loop (idempotent)."""
        if self._task is None or self._task.done():
            self._stopping.clear()
            self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.outbox.source}")

    async def stop(self) -> None:
        """Stop after the batch in hand; unsent rows stay for the next start or another replica."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _batch(self) -> int:
        sent, error = await self.outbox._relay_batch(self.bus, limit=self.batch_size, owner=self.owner)
        if sent:
            OUTBOX_PUBLISHED.labels(self.outbox.source).inc(sent)
        if error is not None:
            raise error
        return sent

    async def _run(self) -> None:
        delay = self.idle_interval
        while not self._stopping.is_set():
            try:
                sent = await self._batch()
                now = time.monotonic()
                if now - self._last_metrics >= METRICS_EVERY_SECONDS:
                    await self.refresh_metrics()
                if now - self._last_purge >= PURGE_EVERY_SECONDS:
                    self._last_purge = now
                    purged = await self.outbox._purge(SENT_RETENTION)
                    if purged:
                        log.info("purged %d sent outbox rows (%s)", purged, self.outbox.source)
                delay = self.idle_interval
                if sent >= self.batch_size:
                    continue  # more may be waiting: no sleep
            except Exception as exc:
                # NATS or the database is away: keep the rows, back off (capped) and try again forever.
                delay = min(max(delay * 2, 0.2), self.max_backoff)
                now = time.monotonic()
                if now - self._last_error_log >= 5.0:
                    self._last_error_log = now
                    log.warning("outbox relay (%s) failed, retrying in %.1fs: %s", self.outbox.source, delay, exc)
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)
            except TimeoutError:
                pass
