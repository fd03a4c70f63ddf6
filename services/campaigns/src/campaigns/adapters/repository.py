"""The audience store in PostgreSQL. Every statement is scoped by ``brand_id``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from campaigns.domain.audience import Order, PurchaseFacts, fold_order
from campaigns.domain.segments import SPEND_WINDOW_DAYS

DEFAULT_TIMEZONE = "Asia/Shanghai"  # API.md: a brand's default timezone


@dataclass(frozen=True)
class Profile:
    """The profile part of an audience member, as registration describes it."""

    store_id: str | None
    guide_id: str | None
    gender: str | None
    birthday: date | None
    registered_at: datetime | None
    consents: Mapping[str, bool]


@dataclass(frozen=True)
class AudienceRow:
    """One member of the audience store."""

    brand_id: str
    member_id: str
    profile: Profile
    facts: PurchaseFacts
    tags: list[str]
    tier: str | None
    points_balance: int
    spend_90d_fen: int


async def upsert_profile(conn: asyncpg.Connection, brand_id: str, member_id: str, profile: Profile,
                         as_of: datetime, *, tags: Sequence[str] | None = None,
                         attributes: Mapping[str, str] | None = None) -> None:
    """Write the profile columns as of ``as_of``, keeping the purchase facts earlier orders left.

    A profile older than the one stored (a late or redelivered event) changes nothing but a missing
    registration time; an erased member's row is never given a profile again. ``tags`` and ``attributes``
    are only known from ``MemberUpdated`` (None: keep them).
    """
    await conn.execute(
        """
        INSERT INTO audience_members AS a
            (brand_id, member_id, store_id, guide_id, gender, birthday, registered_at, consents, profile_as_of,
             tags, attributes)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, coalesce($10::text[], '{}'), coalesce($11::jsonb, '{}'))
        ON CONFLICT (brand_id, member_id) DO UPDATE SET
            registered_at = coalesce(a.registered_at, EXCLUDED.registered_at),
            store_id = CASE WHEN a.newer THEN EXCLUDED.store_id ELSE a.store_id END,
            guide_id = CASE WHEN a.newer THEN EXCLUDED.guide_id ELSE a.guide_id END,
            gender = CASE WHEN a.newer THEN EXCLUDED.gender ELSE a.gender END,
            birthday = CASE WHEN a.newer THEN EXCLUDED.birthday ELSE a.birthday END,
            consents = CASE WHEN a.newer THEN EXCLUDED.consents ELSE a.consents END,
            tags = CASE WHEN a.newer AND $10::text[] IS NOT NULL THEN EXCLUDED.tags ELSE a.tags END,
            attributes = CASE WHEN a.newer AND $11::jsonb IS NOT NULL THEN EXCLUDED.attributes ELSE a.attributes END,
            profile_as_of = greatest(a.profile_as_of, EXCLUDED.profile_as_of),
            updated_at = now()
        WHERE a.erased_at IS NULL
        """.replace("a.newer", "(a.profile_as_of IS NULL OR a.profile_as_of <= EXCLUDED.profile_as_of)"),
        brand_id,
        member_id,
        profile.store_id,
        profile.guide_id,
        profile.gender,
        profile.birthday,
        profile.registered_at,
        json.dumps(dict(profile.consents)),
        as_of,
        list(tags) if tags is not None else None,
        json.dumps(dict(attributes)) if attributes is not None else None,
    )


async def transfer(conn: asyncpg.Connection, brand_id: str, member_ids: Sequence[str], store_id: str | None,
                   guide_id: str | None, as_of: datetime) -> None:
    """Members moved to another store and guide (a clerk left); a newer profile already stored wins."""
    await conn.execute(
        """
        UPDATE audience_members SET store_id = coalesce($3, store_id), guide_id = $4,
            profile_as_of = $5, updated_at = now()
        WHERE brand_id = $1 AND member_id = ANY($2::text[]) AND erased_at IS NULL
          AND (profile_as_of IS NULL OR profile_as_of <= $5)
        """,
        brand_id, list(member_ids), store_id, guide_id, as_of,
    )


async def erase(conn: asyncpg.Connection, brand_id: str, member_id: str, at: datetime) -> None:
    """PIPL erasure: the profile goes, anonymous counts stay, and the member never selects again (a
    tombstone row is left even when nothing was known, so a late event cannot bring them back)."""
    await conn.execute(
        """
        INSERT INTO audience_members (brand_id, member_id, erased_at) VALUES ($1, $2, $3)
        ON CONFLICT (brand_id, member_id) DO UPDATE SET
            erased_at = EXCLUDED.erased_at, gender = NULL, birthday = NULL, guide_id = NULL,
            consents = '{}', tags = '{}', attributes = '{}', updated_at = now()
        """,
        brand_id, member_id, at,
    )


async def merge(conn: asyncpg.Connection, brand_id: str, survivor_id: str, merged_id: str, at: datetime) -> None:
    """Fold the merged member's purchase facts into the survivor's and retire the merged id."""
    merged = await conn.fetchrow(
        """
        SELECT order_count, total_spend_fen, first_purchase_at, last_purchase_at FROM audience_members
        WHERE brand_id = $1 AND member_id = $2 AND erased_at IS NULL FOR UPDATE
        """,
        brand_id, merged_id,
    )
    # The merged id is retired like an erased one: a late event about it never selects it again.
    await erase(conn, brand_id, merged_id, at)
    await conn.execute(
        "UPDATE audience_members SET order_count = 0, total_spend_fen = 0, first_purchase_at = NULL,"
        " last_purchase_at = NULL WHERE brand_id = $1 AND member_id = $2",
        brand_id, merged_id,
    )
    if merged is None:
        return  # already merged (a redelivery) or never known here
    await conn.execute(
        """
        INSERT INTO audience_members AS a
            (brand_id, member_id, order_count, total_spend_fen, first_purchase_at, last_purchase_at)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (brand_id, member_id) DO UPDATE SET
            order_count = a.order_count + EXCLUDED.order_count,
            total_spend_fen = a.total_spend_fen + EXCLUDED.total_spend_fen,
            first_purchase_at = least(a.first_purchase_at, EXCLUDED.first_purchase_at),
            last_purchase_at = greatest(a.last_purchase_at, EXCLUDED.last_purchase_at),
            updated_at = now()
        """,
        brand_id, survivor_id, merged["order_count"], merged["total_spend_fen"], merged["first_purchase_at"],
        merged["last_purchase_at"],
    )
    await conn.execute(
        """
        WITH moved AS (DELETE FROM audience_daily_spend WHERE brand_id = $1 AND member_id = $2
                       RETURNING day, spend_fen)
        INSERT INTO audience_daily_spend AS d (brand_id, member_id, day, spend_fen)
        SELECT $1, $3, day, spend_fen FROM moved
        ON CONFLICT (brand_id, member_id, day) DO UPDATE SET spend_fen = d.spend_fen + EXCLUDED.spend_fen
        """,
        brand_id, merged_id, survivor_id,
    )


async def set_points_balance(conn: asyncpg.Connection, brand_id: str, member_id: str, balance: int,
                             as_of: datetime) -> None:
    """The member's points balance after a ledger change, unless a newer balance is already stored."""
    await conn.execute(
        """
        INSERT INTO audience_members AS a (brand_id, member_id, points_balance, points_as_of)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (brand_id, member_id) DO UPDATE SET points_balance = EXCLUDED.points_balance,
            points_as_of = EXCLUDED.points_as_of, updated_at = now()
        WHERE a.points_as_of IS NULL OR a.points_as_of <= EXCLUDED.points_as_of
        """,
        brand_id, member_id, balance, as_of,
    )


async def set_tier(conn: asyncpg.Connection, brand_id: str, member_id: str, tier: str | None,
                   as_of: datetime) -> None:
    """The member's tier after a change, unless a newer one is already stored."""
    await conn.execute(
        """
        INSERT INTO audience_members AS a (brand_id, member_id, tier, tier_as_of) VALUES ($1, $2, $3, $4)
        ON CONFLICT (brand_id, member_id) DO UPDATE SET tier = EXCLUDED.tier, tier_as_of = EXCLUDED.tier_as_of,
            updated_at = now()
        WHERE a.tier_as_of IS NULL OR a.tier_as_of <= EXCLUDED.tier_as_of
        """,
        brand_id, member_id, tier, as_of,
    )


async def upsert_store(conn: asyncpg.Connection, brand_id: str, store_id: str,
                       location: tuple[float, float] | None) -> None:
    """A store and its location (None: unknown), for distance rules."""
    await conn.execute(
        """
        INSERT INTO audience_stores (brand_id, store_id, lat, lng) VALUES ($1, $2, $3, $4)
        ON CONFLICT (brand_id, store_id) DO UPDATE SET lat = EXCLUDED.lat, lng = EXCLUDED.lng
        """,
        brand_id, store_id, *(location or (None, None)),
    )


async def upsert_brand(conn: asyncpg.Connection, brand_id: str, timezone: str) -> None:
    """The brand's timezone: its calendar days are the days rules count in."""
    await conn.execute(
        "INSERT INTO audience_brands (brand_id, timezone) VALUES ($1, $2)"
        " ON CONFLICT (brand_id) DO UPDATE SET timezone = EXCLUDED.timezone",
        brand_id, timezone,
    )


async def brand_timezone(conn: asyncpg.Connection | asyncpg.Pool, brand_id: str) -> str:
    """The brand's timezone; brands created before campaigns heard of them use the default."""
    tz = await conn.fetchval("SELECT timezone FROM audience_brands WHERE brand_id = $1", brand_id)
    return tz or DEFAULT_TIMEZONE


async def add_daily_spend(conn: asyncpg.Connection, brand_id: str, member_id: str, day: date,
                          amount_fen: int) -> None:
    """Add an order's total (or subtract a refund) to the member's spend of ``day``."""
    await conn.execute(
        """
        INSERT INTO audience_daily_spend AS d (brand_id, member_id, day, spend_fen) VALUES ($1, $2, $3, $4)
        ON CONFLICT (brand_id, member_id, day) DO UPDATE SET spend_fen = d.spend_fen + EXCLUDED.spend_fen
        """,
        brand_id, member_id, day, amount_fen,
    )


async def apply_refund(conn: asyncpg.Connection, brand_id: str, member_id: str, amount_fen: int) -> None:
    """A refund lowers the member's total spend (the order still counts as an order)."""
    await conn.execute(
        "UPDATE audience_members SET total_spend_fen = total_spend_fen - $3, updated_at = now()"
        " WHERE brand_id = $1 AND member_id = $2",
        brand_id, member_id, amount_fen,
    )


async def apply_order(conn: asyncpg.Connection, brand_id: str, member_id: str, order: Order) -> PurchaseFacts:
    """Fold one order into the member's facts; must run inside a transaction.

    The row is created first (an order can precede the registration) and then locked, so two replicas
    folding orders of the same member serialise instead of losing an update.
    """
    await conn.execute(
        "INSERT INTO audience_members (brand_id, member_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        brand_id,
        member_id,
    )
    row = await conn.fetchrow(
        """
        SELECT order_count, total_spend_fen, first_purchase_at, last_purchase_at
        FROM audience_members WHERE brand_id = $1 AND member_id = $2 FOR UPDATE
        """,
        brand_id,
        member_id,
    )
    assert row is not None  # inserted or already present just above, and rows are never deleted here
    facts = fold_order(PurchaseFacts(**dict(row)), order)
    await conn.execute(
        """
        UPDATE audience_members SET
            order_count = $3, total_spend_fen = $4, first_purchase_at = $5, last_purchase_at = $6,
            updated_at = now()
        WHERE brand_id = $1 AND member_id = $2
        """,
        brand_id,
        member_id,
        facts.order_count,
        facts.total_spend_fen,
        facts.first_purchase_at,
        facts.last_purchase_at,
    )
    return facts


async def get_member(pool: asyncpg.Pool, brand_id: str, member_id: str, now: datetime) -> AudienceRow | None:
    """The member's row, or None when no event about them has arrived in this brand (or they were erased)."""
    row = await pool.fetchrow(
        """
        SELECT m.*, (SELECT coalesce(sum(s.spend_fen), 0)::bigint FROM audience_daily_spend s
                     WHERE s.brand_id = m.brand_id AND s.member_id = m.member_id
                       AND s.day > ($3::timestamptz AT TIME ZONE coalesce(b.timezone, $4))::date - $5::int)
               AS spend_90d_fen
        FROM audience_members m LEFT JOIN audience_brands b ON b.brand_id = m.brand_id
        WHERE m.brand_id = $1 AND m.member_id = $2 AND m.erased_at IS NULL
        """,
        brand_id, member_id, now, DEFAULT_TIMEZONE, SPEND_WINDOW_DAYS,
    )
    if row is None:
        return None
    return AudienceRow(
        brand_id=row["brand_id"],
        member_id=row["member_id"],
        profile=Profile(
            store_id=row["store_id"],
            guide_id=row["guide_id"],
            gender=row["gender"],
            birthday=row["birthday"],
            registered_at=row["registered_at"],
            consents=json.loads(row["consents"]),
        ),
        facts=PurchaseFacts(
            order_count=row["order_count"],
            total_spend_fen=row["total_spend_fen"],
            first_purchase_at=row["first_purchase_at"],
            last_purchase_at=row["last_purchase_at"],
        ),
        tags=list(row["tags"]),
        tier=row["tier"],
        points_balance=row["points_balance"],
        spend_90d_fen=row["spend_90d_fen"],
    )
