"""Read-side SQL of the analytic reports (leaderboards, cohorts, RFM, segments, association, anomalies)."""

from __future__ import annotations

from datetime import date, timedelta

import asyncpg

from reporting.domain.kpis import DateRange


async def leaderboard(pool: asyncpg.Pool, brand_id: str, days: DateRange, by: str) -> list[asyncpg.Record]:
    """Per store (where the order was taken) or guide (the buyer's guide now): orders, net revenue, buyers."""
    if by == "store":
        sql = """
        WITH sales AS (
            SELECT store_id AS key, sum(orders)::bigint AS orders,
                   sum(revenue_fen - refunded_fen)::bigint AS revenue_fen
            FROM daily_store_rollup WHERE brand_id = $1 AND local_date BETWEEN $2 AND $3 GROUP BY store_id),
        buyers AS (
            SELECT key, count(*) AS buyers, count(*) FILTER (WHERE d >= 2) AS repeat_buyers FROM (
                SELECT store_id AS key, member_id,
                       CASE WHEN min(local_date) < max(local_date) THEN 2 ELSE 1 END AS d FROM order_facts
                WHERE brand_id = $1 AND local_date BETWEEN $2 AND $3 AND member_id IS NOT NULL
                GROUP BY store_id, member_id) AS m GROUP BY key)
        SELECT s.key, s.orders, s.revenue_fen, coalesce(b.buyers, 0) AS buyers,
               coalesce(b.repeat_buyers, 0) AS repeat_buyers
        FROM sales s LEFT JOIN buyers b USING (key)
        """
    else:
        sql = """
        WITH o AS (
            SELECT coalesce(mf.guide_id, '') AS key, o.order_id, o.member_id, o.local_date, o.total_fen
            FROM order_facts o LEFT JOIN member_facts mf ON mf.brand_id = o.brand_id AND mf.member_id = o.member_id
            WHERE o.brand_id = $1 AND o.local_date BETWEEN $2 AND $3 AND o.member_id IS NOT NULL),
        r AS (
            SELECT coalesce(mf.guide_id, '') AS key, sum(r.amount_fen)::bigint AS refunded
            FROM refund_facts r LEFT JOIN member_facts mf ON mf.brand_id = r.brand_id AND mf.member_id = r.member_id
            WHERE r.brand_id = $1 AND r.local_date BETWEEN $2 AND $3 AND r.member_id IS NOT NULL GROUP BY 1),
        per_member AS (SELECT key, member_id, CASE WHEN min(local_date) < max(local_date) THEN 2 ELSE 1 END AS d
                       FROM o GROUP BY key, member_id)
        SELECT key, (SELECT count(*) FROM o o2 WHERE o2.key = k.key) AS orders,
               ((SELECT coalesce(sum(total_fen), 0) FROM o o2 WHERE o2.key = k.key)
                - coalesce((SELECT refunded FROM r WHERE r.key = k.key), 0))::bigint AS revenue_fen,
               count(*) AS buyers, count(*) FILTER (WHERE d >= 2) AS repeat_buyers
        FROM per_member k GROUP BY key
        """
    return await pool.fetch(sql, brand_id, days.first, days.last)


async def cohort_activity(
    pool: asyncpg.Pool, brand_id: str, first: date, last: date, store_id: str | None
) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    """Cohort sizes by registration month, and (month, months after, active members) of those cohorts."""
    sizes = await pool.fetch(
        """
        SELECT date_trunc('month', registered_local_date)::date AS month, count(*) AS members
        FROM member_facts WHERE brand_id = $1 AND registered_local_date BETWEEN $2 AND $3
          AND ($4::text IS NULL OR store_id = $4)
        GROUP BY 1 ORDER BY 1
        """,
        brand_id,
        first,
        last,
        store_id,
    )
    activity = await pool.fetch(
        """
        SELECT date_trunc('month', m.registered_local_date)::date AS month,
               ((extract(year FROM o.local_date) - extract(year FROM m.registered_local_date)) * 12
                + extract(month FROM o.local_date) - extract(month FROM m.registered_local_date))::int AS k,
               count(DISTINCT o.member_id) AS active
        FROM member_facts m JOIN order_facts o ON o.brand_id = m.brand_id AND o.member_id = m.member_id
        WHERE m.brand_id = $1 AND m.registered_local_date BETWEEN $2 AND $3
          AND ($4::text IS NULL OR m.store_id = $4)
          AND o.local_date >= date_trunc('month', m.registered_local_date)
        GROUP BY 1, 2
        """,
        brand_id,
        first,
        last,
        store_id,
    )
    return sizes, activity


async def member_activity(pool: asyncpg.Pool, brand_id: str, first: date, last: date) -> list[asyncpg.Record]:
    """Per member of a window: last purchase day, purchase days and net spend (refunds of the window)."""
    return await pool.fetch(
        """
        WITH o AS (
            SELECT member_id, max(local_date) AS last_day, count(DISTINCT local_date) AS days,
                   sum(total_fen)::bigint AS spend
            FROM order_facts WHERE brand_id = $1 AND member_id IS NOT NULL AND local_date BETWEEN $2 AND $3
            GROUP BY member_id),
        r AS (
            SELECT member_id, sum(amount_fen)::bigint AS refunded FROM refund_facts
            WHERE brand_id = $1 AND member_id IS NOT NULL AND local_date BETWEEN $2 AND $3 GROUP BY member_id)
        SELECT o.member_id, o.last_day, o.days, o.spend - coalesce(r.refunded, 0) AS spend
        FROM o LEFT JOIN r USING (member_id)
        """,
        brand_id,
        first,
        last,
    )


async def registered_members(pool: asyncpg.Pool, brand_id: str, as_of: date) -> list[str]:
    """Members registered on or before a day."""
    rows = await pool.fetch(
        "SELECT member_id FROM member_facts WHERE brand_id = $1 AND registered_local_date <= $2", brand_id, as_of
    )
    return [r["member_id"] for r in rows]


async def purchased_items(
    pool: asyncpg.Pool, brand_id: str, days: DateRange, level: str
) -> list[asyncpg.Record]:
    """Distinct (member, item, day) of a range; the item is the line's sku or category."""
    column = "sku" if level == "sku" else "category"
    return await pool.fetch(
        f"""
        SELECT DISTINCT member_id, {column} AS item, local_date FROM order_line_facts
        WHERE brand_id = $1 AND member_id IS NOT NULL AND local_date BETWEEN $2 AND $3 AND {column} <> ''
        """,
        brand_id,
        days.first,
        days.last,
    )


async def store_daily(pool: asyncpg.Pool, brand_id: str, first: date, last: date) -> list[asyncpg.Record]:
    """Per store and day: net revenue, buyers, and buyers who had bought on an earlier day (returning)."""
    return await pool.fetch(
        """
        WITH firsts AS (
            SELECT member_id, min(local_date) AS first_day FROM order_facts
            WHERE brand_id = $1 AND member_id IS NOT NULL AND local_date <= $3 GROUP BY member_id),
        buyers AS (
            SELECT o.store_id, o.local_date, count(DISTINCT o.member_id) AS buyers,
                   count(DISTINCT o.member_id) FILTER (WHERE f.first_day < o.local_date) AS returning
            FROM order_facts o JOIN firsts f USING (member_id)
            WHERE o.brand_id = $1 AND o.local_date BETWEEN $2 AND $3 GROUP BY 1, 2)
        SELECT r.store_id, r.local_date, (r.revenue_fen - r.refunded_fen)::bigint AS revenue_fen,
               coalesce(b.buyers, 0) AS buyers, coalesce(b.returning, 0) AS returning
        FROM daily_store_rollup r LEFT JOIN buyers b USING (store_id, local_date)
        WHERE r.brand_id = $1 AND r.local_date BETWEEN $2 AND $3
        """,
        brand_id,
        first,
        last,
    )


async def purchase_days(pool: asyncpg.Pool, brand_id: str, last: date) -> list[asyncpg.Record]:
    """Every member's distinct purchase days up to ``last`` (the model's calibration data)."""
    return await pool.fetch(
        "SELECT DISTINCT member_id, local_date FROM order_facts"
        " WHERE brand_id = $1 AND member_id IS NOT NULL AND local_date <= $2",
        brand_id,
        last,
    )


async def member_order_values(pool: asyncpg.Pool, brand_id: str, last: date) -> dict[str, tuple[int, int]]:
    """Per member: (orders, net spend) up to ``last``, for the average order value of CLV."""
    rows = await pool.fetch(
        """
        SELECT o.member_id, count(*) AS orders,
               (sum(o.total_fen) - coalesce(max(r.refunded), 0))::bigint AS spend
        FROM order_facts o LEFT JOIN (
            SELECT member_id, sum(amount_fen) AS refunded FROM refund_facts
            WHERE brand_id = $1 AND local_date <= $2 GROUP BY member_id) r USING (member_id)
        WHERE o.brand_id = $1 AND o.member_id IS NOT NULL AND o.local_date <= $2 GROUP BY o.member_id
        """,
        brand_id,
        last,
    )
    return {r["member_id"]: (r["orders"], r["spend"]) for r in rows}


def window(as_of: date, days: int) -> DateRange:
    """The ``days`` days ending on ``as_of``."""
    return DateRange(as_of - timedelta(days=days - 1), as_of)
