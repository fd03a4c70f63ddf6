"""Idempotent event consumers: a durable JetStream pull consumer feeding handlers through an inbox.

For each message: begin a transaction, record (consumer, event id) in processed_events, run the handler
in that same transaction unless the row was already there, commit, then ack. A redelivery therefore has
no second effect. Failures are nak'ed with backoff and dead-lettered after max_deliver. The fetch loop
is supervised and rebuilds its subscription after any error or reconnect (nats.py #504).

With ``batch_transactions`` (PostgreSQL inbox only), a fetched batch is applied in one transaction with one
inbox statement for all its ids, and acked after the commit; if the batch fails, its events are applied
one by one as above, so a poison event is retried and dead-lettered on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from opentelemetry import propagate, trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from prometheus_client import Counter, Gauge
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.asynchronous.mongo_client import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from crm_common.bus import EventBus
from crm_common.events import TRACEPARENT, Event, EventDecodeError, UnknownEventType, decode, stream_for

__all__ = ["Batched", "EventConsumer", "Handler", "MongoInbox", "PgInbox", "route"]

log = logging.getLogger(__name__)
tracer = trace.get_tracer("crm_common.consumer")

Handler = Callable[[Any, Event], Awaitable[None]]

CONSUMER_PROCESSED = Counter("crm_consumer_processed_total", "Events handled and committed", ["durable"])
CONSUMER_REDELIVERIES = Counter("crm_consumer_redeliveries_total", "Deliveries after the first", ["durable"])
CONSUMER_DUPLICATES = Counter(
    "crm_consumer_duplicates_total", "Events skipped because the inbox already had them", ["durable"]
)
CONSUMER_DEAD_LETTERS = Counter(
    "crm_consumer_dead_letters_total", "Events given up on after max_deliver (or undecodable)", ["durable"]
)
CONSUMER_LAG = Gauge("crm_consumer_lag", "Messages in the stream not yet delivered to the consumer", ["durable"])

DEFAULT_BACKOFF = [1.0, 2.0, 5.0, 10.0, 30.0, 60.0]
FETCH_TIMEOUT = 2.0
LAG_EVERY_SECONDS = 5.0
ERROR_LOG_EVERY_SECONDS = 5.0
_MAX_ERROR_TEXT = 500


@dataclass(frozen=True)
class Batched:
    """A handler that takes a run of consecutive events of its type at once (e.g. one statement for all).

    Applying a run must have the same effect as applying its events one by one, in order. Outside a
    batched transaction it is called with one event at a time.
    """

    handler: Callable[[Any, Sequence[Event]], Awaitable[None]]


class _Router:
    """The Handler `route` returns; `many` applies a batch's events, runs of a `Batched` type at once."""

    def __init__(self, handlers: Mapping[type | str, Handler | Batched]) -> None:
        self._by_name = {k if isinstance(k, str) else k.DESCRIPTOR.full_name: h for k, h in handlers.items()}

    async def __call__(self, tx: Any, event: Event) -> None:
        handler = self._by_name.get(event.type)
        if isinstance(handler, Batched):
            await handler.handler(tx, [event])
        elif handler is not None:
            await handler(tx, event)

    async def many(self, tx: Any, events: Sequence[Event]) -> None:
        """Apply events in order; consecutive events of a `Batched` type go to its handler together."""
        for event_type, run in itertools.groupby(events, key=lambda e: e.type):
            handler = self._by_name.get(event_type)
            if isinstance(handler, Batched):
                await handler.handler(tx, list(run))
            elif handler is not None:
                for event in run:
                    await handler(tx, event)


def route(handlers: Mapping[type | str, Handler | Batched]) -> Handler:
    """One Handler dispatching on the payload's class (or type name); events with no entry are ignored.

    An ignored event is still recorded in the inbox and acked: the consumer has nothing to do with it.
    """
    return _Router(handlers)


def _error_text(exc: BaseException) -> str:
    # Exception text may echo data; cap it. Payloads themselves are never stored.
    return f"{type(exc).__name__}: {exc}"[:_MAX_ERROR_TEXT]


class _Inbox(ABC):
    @abstractmethod
    async def process(self, consumer: str, event: Event, handler: Handler) -> bool:
        """Run handler in a transaction with the inbox row; False when the event was already processed."""

    @abstractmethod
    async def dead_letter(self, consumer: str, event_id: str, event_type: str, error: str, deliveries: int) -> None:
        """Record an event the consumer gave up on."""


class PgInbox(_Inbox):
    """processed_events / dead_letters tables in the service's PostgreSQL."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def process(self, consumer: str, event: Event, handler: Handler) -> bool:
        """See `_Inbox.process`; the handler gets an asyncpg.Connection inside the transaction."""
        async with self.pool.acquire() as conn, conn.transaction():
            status = await conn.execute(
                "INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                consumer,
                event.id,
            )
            if status == "INSERT 0 0":
                return False
            await handler(conn, event)
        return True

    async def process_batch(self, consumer: str, events: Sequence[Event], handler: Handler) -> list[bool]:
        """Run handler for each new event of ``events``, in order, in one transaction with their inbox rows.

        One statement records every id (``ON CONFLICT DO NOTHING`` turns away ids seen before); the result
        says per event whether it was applied (False: processed before, or a second copy in this batch).
        Any failure rolls the whole batch back, inbox rows included.
        """
        # Sorted, so two replicas inserting overlapping batches take the row locks in the same order.
        ids = sorted({event.id for event in events})
        async with self.pool.acquire() as conn, conn.transaction():
            new = set(
                await conn.fetchval(
                    "WITH recorded AS (INSERT INTO processed_events (consumer, event_id)"
                    " SELECT $1, id FROM unnest($2::text[]) AS id ON CONFLICT DO NOTHING RETURNING event_id)"
                    " SELECT coalesce(array_agg(event_id), '{}') FROM recorded",
                    consumer,
                    ids,
                )
            )
            applied = []
            for event in events:
                applied.append(event.id in new)
                new.discard(event.id)
            fresh = [event for event, new_event in zip(events, applied, strict=True) if new_event]
            many = getattr(handler, "many", None)  # a `route` handler applies runs of one type at once
            if many is not None:
                await many(conn, fresh)
            else:
                for event in fresh:
                    await handler(conn, event)
        return applied

    async def dead_letter(self, consumer: str, event_id: str, event_type: str, error: str, deliveries: int) -> None:
        """See `_Inbox.dead_letter`."""
        await self.pool.execute(
            "INSERT INTO dead_letters (consumer, event_id, event_type, error, deliveries)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (consumer, event_id)"
            " DO UPDATE SET error = EXCLUDED.error, deliveries = EXCLUDED.deliveries, created_at = now()",
            consumer,
            event_id,
            event_type,
            error,
            deliveries,
        )


class _AlreadyProcessed(Exception):
    pass


class MongoInbox(_Inbox):
    """processed_events / dead_letters collections; `_id` is "<consumer>/<event id>" so duplicates collide
    even before the unique (consumer, event_id) index exists."""

    def __init__(self, client: AsyncMongoClient, db: AsyncDatabase) -> None:
        self.client = client
        self.db = db

    async def process(self, consumer: str, event: Event, handler: Handler) -> bool:
        """See `_Inbox.process`; the handler gets the AsyncClientSession inside the transaction."""

        async def body(session: AsyncClientSession) -> None:
            try:
                await self.db["processed_events"].insert_one(
                    {
                        "_id": f"{consumer}/{event.id}",
                        "consumer": consumer,
                        "event_id": event.id,
                        "processed_at": datetime.now(UTC),
                    },
                    session=session,
                )
            except DuplicateKeyError as exc:
                raise _AlreadyProcessed from exc
            await handler(session, event)

        async with self.client.start_session() as session:
            try:
                # with_transaction retries transient errors (e.g. a write conflict with another replica).
                await session.with_transaction(body)
            except _AlreadyProcessed:
                return False
        return True

    async def dead_letter(self, consumer: str, event_id: str, event_type: str, error: str, deliveries: int) -> None:
        """See `_Inbox.dead_letter`."""
        await self.db["dead_letters"].update_one(
            {"_id": f"{consumer}/{event_id}"},
            {
                "$set": {
                    "consumer": consumer,
                    "event_id": event_id,
                    "event_type": event_type,
                    "error": error,
                    "deliveries": deliveries,
                    "created_at": datetime.now(UTC),
                }
            },
            upsert=True,
        )


class EventConsumer:
    """A durable pull consumer (shared by all replicas of a service) with a supervised fetch loop."""

    def __init__(
        self,
        bus: EventBus,
        *,
        durable: str,
        stream_service: str,
        subjects: list[str],
        handler: Handler,
        inbox: PgInbox | MongoInbox,
        max_deliver: int = 10,
        backoff: list[float] | None = None,
        batch: int = 50,
        ack_wait: float = 30.0,
        batch_transactions: bool = False,
    ) -> None:
        self.bus = bus
        self.durable = durable
        self.stream_service = stream_service
        self.stream = stream_for(stream_service)
        self.subjects = list(subjects)
        self.handler = handler
        self.inbox = inbox
        self.max_deliver = max_deliver
        self.backoff = list(backoff) if backoff else list(DEFAULT_BACKOFF)
        self.batch = batch
        self.ack_wait = ack_wait
        if batch_transactions and not isinstance(inbox, PgInbox):
            raise ValueError("batch_transactions needs a PgInbox")
        self.batch_transactions = batch_transactions
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._last_error_log = 0.0
        self._last_lag = 0.0

    def _config(self) -> ConsumerConfig:
        filters: dict[str, Any] = (
            {"filter_subject": self.subjects[0]} if len(self.subjects) == 1 else {"filter_subjects": self.subjects}
        )
        return ConsumerConfig(
            # name == durable makes nats.py use CONSUMER.CREATE.<stream>.<name>: create or update in place.
            name=self.durable,
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait,
            # One spare delivery: if recording a dead letter fails, the server still redelivers once more.
            max_deliver=self.max_deliver + 1,
            max_ack_pending=max(1000, self.batch * 4),
            **filters,
        )

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        # Never trust an old subscription: re-ensure the stream and the consumer (a restarted server or
        # a fresh one may have lost them) and bind a new one.
        await self.bus.ensure_stream(self.stream_service)
        await self.bus.js.add_consumer(self.stream, self._config())
        return await self.bus.js.pull_subscribe_bind(durable=self.durable, stream=self.stream)

    async def start(self) -> None:
        """Start the fetch loop in the background (idempotent)."""
        if self._task is None or self._task.done():
            self._stopping.clear()
            self._task = asyncio.create_task(self._run(), name=f"consumer-{self.durable}")

    async def stop(self) -> None:
        """Finish the message in hand, stop fetching, and return."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    def _log_error(self, what: str, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._last_error_log >= ERROR_LOG_EVERY_SECONDS:
            self._last_error_log = now
            log.warning("consumer %s: %s: %r", self.durable, what, exc)

    async def _fetch(self, sub: JetStreamContext.PullSubscription) -> list[Msg] | None:
        """Fetch a batch, or None when stop was requested meanwhile."""
        fetch = asyncio.ensure_future(sub.fetch(self.batch, timeout=FETCH_TIMEOUT))
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({fetch, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if not fetch.done():
            # Anything the server sends to a cancelled fetch is redelivered after ack_wait: no loss.
            fetch.cancel()
            with contextlib.suppress(BaseException):
                await fetch
            return None
        try:
            return fetch.result()
        except (nats.errors.TimeoutError, TimeoutError):
            # An empty poll (nats.py raises either, depending on where its wait ran out): not an error.
            return []

    async def _run(self) -> None:
        sub: JetStreamContext.PullSubscription | None = None
        sub_reconnects = -1
        delay = 0.2
        while not self._stopping.is_set():
            try:
                if sub is None or sub_reconnects != self.bus.reconnects:
                    if sub is not None:
                        with contextlib.suppress(Exception):
                            await sub.unsubscribe()
                        sub = None
                    sub_reconnects = self.bus.reconnects
                    sub = await self._subscribe()
                msgs = await self._fetch(sub)
                if msgs is None:
                    break
                if self.batch_transactions and len(msgs) > 1 and not self._stopping.is_set():
                    await self._handle_batch(msgs)
                    msgs = []
                for index, msg in enumerate(msgs):
                    if self._stopping.is_set():
                        # Hand the rest back at once so another replica can take them.
                        for rest in msgs[index:]:
                            with contextlib.suppress(Exception):
                                await rest.nak()
                        break
                    await self._handle(msg)
                await self._refresh_lag(sub)
                delay = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Connection closed, stream or consumer missing after a restart, API timeouts...: log (rate
                # limited), drop the subscription and rebuild it after a short, capped backoff.
                self._log_error("fetch loop error, resubscribing", exc)
                if sub is not None:
                    with contextlib.suppress(Exception):
                        await sub.unsubscribe()
                sub = None
                try:
                    await asyncio.wait_for(self._stopping.wait(), timeout=delay)
                except TimeoutError:
                    pass
                delay = min(delay * 2, 5.0)
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _refresh_lag(self, sub: JetStreamContext.PullSubscription, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_lag < LAG_EVERY_SECONDS:
            return
        self._last_lag = now
        try:
            info = await sub.consumer_info()
        except NotFoundError:
            raise  # the consumer vanished: let the supervisor rebuild it
        except Exception as exc:
            self._log_error("consumer info failed", exc)
            return
        CONSUMER_LAG.labels(self.durable).set(info.num_pending or 0)

    async def _handle(self, msg: Msg) -> None:
        event = await self._prepare(msg)
        if event is not None:
            await self._apply(msg, event)

    async def _prepare(self, msg: Msg) -> Event | None:
        """Decode a message; None when it was settled here (unknown type, undecodable, past max_deliver)."""
        deliveries = msg.metadata.num_delivered or 1
        if deliveries > 1:
            CONSUMER_REDELIVERIES.labels(self.durable).inc()
        headers = msg.headers or {}
        try:
            event = decode(msg.data, headers)
        except UnknownEventType as exc:
            # A newer producer's event type this build does not know; nothing to do with it here.
            log.info("consumer %s: ignoring event %s of unknown type %s", self.durable, headers.get("ce-id"), exc)
            await msg.ack()
            return None
        except EventDecodeError as exc:
            event_id = headers.get("ce-id") or f"stream-seq-{msg.metadata.sequence.stream}"
            await self._dead_letter(msg, event_id, headers.get("ce-type", "?"), exc, deliveries)
            return None

        if deliveries > self.max_deliver:
            # Only reachable when the last attempt never answered (crash, ack_wait expiry) or its dead
            # letter could not be written: give up without running the handler again.
            await self._dead_letter(msg, event.id, event.type, RuntimeError("max_deliver exceeded"), deliveries)
            return None
        return event

    @contextlib.contextmanager
    def _span(self, event: Event, subject: str) -> Iterator[trace.Span]:
        context = propagate.extract({TRACEPARENT: event.traceparent}) if event.traceparent else None
        with tracer.start_as_current_span(
            f"{event.type} process",
            context=context,
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": subject,
                "messaging.message.id": event.id,
                "messaging.consumer.group.name": self.durable,
                "crm.brand_id": event.brand_id,
            },
        ) as span:
            yield span

    async def _apply(self, msg: Msg, event: Event) -> None:
        """Apply one event in its own transaction; nak with backoff or dead-letter on failure, else ack."""
        deliveries = msg.metadata.num_delivered or 1
        with self._span(event, msg.subject) as span:
            try:
                processed = await self.inbox.process(self.durable, event, self.handler)
            except Exception as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR))
                if deliveries >= self.max_deliver:
                    await self._dead_letter(msg, event.id, event.type, exc, deliveries)
                else:
                    delay = self.backoff[min(deliveries - 1, len(self.backoff) - 1)]
                    log.warning(
                        "consumer %s: event %s (%s) failed on delivery %d, retry in %.1fs: %s",
                        self.durable,
                        event.id,
                        event.type,
                        deliveries,
                        delay,
                        _error_text(exc),
                    )
                    await msg.nak(delay=delay)
                return
        self._count(processed)
        await msg.ack()

    def _count(self, processed: bool) -> None:
        if processed:
            CONSUMER_PROCESSED.labels(self.durable).inc()
        else:
            CONSUMER_DUPLICATES.labels(self.durable).inc()

    async def _handle_batch(self, msgs: list[Msg]) -> None:
        """Apply a fetched batch in one transaction and ack it after the commit; one by one if it fails.

        Nothing is acked before the commit: a crash mid-batch leaves every message to be redelivered, and
        the inbox rows committed with the effects turn away whatever is redelivered after the commit.
        """
        ready = [(msg, event) for msg in msgs if (event := await self._prepare(msg)) is not None]
        if len(ready) <= 1:
            for msg, event in ready:
                await self._apply(msg, event)
            return
        events = [event for _, event in ready]
        # One span for the transaction, linked to each event's trace (an event's own span would have to
        # cover a statement shared with others).
        links = [
            Link(trace.get_current_span(propagate.extract({TRACEPARENT: e.traceparent})).get_span_context())
            for e in events
            if e.traceparent
        ]
        assert isinstance(self.inbox, PgInbox)
        try:
            with tracer.start_as_current_span(
                "batch process",
                kind=SpanKind.CONSUMER,
                links=links,
                attributes={
                    "messaging.system": "nats",
                    "messaging.batch.message_count": len(events),
                    "messaging.consumer.group.name": self.durable,
                },
            ):
                applied = await self.inbox.process_batch(self.durable, events, self.handler)
        except Exception as exc:
            # Which event failed (if any one did) is not known for sure: give each its own transaction, so
            # the good ones commit and only a failing one is retried and, in the end, dead-lettered.
            self._log_error(f"batch of {len(ready)} failed, applying its events one by one", exc)
            for msg, event in ready:
                await self._apply(msg, event)
            return
        for (msg, _), processed in zip(ready, applied, strict=True):
            self._count(processed)
            await msg.ack()

    async def _dead_letter(self, msg: Msg, event_id: str, event_type: str, exc: BaseException, n: int) -> None:
        text = _error_text(exc)
        log.error(
            "consumer %s: dead-lettering event %s (%s) after %d deliveries: %s",
            self.durable,
            event_id,
            event_type,
            n,
            text,
        )
        # Record first: if that fails the message is redelivered and we try again, never lost silently.
        await self.inbox.dead_letter(self.durable, event_id, event_type, text, n)
        CONSUMER_DEAD_LETTERS.labels(self.durable).inc()
        await msg.term()


Subscription = tuple[str, str, Mapping[type | str, Handler | Batched]]
"""(durable name, producing service, handler per event type): one durable consumer per stream read."""


def consumers_of(
    bus: EventBus, inbox: PgInbox | MongoInbox, subscriptions: Iterable[Subscription], **options: Any
) -> list[EventConsumer]:
    """One (not yet started) durable consumer per subscription, filtered to the event types it handles.

    ``options`` go to every `EventConsumer` (``max_deliver``, ``batch``, ...).
    """
    return [
        EventConsumer(
            bus,
            durable=durable,
            stream_service=stream,
            subjects=[t if isinstance(t, str) else t.DESCRIPTOR.full_name for t in handlers],
            handler=route(handlers),
            inbox=inbox,
            **options,
        )
        for durable, stream, handlers in subscriptions
    ]


async def subscribe(
    bus: EventBus, inbox: PgInbox | MongoInbox, subscriptions: Iterable[Subscription]
) -> list[EventConsumer]:
    """Start one durable consumer per subscription (see `consumers_of`).

    Stop them (in order) with ``for c in consumers: await c.stop()`` before closing the bus.
    """
    started = consumers_of(bus, inbox, subscriptions)
    for consumer in started:
        await consumer.start()
    return started
