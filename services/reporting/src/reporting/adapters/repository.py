"""Fact tables and rollups in PostgreSQL. Every statement is scoped by ``brand_id``.

Writers run inside the inbox transaction of the event they apply, so a fact and its rollups commit together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import asyncpg

from reporting.domain.kpis import Counts, CouponCounts, DateRange, Scope


@dataclass(frozen=True)
class Line:
    """One order (or refund) line."""

    sku: str
    category: str
    quantity: int
    amount_fen: int


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
    lines: tuple[Line, ...] = field(default=())


@dataclass(frozen=True)
class RefundFact:
    """One refund; reduces revenue on its own brand-local day."""

    brand_id: str
    refund_id: str
    order_id: str
    store_id: str
    member_id: str | None
    occurred_at: datetime
    local_date: date
    amount_fen: int
    lines: tuple[Line, ...] = field(default=())


async def brand_timezone(conn: asyncpg.Connection, brand_id: str) -> str | None:
    """The cached timezone of a brand, or None when reporting has not learnt it yet."""
    return await conn.fetchval("SELECT timezone FROM brands WHERE brand_id = $1", brand_id)


async def save_brand(conn: asyncpg.Connection, brand_id: str, timezone: str, *, authoritative: bool) -> None:
    """Remember a brand's timezone.

    BrandCreated is authoritative and overwrites; a value fetched over gRPC only fills a gap, so a
    concurrent BrandCreated is never overwritten by a possibly older read.
    """
    conflict = "DO UPDATE SET timezone = EXCLUDED.timezone, updated_at = now()" if authoritative else "DO NOTHING"
    await conn.execute(
        f"INSERT INTO brands (brand_id, timezone) VALUES ($1, $2) ON CONFLICT (brand_id) {conflict}",
        brand_id,
        timezone,
    )


# One round trip for a run of orders, their lines, their rollups, points held for them and their members'
# purchase days: the fact builder's rate is bound by round trips (bench/bench_reporting.py), and every part
# depends only on which order rows were new. Rollups are summed per key first, since one statement may not
# update a row twice.
_ADD_ORDERS = """
WITH o AS (
    INSERT INTO order_facts (brand_id, order_id, store_id, member_id, occurred_at, local_date, total_fen)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::date[],
                         $7::bigint[])
    ON CONFLICT (brand_id, order_id) DO NOTHING
    RETURNING brand_id, order_id, store_id, member_id, local_date, total_fen),
l AS (
    SELECT * FROM unnest($8::text[], $9::text[], $10::int[], $11::text[], $12::text[], $13::int[], $14::bigint[])
        AS l(brand_id, order_id, line_no, sku, category, quantity, amount)),
store AS (
    INSERT INTO daily_store_rollup (brand_id, store_id, local_date, orders, revenue_fen)
    SELECT brand_id, store_id, local_date, count(*), sum(total_fen) FROM o GROUP BY 1, 2, 3
    ON CONFLICT (brand_id, local_date, store_id) DO UPDATE SET
        orders = daily_store_rollup.orders + EXCLUDED.orders,
        revenue_fen = daily_store_rollup.revenue_fen + EXCLUDED.revenue_fen),
lines AS (
    INSERT INTO order_line_facts (brand_id, order_id, line_no, store_id, member_id, local_date, sku, category,
                                  quantity, amount_fen)
    SELECT o.brand_id, o.order_id, l.line_no, o.store_id, o.member_id, o.local_date, l.sku, l.category, l.quantity,
           l.amount
    FROM o JOIN l USING (brand_id, order_id)),
categories AS (
    INSERT INTO daily_category_rollup (brand_id, store_id, local_date, category, orders, quantity, amount_fen)
    SELECT o.brand_id, o.store_id, o.local_date, l.category, count(DISTINCT o.order_id), sum(l.quantity),
           sum(l.amount)
    FROM o JOIN l USING (brand_id, order_id)
    GROUP BY 1, 2, 3, 4
    ON CONFLICT (brand_id, local_date, store_id, category) DO UPDATE SET
        orders = daily_category_rollup.orders + EXCLUDED.orders,
        quantity = daily_category_rollup.quantity + EXCLUDED.quantity,
        amount_fen = daily_category_rollup.amount_fen + EXCLUDED.amount_fen),
held AS (
    DELETE FROM pending_order_points p USING o WHERE p.brand_id = o.brand_id AND p.order_id = o.order_id
    RETURNING p.brand_id, p.order_id, p.points),
points AS (
    -- Points earned with an order count on its day and at its store.
    INSERT INTO daily_points_rollup (brand_id, local_date, store_id, issued)
    SELECT o.brand_id, o.local_date, o.store_id, sum(held.points) FROM held JOIN o USING (brand_id, order_id)
    GROUP BY 1, 2, 3
    ON CONFLICT (brand_id, local_date, store_id) DO UPDATE SET
        issued = daily_points_rollup.issued + EXCLUDED.issued),
new_days AS (
    SELECT brand_id, member_id, array_agg(DISTINCT local_date ORDER BY local_date) AS days
    FROM o WHERE member_id IS NOT NULL GROUP BY 1, 2),
days AS (
    -- Each member's purchase days, when some day is new to them. Upserting this row locks it and works on
    -- its latest committed version, so the day list below is exact even with concurrent consumers.
    INSERT INTO member_purchase_days AS m (brand_id, member_id, days)
    SELECT brand_id, member_id, days FROM new_days
    ON CONFLICT (brand_id, member_id) DO UPDATE
        SET days = (SELECT array_agg(DISTINCT d ORDER BY d) FROM unnest(m.days || EXCLUDED.days) AS d)
        WHERE NOT EXCLUDED.days <@ m.days
    RETURNING m.brand_id, m.member_id, m.days),
purchase_days AS (
    -- The new days, and the days whose previous two days include a new one (after a late order).
    INSERT INTO purchase_day_facts AS f (brand_id, member_id, local_date, prev_date, prev2_date)
    SELECT days.brand_id, days.member_id, s.day, s.prev, s.prev2
    FROM days JOIN new_days USING (brand_id, member_id),
         LATERAL (SELECT day, lag(day) OVER w AS prev, lag(day, 2) OVER w AS prev2
                  FROM unnest(days.days) AS day WINDOW w AS (ORDER BY day)) AS s
    WHERE s.day = ANY (new_days.days) OR s.prev = ANY (new_days.days) OR s.prev2 = ANY (new_days.days)
    ON CONFLICT (brand_id, member_id, local_date) DO UPDATE
        SET prev_date = EXCLUDED.prev_date, prev2_date = EXCLUDED.prev2_date)
SELECT coalesce(array_agg(brand_id || '/' || order_id), '{}') FROM o
"""


async def add_orders(conn: asyncpg.Connection, facts: Sequence[OrderFact]) -> list[bool]:
    """Insert each order's fact, lines and rollups once, in one statement; per fact, whether it was new.

    Same result as adding them one by one: a repeat of an order (here or earlier) is not counted again. The
    order id, not only the inbox, guards the rollups: a producer that re-emits an order under a new event id
    must still not count it twice. Points held for an order (see ``hold_order_points``) are booked on its day
    and store. Must run inside a transaction.
    """
    first: dict[tuple[str, str], OrderFact] = {}
    for fact in facts:
        first.setdefault((fact.brand_id, fact.order_id), fact)  # the first copy wins, as one by one
    orders = list(first.values())
    lines = [(f, n, line) for f in orders for n, line in enumerate(f.lines)]
    inserted = set(
        await conn.fetchval(
            _ADD_ORDERS,
            [f.brand_id for f in orders],
            [f.order_id for f in orders],
            [f.store_id for f in orders],
            [f.member_id for f in orders],
            [f.occurred_at for f in orders],
            [f.local_date for f in orders],
            [f.total_fen for f in orders],
            [f.brand_id for f, _, _ in lines],
            [f.order_id for f, _, _ in lines],
            [n for _, n, _ in lines],
            [line.sku for _, _, line in lines],
            [line.category for _, _, line in lines],
            [line.quantity for _, _, line in lines],
            [line.amount_fen for _, _, line in lines],
        )
    )
    out = []
    for fact in facts:
        key = f"{fact.brand_id}/{fact.order_id}"
        out.append(key in inserted)
        inserted.discard(key)
    return out


async def add_order(conn: asyncpg.Connection, fact: OrderFact) -> bool:
    """One order (see ``add_orders``); False when it was already counted."""
    [new] = await add_orders(conn, [fact])
    return new


async def hold_order_points(conn: asyncpg.Connection, brand_id: str, order_id: str, points: int) -> None:
    """Keep points earned by an order not seen yet; add_order books them on the order's day."""
    await conn.execute(
        "INSERT INTO pending_order_points (brand_id, order_id, points) VALUES ($1, $2, $3)"
        " ON CONFLICT (brand_id, order_id) DO UPDATE SET points = pending_order_points.points + EXCLUDED.points",
        brand_id,
        order_id,
        points,
    )


def allocate_refund(amount_fen: int, lines: list[tuple[str, int]]) -> dict[str, int]:
    """Split a refund without lines over the order's categories in proportion to their amounts.

    Integer fen: the remainder goes to the largest category, so the parts always sum to the refund.
    """
    total = sum(amount for _, amount in lines)
    if not lines or total <= 0:
        return {}
    shares: dict[str, int] = {}
    for category, amount in lines:
        shares[category] = shares.get(category, 0) + amount
    parts = {category: amount_fen * amount // total for category, amount in shares.items()}
    largest = max(shares, key=lambda c: shares[c])
    parts[largest] += amount_fen - sum(parts.values())
    return parts


async def add_refund(conn: asyncpg.Connection, fact: RefundFact) -> bool:
    """Insert a refund and subtract it from its day's rollups, once."""
    inserted = await conn.fetchval(
        """
        INSERT INTO refund_facts (brand_id, refund_id, order_id, store_id, member_id, occurred_at, local_date,
                                  amount_fen)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (brand_id, refund_id) DO NOTHING
        RETURNING true
        """,
        fact.brand_id,
        fact.refund_id,
        fact.order_id,
        fact.store_id,
        fact.member_id,
        fact.occurred_at,
        fact.local_date,
        fact.amount_fen,
    )
    if not inserted:
        return False
    await conn.execute(
        """
        INSERT INTO daily_store_rollup (brand_id, store_id, local_date, orders, revenue_fen, refunds, refunded_fen)
        VALUES ($1, $2, $3, 0, 0, 1, $4)
        ON CONFLICT (brand_id, local_date, store_id) DO UPDATE SET
            refunds = daily_store_rollup.refunds + 1,
            refunded_fen = daily_store_rollup.refunded_fen + EXCLUDED.refunded_fen
        """,
        fact.brand_id,
        fact.store_id,
        fact.local_date,
        fact.amount_fen,
    )
    if fact.lines:
        parts: dict[str, int] = {}
        for line in fact.lines:
            parts[line.category] = parts.get(line.category, 0) + line.amount_fen
    else:
        rows = await conn.fetch(
            "SELECT category, amount_fen FROM order_line_facts WHERE brand_id = $1 AND order_id = $2",
            fact.brand_id,
            fact.order_id,
        )
        parts = allocate_refund(fact.amount_fen, [(r["category"], r["amount_fen"]) for r in rows])
    await conn.executemany(
        """
        INSERT INTO daily_category_rollup (brand_id, store_id, local_date, category, refunded_fen)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (brand_id, local_date, store_id, category) DO UPDATE SET
            refunded_fen = daily_category_rollup.refunded_fen + EXCLUDED.refunded_fen
        """,
        [(fact.brand_id, fact.store_id, fact.local_date, c, amount) for c, amount in parts.items()],
    )
    return True


async def add_member(
    conn: asyncpg.Connection,
    brand_id: str,
    member_id: str,
    store_id: str | None,
    registered_at: datetime,
    registered_local_date: date,
    guide_id: str | None = None,
) -> None:
    """Record a registration (a repeat of the same member is ignored)."""
    await conn.execute(
        """
        INSERT INTO member_facts (brand_id, member_id, store_id, guide_id, registered_at, registered_local_date)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (brand_id, member_id) DO NOTHING
        """,
        brand_id,
        member_id,
        store_id,
        guide_id,
        registered_at,
        registered_local_date,
    )


async def move_members(
    conn: asyncpg.Connection, brand_id: str, member_ids: list[str], store_id: str | None, guide_id: str | None
) -> None:
    """Change the owning store (and guide) of members: transfers and profile updates."""
    await conn.execute(
        """
        UPDATE member_facts SET store_id = coalesce($3, store_id), guide_id = $4
        WHERE brand_id = $1 AND member_id = ANY($2::text[])
        """,
        brand_id,
        member_ids,
        store_id,
        guide_id,
    )


async def _recount_purchase_days(conn: asyncpg.Connection, brand_id: str, survivor: str, merged: str) -> None:
    """The survivor's purchase days from its order facts (now including the merged member's); the merged
    member has none left."""
    await conn.execute(
        "DELETE FROM member_purchase_days WHERE brand_id = $1 AND member_id = ANY($2::text[])",
        brand_id,
        [survivor, merged],
    )
    await conn.execute(
        "DELETE FROM purchase_day_facts WHERE brand_id = $1 AND member_id = ANY($2::text[])",
        brand_id,
        [survivor, merged],
    )
    await conn.execute(
        """
        WITH days AS (
            INSERT INTO member_purchase_days (brand_id, member_id, days)
            SELECT $1, $2, array_agg(DISTINCT local_date ORDER BY local_date) FROM order_facts
            WHERE brand_id = $1 AND member_id = $2 HAVING count(*) > 0
            RETURNING days)
        INSERT INTO purchase_day_facts (brand_id, member_id, local_date, prev_date, prev2_date)
        SELECT $1, $2, day, lag(day) OVER w, lag(day, 2) OVER w
        FROM days, unnest(days.days) AS day WINDOW w AS (ORDER BY day)
        """,
        brand_id,
        survivor,
    )


async def merge_members(conn: asyncpg.Connection, brand_id: str, survivor: str, merged: str) -> None:
    """Fold the merged member's facts into the survivor's; rollups (per store and day) do not change."""
    # Lock both members' purchase days first (in a fixed order), so an order of either committing meanwhile
    # is either in the order facts recounted below or waits and lands on the recounted days.
    await conn.execute(
        "SELECT 1 FROM member_purchase_days WHERE brand_id = $1 AND member_id = ANY($2::text[])"
        " ORDER BY member_id FOR UPDATE",
        brand_id,
        [survivor, merged],
    )
    for table in ("order_facts", "order_line_facts", "refund_facts", "coupon_facts", "tier_change_facts"):
        await conn.execute(
            f"UPDATE {table} SET member_id = $2 WHERE brand_id = $1 AND member_id = $3", brand_id, survivor, merged
        )
    await _recount_purchase_days(conn, brand_id, survivor, merged)
    await conn.execute(
        "DELETE FROM member_facts WHERE brand_id = $1 AND member_id = $2 "
        "AND EXISTS (SELECT 1 FROM member_facts WHERE brand_id = $1 AND member_id = $3)",
        brand_id,
        merged,
        survivor,
    )
    await conn.execute("DELETE FROM member_predictions WHERE brand_id = $1 AND member_id = $2", brand_id, merged)


async def forget_member_scores(conn: asyncpg.Connection, brand_id: str, member_id: str) -> None:
    """Erasure: drop what is derived about the person; anonymous sales facts stay (PIPL allows aggregates)."""
    await conn.execute("DELETE FROM member_predictions WHERE brand_id = $1 AND member_id = $2", brand_id, member_id)


async def change_tier(
    conn: asyncpg.Connection, brand_id: str, member_id: str, at: datetime, day: date, old: str, new: str, cause: str
) -> None:
    """A tier change: the member's current tier and a dated fact."""
    await conn.execute(
        "UPDATE member_facts SET tier = $3 WHERE brand_id = $1 AND member_id = $2", brand_id, member_id, new
    )
    await conn.execute(
        "INSERT INTO tier_change_facts (brand_id, member_id, changed_at, local_date, from_tier, to_tier, cause)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        brand_id,
        member_id,
        at,
        day,
        old,
        new,
        cause,
    )


async def add_points(
    conn: asyncpg.Connection,
    brand_id: str,
    day: date,
    *,
    store_id: str = "",
    issued: int = 0,
    redeemed: int = 0,
    expired: int = 0,
) -> None:
    """Add points to a day's rollup (issued with an order carry its store)."""
    await conn.execute(
        """
        INSERT INTO daily_points_rollup (brand_id, local_date, store_id, issued, redeemed, expired)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (brand_id, local_date, store_id) DO UPDATE SET
            issued = daily_points_rollup.issued + EXCLUDED.issued,
            redeemed = daily_points_rollup.redeemed + EXCLUDED.redeemed,
            expired = daily_points_rollup.expired + EXCLUDED.expired
        """,
        brand_id,
        day,
        store_id,
        issued,
        redeemed,
        expired,
    )


async def order_place(conn: asyncpg.Connection, brand_id: str, order_id: str) -> tuple[str, date] | None:
    """(store, local day) of a known order, or None."""
    row = await conn.fetchrow(
        "SELECT store_id, local_date FROM order_facts WHERE brand_id = $1 AND order_id = $2", brand_id, order_id
    )
    return (row["store_id"], row["local_date"]) if row else None


async def grant_coupon(
    conn: asyncpg.Connection, brand_id: str, code: str, template_id: str, member_id: str, day: date
) -> None:
    """A coupon grant (a redemption seen first keeps its date)."""
    await conn.execute(
        """
        INSERT INTO coupon_facts (brand_id, coupon_code, template_id, member_id, granted_local_date)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (brand_id, coupon_code) DO UPDATE SET granted_local_date = EXCLUDED.granted_local_date
        """,
        brand_id,
        code,
        template_id,
        member_id or None,
        day,
    )


async def redeem_coupon(
    conn: asyncpg.Connection, brand_id: str, code: str, template_id: str, member_id: str, day: date, store_id: str
) -> None:
    """A coupon redemption."""
    await conn.execute(
        """
        INSERT INTO coupon_facts (brand_id, coupon_code, template_id, member_id, redeemed_local_date, store_id)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (brand_id, coupon_code) DO UPDATE SET
            redeemed_local_date = EXCLUDED.redeemed_local_date, store_id = EXCLUDED.store_id
        """,
        brand_id,
        code,
        template_id,
        member_id or None,
        day,
        store_id or None,
    )


def _order_source(scope: Scope, first: int) -> tuple[str, list[object]]:
    """FROM/WHERE over order facts (or category lines) for a scope; parameters numbered from ``first``.

    ``$1`` is the brand; the date bounds are added by the caller.
    """
    table = "order_line_facts" if scope.category is not None else "order_facts"
    where = ["o.brand_id = $1", "o.member_id IS NOT NULL"]
    args: list[object] = []
    if scope.store_id is not None:
        args.append(scope.store_id)
        where.append(f"o.store_id = ${first + len(args) - 1}")
    if scope.category is not None:
        args.append(scope.category)
        where.append(f"o.category = ${first + len(args) - 1}")
    if scope.guide_id is not None:
        args.append(scope.guide_id)
        guide = f"${first + len(args) - 1}"
        where.append(f"o.member_id IN (SELECT member_id FROM member_facts WHERE brand_id = $1 AND guide_id = {guide})")
    return f"{table} AS o WHERE {' AND '.join(where)}", args


async def _buyers_and_churn(
    conn: asyncpg.Connection, brand_id: str, scope: Scope, days: DateRange, window: int
) -> tuple[int, int, int, int, int]:
    """(buyers, repeat buyers, active, churned, previous buyers) in one pass over the order facts.

    One scan covers both the range and the two churn windows ending on ``days.last``. A repeat buyer is one
    whose first and last purchase days of the range differ (same as "≥ 2 distinct days", but plain min/max
    instead of a count(DISTINCT)), so PostgreSQL streams the (brand, member, day) index through a group
    aggregate with no sort (bench/bench_reporting.py: 170 ms for a year of 1M orders; a larger work_mem
    tempts the planner into a slower hash aggregate).
    """
    source, args = _order_source(scope, 7)
    current_first = days.last - timedelta(days=window - 1)
    previous_first = current_first - timedelta(days=window)
    row = await conn.fetchrow(
        f"""
        SELECT count(*) FILTER (WHERE first_day IS NOT NULL) AS buyers,
               count(*) FILTER (WHERE first_day < last_day) AS repeat_buyers,
               count(*) FILTER (WHERE now_) AS active,
               count(*) FILTER (WHERE before AND NOT now_) AS churned,
               count(*) FILTER (WHERE before) AS previous
        FROM (SELECT o.member_id,
                     min(o.local_date) FILTER (WHERE o.local_date >= $2) AS first_day,
                     max(o.local_date) FILTER (WHERE o.local_date >= $2) AS last_day,
                     bool_or(o.local_date >= $5) AS now_,
                     bool_or(o.local_date BETWEEN $4 AND $5 - 1) AS before
              FROM {source} AND o.local_date BETWEEN $6 AND $3 GROUP BY o.member_id) AS per_member
        """,
        brand_id,
        days.first,
        days.last,
        previous_first,
        current_first,
        min(days.first, previous_first),
        *args,
    )
    return row["buyers"], row["repeat_buyers"], row["active"], row["churned"], row["previous"]


async def _purchase_day_counts(
    conn: asyncpg.Connection, brand_id: str, days: DateRange, window: int
) -> tuple[int, int, int, int, int]:
    """(buyers, repeat buyers, active, churned, previous buyers) of a whole brand: filtered counts, no grouping.

    Each purchase day carries the member's previous two (``purchase_day_facts``). Of a member's days in
    [A, B], exactly one has ``prev < A`` (its first there) and, when it has two or more there, exactly one
    more has ``prev2 < A`` (its second). So, with C the first day of the current churn window and P of the
    previous one:

    - buyers = #(day in [F, L], prev < F); repeat buyers = #(day in [F, L], prev2 < F) - buyers;
    - active = #(day in [C, L], prev < C); previous buyers = #(day in [P, C-1], prev < P);
    - members who bought in both windows = #(day in [C, L], P <= prev < C) = active - #(day in [C, L], prev < P),
      and churned = previous buyers - those.

    One index-only scan of the days in [min(F, P), L] (bench/bench_reporting.py: about half the time of the
    per-member grouping over the same year).
    """
    current_first = days.last - timedelta(days=window - 1)
    previous_first = current_first - timedelta(days=window)
    row = await conn.fetchrow(
        """
        SELECT count(*) FILTER (WHERE local_date >= $2 AND (prev_date IS NULL OR prev_date < $2)) AS buyers,
               count(*) FILTER (WHERE local_date >= $2 AND (prev2_date IS NULL OR prev2_date < $2)) AS second,
               count(*) FILTER (WHERE local_date >= $5 AND (prev_date IS NULL OR prev_date < $5)) AS active,
               count(*) FILTER (WHERE local_date >= $5 AND (prev_date IS NULL OR prev_date < $4)) AS new_or_back,
               count(*) FILTER (WHERE local_date BETWEEN $4 AND $5 - 1
                                  AND (prev_date IS NULL OR prev_date < $4)) AS previous
        FROM purchase_day_facts WHERE brand_id = $1 AND local_date BETWEEN $6 AND $3
        """,
        brand_id,
        days.first,
        days.last,
        previous_first,
        current_first,
        min(days.first, previous_first),
    )
    buyers, active, previous = row["buyers"], row["active"], row["previous"]
    both_windows = active - row["new_or_back"]
    return buyers, row["second"] - buyers, active, previous - both_windows, previous


async def count(pool: asyncpg.Pool, brand_id: str, days: DateRange, scope: Scope, churn_window_days: int) -> Counts:
    """Count every KPI input of a range and scope in one repeatable-read snapshot.

    The snapshot keeps the numbers consistent with each other while events keep arriving.
    """
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        if scope.guide_id is None and scope.category is None:
            sales = await conn.fetchrow(
                """
                SELECT coalesce(sum(orders), 0)::bigint AS orders, coalesce(sum(revenue_fen), 0)::bigint AS gross,
                       coalesce(sum(refunds), 0)::bigint AS refunds, coalesce(sum(refunded_fen), 0)::bigint AS refunded
                FROM daily_store_rollup
                WHERE brand_id = $1 AND local_date BETWEEN $2 AND $3 AND ($4::text IS NULL OR store_id = $4)
                """,
                brand_id,
                days.first,
                days.last,
                scope.store_id,
            )
        elif scope.guide_id is None:
            sales = await conn.fetchrow(
                """
                SELECT coalesce(sum(orders), 0)::bigint AS orders, coalesce(sum(amount_fen), 0)::bigint AS gross,
                       0::bigint AS refunds, coalesce(sum(refunded_fen), 0)::bigint AS refunded
                FROM daily_category_rollup
                WHERE brand_id = $1 AND local_date BETWEEN $2 AND $3 AND ($4::text IS NULL OR store_id = $4)
                  AND category = $5
                """,
                brand_id,
                days.first,
                days.last,
                scope.store_id,
                scope.category,
            )
        else:
            # A guide's figures follow the members they own now, so they come from the facts, not a rollup.
            source, args = _order_source(scope, 4)
            amount = "o.amount_fen" if scope.category is not None else "o.total_fen"
            orders = "count(DISTINCT o.order_id)" if scope.category is not None else "count(*)"
            sales = await conn.fetchrow(
                f"SELECT {orders} AS orders, coalesce(sum({amount}), 0)::bigint AS gross"
                f" FROM {source} AND o.local_date BETWEEN $2 AND $3",
                brand_id,
                days.first,
                days.last,
                *args,
            )
            refund_source, refund_args = _order_source(Scope(store_id=scope.store_id, guide_id=scope.guide_id), 4)
            refund_source = refund_source.replace("order_facts AS o", "refund_facts AS o")
            refunds = await conn.fetchrow(
                f"SELECT count(*) AS refunds, coalesce(sum(o.amount_fen), 0)::bigint AS refunded"
                f" FROM {refund_source} AND o.local_date BETWEEN $2 AND $3",
                brand_id,
                days.first,
                days.last,
                *refund_args,
            )
            sales = {**dict(sales), "refunds": refunds["refunds"], "refunded": refunds["refunded"]}
        if scope == Scope():
            buyers, repeat_buyers, active, churned, previous = await _purchase_day_counts(
                conn, brand_id, days, churn_window_days
            )
        else:
            buyers, repeat_buyers, active, churned, previous = await _buyers_and_churn(
                conn, brand_id, scope, days, churn_window_days
            )
        new_members = await conn.fetchval(
            """
            SELECT count(*) FROM member_facts
            WHERE brand_id = $1 AND registered_local_date BETWEEN $2 AND $3
              AND ($4::text IS NULL OR store_id = $4) AND ($5::text IS NULL OR guide_id = $5)
            """,
            brand_id,
            days.first,
            days.last,
            scope.store_id,
            scope.guide_id,
        )
        points = await conn.fetchrow(
            """
            SELECT coalesce(sum(issued), 0)::bigint AS issued, coalesce(sum(redeemed), 0)::bigint AS redeemed,
                   coalesce(sum(expired), 0)::bigint AS expired
            FROM daily_points_rollup
            WHERE brand_id = $1 AND local_date BETWEEN $2 AND $3 AND ($4::text IS NULL OR store_id = $4)
            """,
            brand_id,
            days.first,
            days.last,
            scope.store_id,
        )
        coupons = await conn.fetch(
            """
            SELECT template_id, count(*) AS granted, count(redeemed_local_date) AS redeemed
            FROM coupon_facts
            WHERE brand_id = $1 AND granted_local_date BETWEEN $2 AND $3
            GROUP BY template_id ORDER BY template_id
            """,
            brand_id,
            days.first,
            days.last,
        )
    return Counts(
        orders=sales["orders"],
        revenue_fen=sales["gross"] - sales["refunded"],
        buyers=buyers,
        repeat_buyers=repeat_buyers,
        new_members=new_members,
        gross_revenue_fen=sales["gross"],
        refunded_fen=sales["refunded"],
        refunds=sales["refunds"],
        active_members=active,
        churned_members=churned,
        previous_buyers=previous,
        churn_window_days=churn_window_days,
        points_issued=points["issued"],
        points_redeemed=points["redeemed"],
        points_expired=points["expired"],
        coupons=tuple(CouponCounts(r["template_id"], r["granted"], r["redeemed"]) for r in coupons),
    )
