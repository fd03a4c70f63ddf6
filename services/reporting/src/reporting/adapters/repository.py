"""Fact tables and rollups in PostgreSQL. Every statement is scoped by ``brand_id``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from reporting.domain.kpis import Counts, DateRange


@dataclass(frozen=True)
class OrderFact:
    """One order as reporting keeps it."""

    brand_id: str
    order_id: str
    store_id: str
    member_id: str | None
    occurred_at: datetime
    local_date: date
    total_fen: int


async def brand_timezone(conn: asyncpg.Connection, brand_id: str) -> str | None:
    """The cached timezone of a brand, or None when reporting has not learnt it yet."""
    return await conn.fetchval("SELECT timezone FROM brands WHERE brand_id = $1", brand_id)


async def save_brand(conn: asyncpg.Connection, brand_id: str, timezone: str, *, authoritative: bool) -> None:
    """Remember a brand's timezone.

    BrandCreated is authoritative and overwrites; a value fetched over gRPC only fills a gap, so a
    concurrent BrandCreated is never overwritten by a possibly older read.
    """
    conflict = (
        "DO UPDATE SET timezone = EXCLUDED.timezone, updated_at = now()" if authoritative else "DO NOTHING"
    )
    await conn.execute(
        f"INSERT INTO brands (brand_id, timezone) VALUES ($1, $2) ON CONFLICT (brand_id) {conflict}",
        brand_id,
        timezone,
    )


async def add_order(conn: asyncpg.Connection, fact: OrderFact) -> bool:
    """Insert the fact and add it to its day's rollup, once; False when the order was already counted.

    The order id, not only the inbox, guards the rollup: a producer that re-emits an order under a new
    event id must still not count it twice. Must run inside a transaction.
    """
    inserted = await conn.fetchval(
        """
        INSERT INTO order_facts (brand_id, order_id, store_id, member_id, occurred_at, local_date, total_fen)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (brand_id, order_id) DO NOTHING
        RETURNING true
        """,
        fact.brand_id,
        fact.order_id,
        fact.store_id,
        fact.member_id,
        fact.occurred_at,
        fact.local_date,
        fact.total_fen,
    )
    if not inserted:
        return False
    await conn.execute(
        """
        INSERT INTO daily_store_rollup (brand_id, store_id, local_date, orders, revenue_fen)
        VALUES ($1, $2, $3, 1, $4)
        ON CONFLICT (brand_id, local_date, store_id) DO UPDATE SET
            orders = daily_store_rollup.orders + 1,
            revenue_fen = daily_store_rollup.revenue_fen + EXCLUDED.revenue_fen
        """,
        fact.brand_id,
        fact.store_id,
        fact.local_date,
        fact.total_fen,
    )
    return True


async def add_member(
    conn: asyncpg.Connection,
    brand_id: str,
    member_id: str,
    store_id: str | None,
    registered_at: datetime,
    registered_local_date: date,
) -> None:
    """Record a registration (a repeat of the same member is ignored)."""
    await conn.execute(
        """
        INSERT INTO member_facts (brand_id, member_id, store_id, registered_at, registered_local_date)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (brand_id, member_id) DO NOTHING
        """,
        brand_id,
        member_id,
        store_id,
        registered_at,
        registered_local_date,
    )


async def count(pool: asyncpg.Pool, brand_id: str, days: DateRange, store_id: str | None) -> Counts:
    """Count orders, revenue, buyers, repeat buyers and new members of a range (and store).

    One repeatable-read snapshot, so the numbers agree with each other while events keep arriving.
    """
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        sales = await conn.fetchrow(
            """
            SELECT coalesce(sum(orders), 0)::bigint AS orders,
                   coalesce(sum(revenue_fen), 0)::bigint AS revenue
            FROM daily_store_rollup
            WHERE brand_id = $1 AND local_date BETWEEN $2 AND $3 AND ($4::text IS NULL OR store_id = $4)
            """,
            brand_id,
            days.first,
            days.last,
            store_id,
        )
        buyers = await conn.fetchrow(
            """
            SELECT count(*) AS buyers, count(*) FILTER (WHERE purchase_days >= 2) AS repeat_buyers
            FROM (
                SELECT member_id, count(DISTINCT local_date) AS purchase_days
                FROM order_facts
                WHERE brand_id = $1 AND local_date BETWEEN $2 AND $3 AND member_id IS NOT NULL
                  AND ($4::text IS NULL OR store_id = $4)
                GROUP BY member_id
            ) AS per_member
            """,
            brand_id,
            days.first,
            days.last,
            store_id,
        )
        new_members = await conn.fetchval(
            """
            SELECT count(*) FROM member_facts
            WHERE brand_id = $1 AND registered_local_date BETWEEN $2 AND $3
              AND ($4::text IS NULL OR store_id = $4)
            """,
            brand_id,
            days.first,
            days.last,
            store_id,
        )
    return Counts(
        orders=sales["orders"],
        revenue_fen=sales["revenue"],
        buyers=buyers["buyers"],
        repeat_buyers=buyers["repeat_buyers"],
        new_members=new_members,
    )
