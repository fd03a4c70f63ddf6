"""The audience store in PostgreSQL. Every statement is scoped by ``brand_id``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from campaigns.domain.audience import Order, PurchaseFacts, fold_order


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


async def upsert_profile(conn: asyncpg.Connection, brand_id: str, member_id: str, profile: Profile) -> None:
    """Write the profile columns, keeping whatever purchase facts earlier orders left."""
    await conn.execute(
        """
        INSERT INTO audience_members
            (brand_id, member_id, store_id, guide_id, gender, birthday, registered_at, consents)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)
        ON CONFLICT (brand_id, member_id) DO UPDATE SET
            store_id = EXCLUDED.store_id,
            guide_id = EXCLUDED.guide_id,
            gender = EXCLUDED.gender,
            birthday = EXCLUDED.birthday,
            registered_at = EXCLUDED.registered_at,
            consents = EXCLUDED.consents,
            updated_at = now()
        """,
        brand_id,
        member_id,
        profile.store_id,
        profile.guide_id,
        profile.gender,
        profile.birthday,
        profile.registered_at,
        json.dumps(dict(profile.consents)),
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


async def get_member(pool: asyncpg.Pool, brand_id: str, member_id: str) -> AudienceRow | None:
    """The member's row, or None when no event about them has arrived in this brand."""
    row = await pool.fetchrow(
        "SELECT * FROM audience_members WHERE brand_id = $1 AND member_id = $2", brand_id, member_id
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
    )
