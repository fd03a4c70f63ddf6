"""Reporting: KPI query paths over 1,000,000 order facts vs a hand-written SQL aggregate over the raw facts in
the same run; the fact builder's ingestion rate (OrderRecorded envelopes through the real consumer) vs a bare
INSERT loop of the same rows; and the BG/NBD fit over the full CDNOW master file (23,570 customers).

KPI paths are timed through the service's own use cases (``reporting.app.Reports``, in process: the gRPC
handler adds only the message translation), on embedded PostgreSQL with fsync off.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import pandas as pd

from bench.harness import Result, progress, report
from crm.loyalty.v1.events_pb2 import OrderLine, OrderRecorded
from crm.members.v1.members_pb2_grpc import MembersServiceStub
from crm_common.bus import EventBus
from crm_common.events import build_envelope
from crm_common.grpc_client import close_all, stub
from crm_common.testing import server_data_dir
from crm_devstack.infra import Infra, ensure_database

BRAND = "bench-brand"
ORDERS = 1_000_000
MEMBERS = 200_000
STORES = 50
GUIDES_PER_STORE = 10
CATEGORIES = ("coffee", "tea", "bakery", "snacks", "beans", "merch", "gift", "dairy")
FIRST_DAY = date(2024, 1, 1)
DAYS = 731  # 2024-01-01 .. 2025-12-31
ROUNDS = 7
GOAL_MS = 200.0
INGEST_EVENTS = 3_000
CDNOW_MASTER = Path(__file__).parent / "data" / "CDNOW_master.txt"
SHANGHAI_OFFSET = timedelta(hours=8)


# Data ------------------------------------------------------------------------------------------------------


def _generate(seed: int = 7) -> dict[str, dict[str, np.ndarray]]:
    """1M orders over 2 years, 50 stores, 200k members with skewed activity, 10 % anonymous buyers.

    Integer columns only (ids, day numbers, seconds): PostgreSQL turns them into the fact rows, which is
    far cheaper than formatting a million strings and timestamps in Python.
    """
    rng = np.random.default_rng(seed)
    home = rng.integers(0, STORES, MEMBERS)
    guide = home * GUIDES_PER_STORE + rng.integers(0, GUIDES_PER_STORE, MEMBERS)
    # Gamma-distributed purchase propensity: most members buy a few times, a few buy weekly.
    weight = rng.gamma(0.6, 1.0, MEMBERS)
    member = rng.choice(MEMBERS, ORDERS, p=weight / weight.sum())
    member_or_none = np.where(rng.random(ORDERS) < 0.10, -1, member)  # -1: not a member
    # Slow growth over the two years: later days are a little busier.
    day_weight = np.linspace(0.8, 1.2, DAYS)
    day = rng.choice(DAYS, ORDERS, p=day_weight / day_weight.sum())
    store = np.where(rng.random(ORDERS) < 0.85, home[member], rng.integers(0, STORES, ORDERS))
    total = np.maximum(100, rng.lognormal(np.log(12_000), 0.7, ORDERS)).astype(np.int64)
    # Half the orders have a second line taking 20-60 % of the total.
    second = np.where(rng.random(ORDERS) < 0.5, (total * rng.uniform(0.2, 0.6, ORDERS)).astype(np.int64), 0)
    # Registration: a random day of the two years (or half a year before), or the first purchase if earlier.
    first_buy = np.full(MEMBERS, DAYS)
    bought = member_or_none >= 0
    np.minimum.at(first_buy, member[bought], day[bought])
    return {
        "orders": {
            "n": np.arange(ORDERS),
            "member": member_or_none,
            "store": store,
            "day": day,
            "second": rng.integers(8 * 3600, 22 * 3600, ORDERS),  # opening hours, Shanghai time
            "total": total,
            "cat1": rng.integers(0, len(CATEGORIES), ORDERS),
            "line2": second,
            "cat2": rng.integers(0, len(CATEGORIES), ORDERS),
            "refund_after": np.where(rng.random(ORDERS) < 0.02, rng.integers(0, 15, ORDERS), -1),
        },
        "members": {
            "n": np.arange(MEMBERS),
            "store": home,
            "guide": guide,
            "day": np.minimum(rng.integers(-180, DAYS, MEMBERS), first_buy),
        },
        "coupons": {
            "n": np.arange(60_000),
            "template": rng.integers(0, 6, 60_000),
            "member": rng.integers(0, MEMBERS, 60_000),
            "day": rng.integers(0, DAYS, 60_000),
            "redeemed": (rng.random(60_000) < 0.35).astype(np.int64),
        },
    }


async def _stage(conn: asyncpg.Connection, name: str, columns: dict[str, np.ndarray]) -> None:
    """Binary COPY of integer columns into a temporary staging table."""
    await conn.execute(f"CREATE TEMP TABLE {name} ({', '.join(f'{c} bigint' for c in columns)})")
    await conn.copy_records_to_table(
        name, records=zip(*(a.tolist() for a in columns.values()), strict=True), columns=list(columns)
    )


_EXPAND = f"""
INSERT INTO order_facts (brand_id, order_id, store_id, member_id, occurred_at, local_date, total_fen)
SELECT '{BRAND}', 'o' || n, 's' || store, CASE WHEN member >= 0 THEN 'm' || member END,
       (DATE '{FIRST_DAY}' + day::int)::timestamp AT TIME ZONE 'Asia/Shanghai' + second * interval '1 second',
       DATE '{FIRST_DAY}' + day::int, total
FROM stage_orders;
INSERT INTO order_line_facts (brand_id, order_id, line_no, store_id, member_id, local_date, sku, category, quantity,
                              amount_fen)
SELECT '{BRAND}', 'o' || n, l.no, 's' || store, CASE WHEN member >= 0 THEN 'm' || member END,
       DATE '{FIRST_DAY}' + day::int, c.name || '-1', c.name, 1, l.amount
FROM stage_orders,
     LATERAL (VALUES (0, cat1, total - line2), (1, cat2, line2)) AS l(no, cat, amount),
     LATERAL (SELECT (ARRAY{list(CATEGORIES)})[l.cat + 1] AS name) AS c
WHERE l.no = 0 OR line2 > 0;
INSERT INTO refund_facts (brand_id, refund_id, order_id, store_id, member_id, occurred_at, local_date, amount_fen)
SELECT '{BRAND}', 'r' || n, 'o' || n, 's' || store, CASE WHEN member >= 0 THEN 'm' || member END,
       (DATE '{FIRST_DAY}' + least(day + refund_after, {DAYS - 1})::int)::timestamp AT TIME ZONE 'Asia/Shanghai'
           + interval '12 hours',
       DATE '{FIRST_DAY}' + least(day + refund_after, {DAYS - 1})::int, total
FROM stage_orders WHERE refund_after >= 0;
INSERT INTO member_facts (brand_id, member_id, store_id, guide_id, registered_at, registered_local_date)
SELECT '{BRAND}', 'm' || n, 's' || store, 'g' || guide,
       (DATE '{FIRST_DAY}' + day::int)::timestamp AT TIME ZONE 'Asia/Shanghai' + interval '10 hours',
       DATE '{FIRST_DAY}' + day::int
FROM stage_members;
INSERT INTO coupon_facts (brand_id, coupon_code, template_id, member_id, granted_local_date, redeemed_local_date)
SELECT '{BRAND}', 'c' || n, 't' || template, 'm' || member, DATE '{FIRST_DAY}' + day::int,
       CASE WHEN redeemed = 1 THEN DATE '{FIRST_DAY}' + least(day + 7, {DAYS - 1})::int END
FROM stage_coupons;
INSERT INTO member_purchase_days (brand_id, member_id, days)
SELECT brand_id, member_id, array_agg(DISTINCT local_date ORDER BY local_date)
FROM order_facts WHERE member_id IS NOT NULL GROUP BY brand_id, member_id;
INSERT INTO purchase_day_facts (brand_id, member_id, local_date, prev_date, prev2_date)
SELECT brand_id, member_id, local_date, lag(local_date) OVER w, lag(local_date, 2) OVER w
FROM (SELECT DISTINCT brand_id, member_id, local_date FROM order_facts WHERE member_id IS NOT NULL) AS d
WINDOW w AS (PARTITION BY brand_id, member_id ORDER BY local_date);
"""

_ROLLUPS = """
INSERT INTO daily_store_rollup (brand_id, store_id, local_date, orders, revenue_fen, refunds, refunded_fen)
SELECT brand_id, store_id, local_date, sum(orders), sum(revenue), sum(refunds), sum(refunded) FROM (
    SELECT brand_id, store_id, local_date, count(*) AS orders, sum(total_fen) AS revenue, 0 AS refunds,
           0 AS refunded FROM order_facts GROUP BY 1, 2, 3
    UNION ALL
    SELECT brand_id, store_id, local_date, 0, 0, count(*), sum(amount_fen) FROM refund_facts GROUP BY 1, 2, 3) AS u
GROUP BY 1, 2, 3;
INSERT INTO daily_category_rollup (brand_id, store_id, local_date, category, orders, quantity, amount_fen)
SELECT brand_id, store_id, local_date, category, count(DISTINCT order_id), sum(quantity), sum(amount_fen)
FROM order_line_facts GROUP BY 1, 2, 3, 4;
INSERT INTO daily_points_rollup (brand_id, local_date, store_id, issued)
SELECT brand_id, local_date, store_id, sum(total_fen / 100) FROM order_facts WHERE member_id IS NOT NULL
GROUP BY 1, 2, 3;
"""


async def _load(pool: asyncpg.Pool, data: dict[str, dict[str, np.ndarray]]) -> None:
    """Binary COPY into staging, expand into the fact tables (secondary indexes dropped meanwhile and rebuilt
    from the migration's own definitions), then build the rollups with the consumer's arithmetic."""
    async with pool.acquire() as conn:
        started = time.perf_counter()
        await conn.execute("INSERT INTO brands (brand_id, timezone) VALUES ($1, 'Asia/Shanghai')", BRAND)
        for name, columns in data.items():
            await _stage(conn, f"stage_{name}", columns)
        progress(f"  COPY (binary) into staging: {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        tables = [
            "order_facts",
            "order_line_facts",
            "refund_facts",
            "member_facts",
            "coupon_facts",
            "purchase_day_facts",
        ]
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY($1) AND indexname NOT LIKE '%\\_pkey'",
            tables,
        )
        for ix in indexes:
            await conn.execute(f'DROP INDEX "{ix["indexname"]}"')
        await conn.execute("SET maintenance_work_mem = '256MB'")
        await conn.execute(_EXPAND)
        for ix in indexes:
            await conn.execute(ix["indexdef"])
        progress(f"  facts expanded + {len(indexes)} indexes rebuilt: {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        await conn.execute(_ROLLUPS)
        # What autovacuum would have done by the time anyone reads a year of facts: statistics, and the
        # visibility map that lets the covering indexes answer without visiting the heap.
        await conn.execute("VACUUM ANALYZE")
        progress(f"  rollups + VACUUM ANALYZE: {time.perf_counter() - started:.1f} s")


# KPI paths --------------------------------------------------------------------------------------------------


async def _time_ms(op: Callable[[], Awaitable[Any]], rounds: int = ROUNDS) -> tuple[list[float], Any]:
    """Milliseconds per call over ``rounds`` calls after one warm-up; and the last result."""
    result = await op()
    out = []
    for _ in range(rounds):
        started = time.perf_counter()
        result = await op()
        out.append((time.perf_counter() - started) * 1000)
    return out, result


# The hand-written baseline: one SQL statement per path over the raw facts only (no rollups), computing the
# same figures as the service's KPI set. $1 brand, $2/$3 range, $4 start of the previous churn window.
_RAW_KPIS = """
WITH o AS (SELECT * FROM {source} WHERE o.brand_id = $1 AND o.local_date BETWEEN $4 AND $3 {extra}),
rng AS (SELECT * FROM o WHERE local_date >= $2),
sales AS (SELECT {orders} AS orders, coalesce(sum({amount}), 0) AS gross FROM rng),
per AS (SELECT member_id, count(DISTINCT local_date) AS d FROM rng WHERE member_id IS NOT NULL GROUP BY 1),
churn AS (SELECT count(*) FILTER (WHERE now_) AS active, count(*) FILTER (WHERE before AND NOT now_) AS churned
          FROM (SELECT member_id, bool_or(local_date > $3 - 90) AS now_, bool_or(local_date <= $3 - 90) AS before
                FROM o WHERE member_id IS NOT NULL AND local_date > $3 - 180 GROUP BY 1) AS m),
ref AS (SELECT count(*) AS n, coalesce(sum(amount_fen), 0) AS fen FROM refund_facts r
        WHERE r.brand_id = $1 AND r.local_date BETWEEN $2 AND $3 {refund_extra})
SELECT sales.orders, sales.gross - ref.fen AS revenue_fen, (SELECT count(*) FROM per) AS buyers,
       (SELECT count(*) FROM per WHERE d >= 2) AS repeat_buyers, churn.active, churn.churned
FROM sales, churn, ref
"""


@dataclass(frozen=True)
class Path_:
    """One KPI query path: how the service is asked, and the raw-SQL equivalent."""

    name: str
    service: Callable[[], Awaitable[Any]]
    raw: Callable[[], Awaitable[Any]]


def _paths(reports: Any, pool: asyncpg.Pool) -> list[Path_]:
    from reporting.domain.kpis import DateRange, Scope

    month = DateRange(date(2025, 11, 1), date(2025, 11, 30))
    year = DateRange(date(2025, 1, 1), date(2025, 12, 31))

    def raw(
        days: DateRange,
        source: str = "order_facts o",
        extra: str = "",
        refund_extra: str = "",
        orders: str = "count(*)",
        amount: str = "total_fen",
        *args: object,
    ) -> Callable[[], Awaitable[Any]]:
        sql = _RAW_KPIS.format(source=source, extra=extra, refund_extra=refund_extra, orders=orders, amount=amount)
        start = min(days.first, days.last - timedelta(days=179))
        return lambda: pool.fetchrow(sql, BRAND, days.first, days.last, start, *args)

    def kpis(days: DateRange, scope: Scope) -> Callable[[], Awaitable[Any]]:
        return lambda: reports.kpis(BRAND, days, scope, 90)

    guide = "o.member_id IN (SELECT member_id FROM member_facts WHERE brand_id = $1 AND guide_id = $5)"
    return [
        Path_("KPIs, whole brand, one month", kpis(month, Scope()), raw(month)),
        Path_("KPIs, whole brand, one year", kpis(year, Scope()), raw(year)),
        Path_(
            "KPIs, one store, one year",
            kpis(year, Scope(store_id="s7")),
            raw(year, "order_facts o", "AND o.store_id = $5", "AND r.store_id = $5", "count(*)", "total_fen", "s7"),
        ),
        Path_(
            "KPIs, one guide, one month",
            kpis(month, Scope(guide_id="g71")),
            raw(
                month,
                "order_facts o",
                f"AND {guide}",
                f"AND {guide.replace('o.', 'r.')}",
                "count(*)",
                "total_fen",
                "g71",
            ),
        ),
        Path_(
            "KPIs, one category, one month",
            kpis(month, Scope(category="tea")),
            raw(
                month,
                "order_line_facts o",
                "AND o.category = $5",
                "AND false",
                "count(DISTINCT order_id)",
                "amount_fen",
                "tea",
            ),
        ),
        Path_(
            "store leaderboard, one month",
            lambda: reports.leaderboard(BRAND, month, "store", 50),
            lambda: pool.fetch(
                "SELECT store_id, count(*), sum(total_fen), count(DISTINCT member_id) FROM order_facts"
                " WHERE brand_id = $1 AND local_date BETWEEN $2 AND $3 GROUP BY store_id",
                BRAND,
                month.first,
                month.last,
            ),
        ),
    ]


def _ms_row(title: str, subject: list[float], baseline: list[float]) -> str:
    s, b = statistics.median(subject), statistics.median(baseline)
    verdict = "✅" if s < GOAL_MS else "❌"
    return (
        f"| reporting {title} (Reports use case, in process) | {s:,.1f} ms {verdict} (goal < {GOAL_MS:.0f} ms) "
        f"| {b:,.1f} ms (hand-written SQL over raw facts) | **{b / s:.2f}×** (raw ÷ service) |"
    )


async def _kpi_rows(pool: asyncpg.Pool) -> list[str]:
    from reporting.app import Reports

    reports = Reports(pool)
    rows = []
    for path in _paths(reports, pool):
        service_ms, got = await _time_ms(path.service)
        raw_ms, want = await _time_ms(path.raw)
        if hasattr(got, "orders"):  # the two must agree, or the comparison means nothing
            assert (
                got.orders,
                got.revenue_fen,
                got.buyers,
                got.repeat_buyers,
                got.active_members,
                got.churned_members,
            ) == tuple(want), (path.name, got, want)
        progress(
            f"  {path.name}: service {statistics.median(service_ms):.1f} ms, raw SQL {statistics.median(raw_ms):.1f} ms"
        )
        rows.append(_ms_row(path.name, service_ms, raw_ms))
    return rows


# Ingestion --------------------------------------------------------------------------------------------------


def _order_event(brand_id: str, i: int) -> OrderRecorded:
    msg = OrderRecorded(
        brand_id=brand_id,
        order_id=f"i{i}",
        external_id=f"x{i}",
        store_id=f"s{i % STORES}",
        member_id=f"m{i % 5000}",
        total_fen=1000 + i % 9000,
        lines=[OrderLine(sku="LATTE", category="coffee", quantity=1, amount_fen=1000 + i % 9000)],
    )
    msg.occurred_at.FromDatetime(datetime(2026, 3, 1, 4, tzinfo=UTC) + timedelta(seconds=i))
    return msg


async def _ingestion_rows(pool: asyncpg.Pool, nats_url: str) -> list[str]:
    from reporting.adapters.brands import BrandTimezones
    from reporting.adapters.consumers import FactsProjector
    from reporting.bootstrap import consumers_for

    brand = "bench-ingest"
    await pool.execute(
        "INSERT INTO brands (brand_id, timezone) VALUES ($1, 'Asia/Shanghai'), ($2, 'Asia/Shanghai')",
        brand,
        "bench-bare",
    )
    bus = await EventBus.connect(nats_url, name="bench-reporting")
    # Never called: the brands are cached above. A stub is still needed to build the projector.
    members, channel = stub(MembersServiceStub, "127.0.0.1:1", service="members", timeout=1.0)
    try:
        await bus.ensure_stream("loyalty")
        progress(f"reporting ingestion: publishing {INGEST_EVENTS:,} OrderRecorded events")
        events = [_order_event(brand, i) for i in range(INGEST_EVENTS)]
        for i in range(0, INGEST_EVENTS, 500):
            await asyncio.gather(
                *(
                    bus.publish(build_envelope(m, source="loyalty", brand_id=brand, subject=""))
                    for m in events[i : i + 500]
                )
            )
        projector = FactsProjector(BrandTimezones(members), prefix=f"bench-{uuid.uuid4().hex[:8]}")
        consumer = next(c for c in consumers_for(bus, pool, projector) if c.stream_service == "loyalty")
        started = time.perf_counter()
        await consumer.start()
        while True:  # the facts table is the only place that tells when the consumer is through
            if await pool.fetchval("SELECT count(*) FROM order_facts WHERE brand_id = $1", brand) >= INGEST_EVENTS:
                break
            await asyncio.sleep(0.05)
        consumer_s = time.perf_counter() - started
        await consumer.stop()
        progress(f"  consumer: {INGEST_EVENTS / consumer_s:,.0f} facts/s")

        started = time.perf_counter()
        async with pool.acquire() as conn:
            for m in events:
                await conn.execute(
                    "INSERT INTO order_facts (brand_id, order_id, store_id, member_id, occurred_at, local_date,"
                    " total_fen) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    "bench-bare",
                    m.order_id,
                    m.store_id,
                    m.member_id,
                    m.occurred_at.ToDatetime(tzinfo=UTC),
                    date(2026, 3, 1),
                    m.total_fen,
                )
        bare_s = time.perf_counter() - started
        progress(f"  bare INSERT loop: {INGEST_EVENTS / bare_s:,.0f} rows/s")
    finally:
        await close_all(channel)
        await bus.close()
    subject = Result(
        "fact builder (NATS → inbox → facts, lines, rollups, purchase days; one transaction per fetched batch)",
        [INGEST_EVENTS / consumer_s],
    )
    baseline = Result("bare INSERT loop into order_facts, autocommit", [INGEST_EVENTS / bare_s])
    return [
        report(
            f"reporting ingestion, {INGEST_EVENTS:,} OrderRecorded events through the real consumer", subject, baseline
        )
    ]


# BG/NBD ------------------------------------------------------------------------------------------------------


def _bgnbd_row() -> str:
    from reporting.domain import bgnbd

    started = time.perf_counter()
    df = pd.read_csv(
        CDNOW_MASTER,
        sep=r"\s+",
        skiprows=1,
        header=None,
        names=["customer", "date", "cds", "dollars"],
        dtype={"customer": str, "date": str},
    )
    pairs = zip(df["customer"], pd.to_datetime(df["date"], format="%Y%m%d").dt.date, strict=True)
    _, summary = bgnbd.summarise(pairs, date(1997, 9, 30))
    summarised = time.perf_counter() - started
    started = time.perf_counter()
    p = bgnbd.fit(summary)
    fit_s = time.perf_counter() - started
    progress(
        f"  BG/NBD: {summary.customers:,} customers, r={p.r:.4f} α={p.alpha:.4f} a={p.a:.4f} b={p.b:.4f}"
        f" LL={p.log_likelihood:.2f}, fit {fit_s:.2f} s"
    )
    return (
        f"| reporting BG/NBD fit, full CDNOW master ({summary.customers:,} customers, calibration to 1997-09-30)"
        f" | fit {fit_s * 1000:,.0f} ms (+ {summarised * 1000:,.0f} ms parse/summarise) "
        f"| r={p.r:.4f}, α={p.alpha:.4f}, a={p.a:.4f}, b={p.b:.4f}, LL={p.log_likelihood:,.2f} | — |"
    )


# Entry point ---------------------------------------------------------------------------------------------------


async def run() -> list[str]:
    """Start embedded PostgreSQL + NATS, load 1M orders, time the KPI paths, ingestion and the model fit."""
    from reporting.bootstrap import ReportingSettings, migrate

    began = time.perf_counter()
    progress("reporting: starting embedded PostgreSQL and NATS")
    with server_data_dir("bench") as data_dir:
        infra = Infra(
            data_dir, fsync=False, environ={"CRM_MONGO_URI": "mongodb://127.0.0.1:1/unused"}, progress=progress
        )
        await infra.astart()
        try:
            await ensure_database(infra.pg_admin_dsn, "bench_reporting")
            dsn = infra.pg_dsn_for("bench_reporting")
            await migrate(ReportingSettings(pg_dsn=dsn, nats_url=infra.nats_url))
            progress(f"reporting: generating {ORDERS:,} orders, {MEMBERS:,} members, {STORES} stores, 2 years")
            data = _generate()
            pool = await asyncpg.create_pool(dsn, min_size=2, max_size=4)
            try:
                await _load(pool, data)
                progress("reporting: KPI paths")
                rows = await _kpi_rows(pool)
                rows += await _ingestion_rows(pool, infra.nats_url)
            finally:
                await pool.close()
        finally:
            await infra.astop()
    rows.append(_bgnbd_row())
    progress(f"reporting: done in {time.perf_counter() - began:.0f} s")
    return rows


if __name__ == "__main__":
    print(*asyncio.run(run()), sep="\n")
