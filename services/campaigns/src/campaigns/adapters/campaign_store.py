"""Campaigns, their recipients and attributed orders in PostgreSQL. Every statement is scoped by brand."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from campaigns.adapters import scoped
from campaigns.domain.campaign import Content, Outcomes

Conn = asyncpg.Pool | asyncpg.Connection


@dataclass(frozen=True)
class CampaignRecord:
    """One row of ``campaigns``."""

    id: str
    brand_id: str
    name: str
    segment_id: str
    channel: str
    content: Content
    status: str
    send_at: datetime | None
    attribution_days: int
    cost_per_message_fen: int
    store_ids: tuple[str, ...]
    created_by: str
    created_at: datetime
    activated_at: datetime | None
    audience: int
    journey_id: str | None = None  # set on a journey's daily run
    run_date: date | None = None


def content_json(content: Content) -> str:
    return json.dumps({"text": content.text, "subject": content.subject, "template_id": content.template_id,
                       "params": dict(content.params), "page": content.page}, ensure_ascii=False)


def _record(row: asyncpg.Record) -> CampaignRecord:
    content = json.loads(row["content"])
    return CampaignRecord(
        id=row["id"], brand_id=row["brand_id"], name=row["name"], segment_id=row["segment_id"],
        channel=row["channel"], content=Content(**content), status=row["status"], send_at=row["send_at"],
        attribution_days=row["attribution_days"], cost_per_message_fen=row["cost_per_message_fen"],
        store_ids=tuple(row["store_ids"]), created_by=row["created_by"], created_at=row["created_at"],
        activated_at=row["activated_at"], audience=row["audience"], journey_id=row["journey_id"],
        run_date=row["run_date"],
    )


async def insert_campaign(conn: Conn, c: CampaignRecord) -> CampaignRecord:
    """Store a new draft; a journey's run of a day that already has one answers the existing run."""
    row = await conn.fetchrow(
        """
        WITH ins AS (
            INSERT INTO campaigns (id, brand_id, name, segment_id, channel, content, send_at, attribution_days,
                                   cost_per_message_fen, store_ids, created_by, created_at, journey_id, run_date)
            VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11, $12, $13, $14)
            ON CONFLICT (journey_id, run_date) WHERE journey_id IS NOT NULL DO NOTHING
            RETURNING *)
        SELECT * FROM ins
        UNION ALL
        SELECT * FROM campaigns WHERE journey_id = $13 AND run_date = $14 AND NOT EXISTS (SELECT 1 FROM ins)
        """,
        c.id, c.brand_id, c.name, c.segment_id, c.channel, content_json(c.content), c.send_at,
        c.attribution_days, c.cost_per_message_fen, list(c.store_ids), c.created_by, c.created_at,
        c.journey_id, c.run_date,
    )
    assert row is not None
    return _record(row)


async def get_campaign(conn: Conn, brand_id: str, campaign_id: str, scope: Sequence[str] | None, *,
                       lock: bool = False) -> CampaignRecord | None:
    """The campaign, or None outside the brand or the caller's stores; ``lock`` takes its row lock."""
    row = await scoped.get_row(conn, "campaigns", brand_id, campaign_id, scope, lock=lock)
    return _record(row) if row is not None else None


async def list_campaigns(conn: Conn, brand_id: str, scope: Sequence[str] | None,
                         after: tuple[datetime, str] | None, limit: int) -> list[CampaignRecord]:
    """The brand's campaigns in scope, newest first, after the cursor position ``after``."""
    return [_record(r) for r in await scoped.list_rows(conn, "campaigns", brand_id, scope, after, limit)]


async def freeze_audience(conn: asyncpg.Connection, campaign_id: str, channel: str, selection: str,
                          params: Sequence[Any]) -> tuple[int, int]:
    """Insert one recipient per selected member: pending with consent for the channel, else suppressed.

    ``selection`` selects ``m.member_id`` from ``audience_members m`` with ``params``; returns (audience,
    pending).
    """
    n = len(params)
    row = await conn.fetchrow(
        f"""
        WITH chosen AS ({selection}),
        ins AS (
            INSERT INTO campaign_recipients (campaign_id, member_id, brand_id, status)
            SELECT ${n + 1}, m.member_id, m.brand_id,
                   CASE WHEN (m.consents ->> ${n + 2})::boolean IS TRUE THEN 'pending'
                        ELSE 'suppressed_no_consent' END
            FROM audience_members m JOIN chosen USING (member_id)
            WHERE m.brand_id = $1
            ON CONFLICT DO NOTHING
            RETURNING status)
        SELECT count(*) AS audience, count(*) FILTER (WHERE status = 'pending') AS pending FROM ins
        """,
        *params, campaign_id, channel,
    )
    assert row is not None
    return row["audience"], row["pending"]


async def schedule_sends(conn: asyncpg.Connection, campaign_id: str, brand_id: str, kind: str,
                         run_at: datetime) -> None:
    """One claimed job per pending recipient (keyed, so a repeat schedules nothing twice)."""
    await conn.execute(
        """
        INSERT INTO jobs (kind, key, run_at, payload)
        SELECT $2, $1 || ':' || member_id, $4,
               jsonb_build_object('campaign_id', $1::text, 'member_id', member_id, 'brand_id', $3::text)
        FROM campaign_recipients WHERE campaign_id = $1 AND status = 'pending'
        ON CONFLICT (kind, key) DO NOTHING
        """,
        campaign_id, kind, brand_id, run_at,
    )


async def mark_active(conn: asyncpg.Connection, campaign_id: str, at: datetime, by: str,
                      audience: int, pending: int) -> CampaignRecord:
    """The campaign is sending (or, with nothing pending, already completed)."""
    row = await conn.fetchrow(
        "UPDATE campaigns SET status = $5, activated_at = $2, activated_by = $3, audience = $4"
        " WHERE id = $1 RETURNING *",
        campaign_id, at, by, audience, "active" if pending else "completed",
    )
    assert row is not None
    return _record(row)


async def lock_recipient(conn: asyncpg.Connection, campaign_id: str, member_id: str) -> asyncpg.Record | None:
    """The recipient row, locked for this send."""
    return await conn.fetchrow(
        "SELECT * FROM campaign_recipients WHERE campaign_id = $1 AND member_id = $2 FOR UPDATE",
        campaign_id, member_id,
    )


async def lock_member_messages(conn: asyncpg.Connection, brand_id: str, member_id: str) -> None:
    """Serialise sends to one member (any campaign) so two workers cannot both pass the frequency cap."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0))", brand_id, member_id)


async def sent_since(conn: asyncpg.Connection, brand_id: str, member_id: str, since: datetime) -> int:
    """Marketing messages the member got since ``since``."""
    return await conn.fetchval(
        "SELECT count(*) FROM campaign_recipients"
        " WHERE brand_id = $1 AND member_id = $2 AND status = 'sent' AND sent_at >= $3",
        brand_id, member_id, since,
    )


async def finish_recipient(conn: asyncpg.Connection, campaign_id: str, member_id: str, status: str, *,
                           at: datetime | None = None, provider_message_id: str = "", detail: str = "",
                           attempts: int | None = None) -> None:
    """Record the recipient's outcome; the campaign completes when nothing is pending any more."""
    await conn.execute(
        "UPDATE campaign_recipients SET status = $3, sent_at = $4, provider_message_id = nullif($5, ''),"
        " detail = nullif($6, ''), attempts = coalesce($7, attempts) WHERE campaign_id = $1 AND member_id = $2",
        campaign_id, member_id, status, at, provider_message_id, detail[:300], attempts,
    )
    if status != "pending":
        # The campaign's row lock first: two workers finishing its last two recipients at once would each
        # see the other's still pending (neither committed) and neither would complete it.
        await conn.execute("SELECT 1 FROM campaigns WHERE id = $1 FOR NO KEY UPDATE", campaign_id)
        await conn.execute(
            "UPDATE campaigns SET status = 'completed' WHERE id = $1 AND status = 'active'"
            " AND NOT EXISTS (SELECT 1 FROM campaign_recipients WHERE campaign_id = $1 AND status = 'pending')",
            campaign_id,
        )


async def attribute_order(conn: asyncpg.Connection, brand_id: str, member_id: str, order_id: str,
                          revenue_fen: int, occurred_at: datetime) -> str | None:
    """Credit the order to the latest campaign message its member got within that campaign's window."""
    return await conn.fetchval(
        """
        INSERT INTO campaign_conversions (campaign_id, brand_id, order_id, member_id, revenue_fen, occurred_at)
        SELECT r.campaign_id, $1, $3, $2, $4, $5
        FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id
        WHERE r.brand_id = $1 AND r.member_id = $2 AND r.status = 'sent' AND r.sent_at <= $5
          AND $5 < r.sent_at + make_interval(days => c.attribution_days)
        ORDER BY r.sent_at DESC LIMIT 1
        ON CONFLICT (brand_id, order_id) DO NOTHING
        RETURNING campaign_id
        """,
        brand_id, member_id, order_id, revenue_fen, occurred_at,
    )


async def refund_conversion(conn: asyncpg.Connection, brand_id: str, order_id: str, amount_fen: int) -> None:
    """A refund of an attributed order takes its amount off the campaign's revenue."""
    await conn.execute(
        "UPDATE campaign_conversions SET revenue_fen = revenue_fen - $3 WHERE brand_id = $1 AND order_id = $2",
        brand_id, order_id, amount_fen,
    )


async def outcomes(conn: Conn, campaign_ids: Sequence[str], audience: int) -> Outcomes:
    """The delivery counts of campaigns (one, or a journey's runs)."""
    rows = await conn.fetch(
        "SELECT status, count(*) AS n FROM campaign_recipients WHERE campaign_id = ANY($1::text[]) GROUP BY status",
        list(campaign_ids),
    )
    counts = {r["status"]: r["n"] for r in rows}
    return Outcomes(audience=audience, pending=counts.get("pending", 0), sent=counts.get("sent", 0),
                    failed=counts.get("failed", 0),
                    suppressed_no_consent=counts.get("suppressed_no_consent", 0),
                    suppressed_frequency_cap=counts.get("suppressed_frequency_cap", 0))


async def conversions(conn: Conn, campaign_ids: Sequence[str]) -> tuple[int, int, int]:
    """(attributed orders, distinct converted members, revenue in fen) of campaigns."""
    row = await conn.fetchrow(
        # An order refunded in full no longer counts as a conversion (its revenue is 0).
        "SELECT count(*) FILTER (WHERE revenue_fen > 0) AS orders,"
        " count(DISTINCT member_id) FILTER (WHERE revenue_fen > 0) AS members,"
        " coalesce(sum(revenue_fen), 0)::bigint AS revenue FROM campaign_conversions"
        " WHERE campaign_id = ANY($1::text[])",
        list(campaign_ids),
    )
    assert row is not None
    return row["orders"], row["members"], row["revenue"]


async def journey_runs(conn: Conn, journey_id: str) -> list[CampaignRecord]:
    """A journey's daily runs, newest first."""
    rows = await conn.fetch("SELECT * FROM campaigns WHERE journey_id = $1 ORDER BY run_date DESC", journey_id)
    return [_record(r) for r in rows]
