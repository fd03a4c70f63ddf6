"""PostgreSQL storage of leads, their follow-ups and stage history, and the per-store round-robin cursor."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from leads.domain.followup import Channel, NewFollowUp
from leads.domain.lead import NewLead, Stage

Db = asyncpg.Connection | asyncpg.Pool


@dataclass(frozen=True)
class LeadRecord:
    """A stored lead."""

    id: str
    brand_id: str
    source: str
    name: str
    phone: str
    interest: str
    store_id: str
    assignee_id: str
    stage: Stage
    created_at: datetime
    stage_changed_at: datetime
    next_follow_up_at: datetime | None
    last_follow_up_at: datetime | None
    follow_up_count: int


@dataclass(frozen=True)
class FollowUpRecord:
    """A stored follow-up."""

    id: str
    brand_id: str
    lead_id: str
    author_id: str
    note: str
    channel: Channel
    next_follow_up_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class StoredKey:
    """The follow-up an idempotency key already produced, and the fingerprint of its request."""

    follow_up: FollowUpRecord
    fingerprint: str


_COLUMNS = (
    "id, brand_id, source, name, phone, interest, store_id, assignee_id, stage, created_at, stage_changed_at,"
    " next_follow_up_at, last_follow_up_at, follow_up_count"
)
_FOLLOW_UP_COLUMNS = "id, brand_id, lead_id, author_id, note, channel, next_follow_up_at, created_at"


def _record(row: asyncpg.Record) -> LeadRecord:
    return LeadRecord(**{**dict(row), "stage": Stage(row["stage"])})


def _follow_up(row: asyncpg.Record) -> FollowUpRecord:
    return FollowUpRecord(**{**dict(row), "channel": Channel(row["channel"])})


async def lock_cursor(conn: asyncpg.Connection, brand_id: str, store_id: str) -> int | None:
    """Lock the store's cursor row until the transaction ends and return its last index (None if new).

    The row is created first (a no-op when it exists) because FOR UPDATE cannot lock a row that is not
    there: two first-ever leads of a store would otherwise both see "no cursor" and pick the same clerk.
    -1 stands for "nobody assigned yet" so the first lead gets index 0.
    """
    await conn.execute(
        "INSERT INTO store_assignment_cursor (brand_id, store_id, last_index) VALUES ($1, $2, -1)"
        " ON CONFLICT (brand_id, store_id) DO NOTHING",
        brand_id,
        store_id,
    )
    last = await conn.fetchval(
        "SELECT last_index FROM store_assignment_cursor WHERE brand_id = $1 AND store_id = $2 FOR UPDATE",
        brand_id,
        store_id,
    )
    return None if last < 0 else int(last)


async def save_cursor(conn: asyncpg.Connection, brand_id: str, store_id: str, last_index: int) -> None:
    """Remember the index just assigned (the row is locked by ``lock_cursor``)."""
    await conn.execute(
        "UPDATE store_assignment_cursor SET last_index = $3, updated_at = now()"
        " WHERE brand_id = $1 AND store_id = $2",
        brand_id,
        store_id,
        last_index,
    )


async def insert_lead(
    conn: asyncpg.Connection, lead_id: str, lead: NewLead, store_id: str, assignee_id: str
) -> LeadRecord:
    """Store a new lead in stage ``new`` and return it as stored."""
    row = await conn.fetchrow(
        "INSERT INTO leads"
        " (brand_id, id, source, name, phone, interest, city, lat, lng, store_id, assignee_id)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        f" RETURNING {_COLUMNS}",
        lead.brand_id,
        lead_id,
        lead.source,
        lead.name,
        lead.phone,
        lead.interest,
        lead.city,
        lead.location.lat if lead.location else None,
        lead.location.lng if lead.location else None,
        store_id,
        assignee_id,
    )
    return _record(row)


async def get_lead(
    conn: Db, brand_id: str, lead_id: str, store_ids: Sequence[str] | None = None, *, lock: bool = False
) -> LeadRecord | None:
    """The lead with this id in this brand and, when ``store_ids`` is given, in one of those stores.

    None for another brand's or another store's lead: a caller never learns that it exists. ``lock`` takes
    the row FOR UPDATE until the transaction ends, so changes to one lead queue instead of racing.
    """
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM leads WHERE brand_id = $1 AND id = $2"
        " AND ($3::text[] IS NULL OR store_id = ANY($3::text[]))" + (" FOR UPDATE" if lock else ""),
        brand_id,
        lead_id,
        None if store_ids is None else list(store_ids),
    )
    return None if row is None else _record(row)


async def list_leads(
    conn: Db,
    brand_id: str,
    *,
    assignee_id: str = "",
    stage: Stage | None = None,
    store_id: str = "",
    store_ids: Sequence[str] | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int,
) -> list[LeadRecord]:
    """Up to ``limit`` leads, newest first, after the ``(created_at, id)`` position ``after``.

    Only the filters given become predicates: one statement with "$n = '' OR ..." for every filter would be
    planned once for all of them, and the generic plan could not pick the assignee or store index.
    """
    where = ["brand_id = $1"]
    args: list[object] = [brand_id]

    def arg(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    if assignee_id:
        where.append(f"assignee_id = {arg(assignee_id)}")
    if stage is not None:
        where.append(f"stage = {arg(str(stage))}")
    if store_id:
        where.append(f"store_id = {arg(store_id)}")
    if store_ids is not None:
        where.append(f"store_id = ANY({arg(list(store_ids))}::text[])")
    if after is not None:
        where.append(f"(created_at, id) < ({arg(after[0])}::timestamptz, {arg(after[1])})")
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM leads WHERE {' AND '.join(where)}"
        f" ORDER BY created_at DESC, id DESC LIMIT {arg(limit)}",
        *args,
    )
    return [_record(row) for row in rows]


async def set_stage(
    conn: asyncpg.Connection,
    lead: LeadRecord,
    stage: Stage,
    *,
    changed_by: str,
    reason: str = "",
    follow_up_id: str | None = None,
) -> LeadRecord:
    """Move a (locked) lead to ``stage`` and append the change to its history; closing clears the plan."""
    row = await conn.fetchrow(
        "UPDATE leads SET stage = $3, stage_changed_at = now(),"
        " next_follow_up_at = CASE WHEN $4 THEN NULL ELSE next_follow_up_at END"
        f" WHERE brand_id = $1 AND id = $2 RETURNING {_COLUMNS}",
        lead.brand_id,
        lead.id,
        str(stage),
        stage.closed,
    )
    await conn.execute(
        "INSERT INTO lead_stage_changes (brand_id, lead_id, from_stage, to_stage, changed_by, reason, follow_up_id)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        lead.brand_id,
        lead.id,
        str(lead.stage),
        str(stage),
        changed_by,
        reason,
        follow_up_id,
    )
    return _record(row)


async def find_keyed_follow_up(conn: asyncpg.Connection, brand_id: str, key: str) -> StoredKey | None:
    """The follow-up that ``key`` already produced in this brand, with its request's fingerprint."""
    row = await conn.fetchrow(
        f"SELECT {_FOLLOW_UP_COLUMNS}, fingerprint FROM lead_follow_ups"
        " WHERE brand_id = $1 AND idempotency_key = $2",
        brand_id,
        key,
    )
    if row is None:
        return None
    values = dict(row)
    fingerprint = values.pop("fingerprint")
    return StoredKey(follow_up=FollowUpRecord(**{**values, "channel": Channel(values["channel"])}),
                     fingerprint=fingerprint)


async def insert_follow_up(
    conn: asyncpg.Connection,
    follow_up_id: str,
    lead: LeadRecord,
    follow_up: NewFollowUp,
    *,
    author_id: str,
    key: str = "",
    fingerprint: str = "",
) -> tuple[FollowUpRecord, LeadRecord] | None:
    """Store a follow-up and bring the (locked) lead's plan and counters up to date; both as stored.

    None when ``key`` was taken meanwhile by a concurrent request for another lead (the lead lock orders
    requests for the same lead, so that one was seen by ``find_keyed_follow_up``).
    """
    row = await conn.fetchrow(
        "INSERT INTO lead_follow_ups"
        " (brand_id, id, lead_id, author_id, note, channel, next_follow_up_at, idempotency_key, fingerprint)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (brand_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING"
        f" RETURNING {_FOLLOW_UP_COLUMNS}",
        lead.brand_id,
        follow_up_id,
        lead.id,
        author_id,
        follow_up.note,
        str(follow_up.channel),
        follow_up.next_follow_up_at,
        key or None,
        fingerprint or None,
    )
    if row is None:
        return None
    record = _follow_up(row)
    updated = await conn.fetchrow(
        "UPDATE leads SET next_follow_up_at = $3, last_follow_up_at = $4, follow_up_count = follow_up_count + 1"
        f" WHERE brand_id = $1 AND id = $2 RETURNING {_COLUMNS}",
        lead.brand_id,
        lead.id,
        record.next_follow_up_at,
        record.created_at,
    )
    return record, _record(updated)


async def list_follow_ups(
    conn: Db, brand_id: str, lead_id: str, *, after: tuple[datetime, str] | None = None, limit: int
) -> list[FollowUpRecord]:
    """Up to ``limit`` follow-ups of a lead, newest first, after the ``(created_at, id)`` position ``after``."""
    rows = await conn.fetch(
        f"SELECT {_FOLLOW_UP_COLUMNS} FROM lead_follow_ups WHERE brand_id = $1 AND lead_id = $2"
        " AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::text))"
        " ORDER BY created_at DESC, id DESC LIMIT $5",
        brand_id,
        lead_id,
        after[0] if after else None,
        after[1] if after else "",
        limit,
    )
    return [_follow_up(row) for row in rows]
