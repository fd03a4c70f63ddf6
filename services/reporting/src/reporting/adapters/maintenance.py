"""Operator commands: rebuild the fact tables from the event streams, and reconcile them with loyalty.

Rebuild replays the MEMBERS and LOYALTY streams from their start, through the same handlers the live
service runs, into fresh copies of the fact tables in a private schema, then swaps the contents into place
in one transaction. Reconcile compares each brand's order and refund totals with loyalty's own.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from nats.js.errors import NotFoundError

from crm.loyalty.v1 import loyalty_pb2
from crm.loyalty.v1.loyalty_pb2_grpc import LoyaltyServiceStub
from crm.members.v1.members_pb2_grpc import MembersServiceStub
from crm_common import pg
from crm_common.bus import EventBus
from crm_common.consumer import EventConsumer, Handler, PgInbox, route
from crm_common.events import Event
from reporting.adapters.brands import BrandTimezones
from reporting.adapters.consumers import FactsProjector

# Every table the projector writes. Derived results (models, predictions, anomalies) and schedules are
# not facts: they stay as they are.
FACT_TABLES = (
    "brands",
    "member_facts",
    "order_facts",
    "order_line_facts",
    "refund_facts",
    "daily_store_rollup",
    "daily_category_rollup",
    "daily_points_rollup",
    "tier_change_facts",
    "coupon_facts",
    "pending_order_points",
    "member_purchase_days",
    "purchase_day_facts",
)
LIVE_PREFIX = "reporting"
DRAIN_TIMEOUT = 600.0
Progress = Callable[[str], None]


class RebuildError(RuntimeError):
    """The rebuild could not finish; the live facts were left untouched."""


@dataclass(frozen=True)
class RebuildResult:
    """What a rebuild replayed and swapped in."""

    events: int
    orders: int
    members: int
    seconds: float


async def _drain(bus: EventBus, consumers: list[EventConsumer], timeout: float = DRAIN_TIMEOUT) -> None:
    """Wait until every consumer has been handed, and has acked, all of its stream (as of now)."""
    deadline = time.monotonic() + timeout
    while True:
        idle = True
        for c in consumers:
            try:
                info = await bus.js.consumer_info(c.stream, c.durable)
            except NotFoundError:  # not created yet: its fetch loop is still starting
                idle = False
                break
            if info.num_pending or info.num_ack_pending:
                idle = False
                break
        if idle:
            return
        if time.monotonic() > deadline:
            raise RebuildError(f"replay did not catch up within {timeout:.0f}s")
        await asyncio.sleep(0.1)


class Rebuild:
    """One rebuild run: its private schema, its ephemeral consumers and the swap."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        dsn: str,
        bus: EventBus,
        members: MembersServiceStub,
        *,
        brand_id: str | None = None,
        progress: Progress = print,
    ) -> None:
        self.pool = pool
        self.dsn = dsn
        self.bus = bus
        self.members = members
        self.brand_id = brand_id
        self.progress = progress
        self.tag = uuid.uuid4().hex[:10]
        self.schema = f"rebuild_{self.tag}"
        self.prefix = f"rebuild-{self.tag}"

    def _wrap(self, handlers: dict[type, Handler], live_durable: str) -> Handler:
        """The live handlers, limited to one brand when asked, recording each applied event.

        The record lets the swap tell the live consumer which events the new facts already hold.
        """
        inner = route(handlers)

        async def handle(conn: asyncpg.Connection, event: Event) -> None:
            brand_id = getattr(event.payload, "brand_id", "") or event.brand_id
            if self.brand_id is not None and brand_id != self.brand_id:
                return
            await inner(conn, event)
            await conn.execute(
                "INSERT INTO applied_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                live_durable,
                event.id,
            )

        return handle

    def _consumers(self, pool: asyncpg.Pool, stream: str, durable_suffix: str) -> EventConsumer:
        projector = FactsProjector(BrandTimezones(self.members), prefix=self.prefix)
        live = {s: d for d, s, _ in FactsProjector(BrandTimezones(self.members), prefix=LIVE_PREFIX).subscriptions()}
        durable, _, handlers = next(sub for sub in projector.subscriptions() if sub[1] == stream)
        return EventConsumer(
            self.bus,
            durable=f"{durable}-{durable_suffix}",
            stream_service=stream,
            subjects=[t.DESCRIPTOR.full_name for t in handlers],
            handler=self._wrap(handlers, live[stream]),
            inbox=PgInbox(pool),
            # A replay must not stall for minutes on an event that fails: dead-letter it fast and stop.
            max_deliver=3,
            backoff=[0.2, 0.5],
            batch=200,
            batch_transactions=True,
        )

    async def _prepare(self) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(f"CREATE SCHEMA {self.schema}")
            for table in FACT_TABLES:
                await conn.execute(f"CREATE TABLE {self.schema}.{table} (LIKE public.{table} INCLUDING ALL)")
            await conn.execute(
                f"CREATE TABLE {self.schema}.applied_events (consumer text, event_id text,"
                " PRIMARY KEY (consumer, event_id))"
            )
            # Timezones already learnt (BrandCreated, or members) date events exactly as the live facts were.
            await conn.execute(f"INSERT INTO {self.schema}.brands SELECT * FROM public.brands")

    async def run(self) -> RebuildResult:
        """Replay, swap, clean up. On any failure the live facts stay as they were."""
        started = time.monotonic()
        await self._prepare()
        # The handlers' unqualified table names resolve to the fresh copies; the inbox stays in public.
        replay_pool = await pg.create_pool(
            self.dsn, min_size=1, max_size=2, server_settings={"search_path": f"{self.schema}, public"}
        )
        running: list[EventConsumer] = []
        try:
            # Members first (brands, registrations), then loyalty (orders, points, tiers of those members),
            # then members once more so merges move the orders they should (replaying a member stream is
            # idempotent: every handler sets state or inserts once).
            for stream, suffix in (("members", "1"), ("loyalty", "1"), ("members", "2")):
                consumer = self._consumers(replay_pool, stream, suffix)
                running.append(consumer)
                await consumer.start()
                await _drain(self.bus, [consumer])
                self.progress(f"rebuild: replayed the {stream} stream (pass {suffix})")
            await running[0].stop()
            live = running[1:]
            await self._check_dead_letters()
            result = await self._swap(live)
            return RebuildResult(result["events"], result["orders"], result["members"], time.monotonic() - started)
        finally:
            for consumer in running:
                await consumer.stop()
            await replay_pool.close()
            await self._cleanup(running)

    async def _check_dead_letters(self) -> None:
        failed = await self.pool.fetchval(
            "SELECT count(*) FROM dead_letters WHERE consumer LIKE $1", f"{self.prefix}-%"
        )
        if failed:
            raise RebuildError(f"{failed} events could not be replayed (see dead_letters); nothing was swapped")

    async def _swap(self, consumers: list[EventConsumer]) -> dict[str, int]:
        """Lock the live facts against writes, let the replay reach the stream's end, copy, commit.

        Live consumers block on the lock; after the commit their statements resolve the tables again and
        write into the new contents. Events the replay already applied are entered in the live inbox, so
        the live consumer skips them instead of counting them twice. A deadlock with a live consumer (both
        inserting the same inbox row) aborts one side; the live side retries its event, ours the swap.
        """
        scope = "" if self.brand_id is None else " WHERE brand_id = $1"
        args = [] if self.brand_id is None else [self.brand_id]
        for attempt in range(5):
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    await conn.execute(f"LOCK TABLE {', '.join(f'public.{t}' for t in FACT_TABLES)} IN EXCLUSIVE MODE")
                    await _drain(self.bus, consumers)
                    for table in FACT_TABLES:
                        await conn.execute(f"DELETE FROM public.{table}{scope}", *args)
                        await conn.execute(
                            f"INSERT INTO public.{table} SELECT * FROM {self.schema}.{table}{scope}", *args
                        )
                    events = await conn.fetchval(
                        f"WITH i AS (INSERT INTO processed_events (consumer, event_id) SELECT consumer, event_id"
                        f" FROM {self.schema}.applied_events ON CONFLICT DO NOTHING RETURNING 1)"
                        f" SELECT (SELECT count(*) FROM {self.schema}.applied_events)"
                    )
                    orders = await conn.fetchval(f"SELECT count(*) FROM public.order_facts{scope}", *args)
                    members = await conn.fetchval(f"SELECT count(*) FROM public.member_facts{scope}", *args)
                return {"events": events, "orders": orders, "members": members}
            except asyncpg.DeadlockDetectedError:
                self.progress(f"rebuild: swap deadlocked with a live consumer, retrying ({attempt + 1})")
                await asyncio.sleep(0.2 * (attempt + 1))
        raise RebuildError("the swap kept deadlocking with live consumers; nothing was swapped")

    async def _cleanup(self, consumers: list[EventConsumer]) -> None:
        for consumer in consumers:
            try:
                await self.bus.js.delete_consumer(consumer.stream, consumer.durable)
            except Exception as exc:  # cleanup must go on; the consumer is uniquely named anyway
                self.progress(f"rebuild: could not delete consumer {consumer.durable}: {exc!r}")
        await self.pool.execute("DELETE FROM processed_events WHERE consumer LIKE $1", f"{self.prefix}-%")
        await self.pool.execute("DELETE FROM dead_letters WHERE consumer LIKE $1", f"{self.prefix}-%")
        await self.pool.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")


# Reconciliation -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reconciliation:
    """One brand's all-time totals as reporting's facts and loyalty see them."""

    brand_id: str
    facts: tuple[int, int, int, int]
    loyalty: tuple[int, int, int, int]

    @property
    def ok(self) -> bool:
        """True when every total agrees."""
        return self.facts == self.loyalty

    def describe(self) -> str:
        """A line for the operator: the figures and, when they differ, by how much."""
        names = ("orders", "total_fen", "refunds", "refunded_fen")
        if self.ok:
            return f"{self.brand_id}: OK " + " ".join(f"{n}={v}" for n, v in zip(names, self.facts, strict=True))
        diffs = [
            f"{n} facts={f} loyalty={lo} (Δ {f - lo:+d})"
            for n, f, lo in zip(names, self.facts, self.loyalty, strict=True)
            if f != lo
        ]
        return f"{self.brand_id}: MISMATCH " + "; ".join(diffs)


async def fact_totals(pool: asyncpg.Pool, brand_id: str) -> tuple[int, int, int, int]:
    """(orders, total fen, refunds, refunded fen) of a brand's facts, all time."""
    row = await pool.fetchrow(
        """
        SELECT (SELECT count(*) FROM order_facts WHERE brand_id = $1) AS orders,
               (SELECT coalesce(sum(total_fen), 0) FROM order_facts WHERE brand_id = $1)::bigint AS total,
               (SELECT count(*) FROM refund_facts WHERE brand_id = $1) AS refunds,
               (SELECT coalesce(sum(amount_fen), 0) FROM refund_facts WHERE brand_id = $1)::bigint AS refunded
        """,
        brand_id,
    )
    return row["orders"], row["total"], row["refunds"], row["refunded"]


async def known_brands(pool: asyncpg.Pool) -> list[str]:
    """Every brand reporting has heard of."""
    rows = await pool.fetch("SELECT brand_id FROM brands UNION SELECT DISTINCT brand_id FROM order_facts ORDER BY 1")
    return [r["brand_id"] for r in rows]


async def reconcile(pool: asyncpg.Pool, loyalty: LoyaltyServiceStub, brand_ids: list[str]) -> list[Reconciliation]:
    """Compare each brand's fact totals with loyalty's ``GetOrderTotals``.

    Events still in flight show as a difference; the command is meant to be re-run before acting on one.
    """
    out = []
    for brand_id in brand_ids:
        theirs: Any = await loyalty.GetOrderTotals(loyalty_pb2.GetOrderTotalsRequest(brand_id=brand_id))
        out.append(
            Reconciliation(
                brand_id,
                await fact_totals(pool, brand_id),
                (theirs.orders, theirs.total_fen, theirs.refunds, theirs.refunded_fen),
            )
        )
    return out
