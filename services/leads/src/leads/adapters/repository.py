"""PostgreSQL storage of leads and of the per-store round-robin cursor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from leads.domain.lead import NewLead, Stage


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


_COLUMNS = "id, brand_id, source, name, phone, interest, store_id, assignee_id, stage, created_at"


def _record(row: asyncpg.Record) -> LeadRecord:
    return LeadRecord(**{**dict(row), "stage": Stage(row["stage"])})


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


async def get_lead(conn: asyncpg.Connection | asyncpg.Pool, brand_id: str, lead_id: str) -> LeadRecord | None:
    """The lead with this id in this brand (None for another brand's lead: tenants never see each other)."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM leads WHERE brand_id = $1 AND id = $2", brand_id, lead_id
    )
    return None if row is None else _record(row)
