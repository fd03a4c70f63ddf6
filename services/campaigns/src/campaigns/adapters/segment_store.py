"""Saved segments and segment queries over the audience store (PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from campaigns.adapters import scoped
from campaigns.adapters.segment_sql import SegmentSql
from campaigns.domain.segments import Clock, Rule


@dataclass(frozen=True)
class SavedSegment:
    """One row of ``segments``."""

    id: str
    brand_id: str
    name: str
    rule: Any  # canonical JSON
    store_ids: tuple[str, ...]
    created_by: str
    created_at: datetime
    member_count: int


def selection(brand_id: str, rule: Rule, clock: Clock, stores: dict[str, tuple[float, float]],
               scope: Sequence[str] | None) -> tuple[str, list[Any]]:
    """The query of the member ids ``rule`` selects in the brand (and scope), with its parameters."""
    sql = SegmentSql(clock, stores, first_param=3)
    predicate = sql.predicate(rule)
    where = ["m.brand_id = $1", "m.erased_at IS NULL", "m.profile_as_of IS NOT NULL"]
    if scope is not None:
        where.append("m.store_id = ANY($2::text[])")
    else:
        where.append("$2::text[] IS NULL")  # keeps the numbering fixed
    query = f"SELECT m.member_id FROM audience_members m WHERE {' AND '.join(where)} AND {predicate}"
    return query, [brand_id, list(scope) if scope is not None else None, *sql.params]


async def preview(conn: asyncpg.Pool | asyncpg.Connection, brand_id: str, rule: Rule, clock: Clock,
                  stores: dict[str, tuple[float, float]], scope: Sequence[str] | None,
                  sample_size: int) -> tuple[int, list[str]]:
    """How many members ``rule`` selects now, and the first ``sample_size`` of their ids."""
    query, params = selection(brand_id, rule, clock, stores, scope)
    row = await conn.fetchrow(
        f"WITH sel AS MATERIALIZED ({query}) SELECT (SELECT count(*) FROM sel) AS n,"
        f" ARRAY(SELECT member_id FROM sel ORDER BY member_id LIMIT {int(sample_size)}) AS sample",
        *params,
    )
    assert row is not None
    return row["n"], list(row["sample"])


async def member_ids(conn: asyncpg.Pool | asyncpg.Connection, brand_id: str, rule: Rule, clock: Clock,
                     stores: dict[str, tuple[float, float]], scope: Sequence[str] | None) -> list[str]:
    """Every member id ``rule`` selects now, in id order."""
    query, params = selection(brand_id, rule, clock, stores, scope)
    return [r["member_id"] for r in await conn.fetch(f"{query} ORDER BY m.member_id", *params)]


async def store_locations(conn: asyncpg.Pool | asyncpg.Connection, brand_id: str,
                          store_ids: Sequence[str] | None) -> dict[str, tuple[float, float]]:
    """Known locations of the brand's stores (among ``store_ids``; None: all of them)."""
    rows = await conn.fetch(
        "SELECT store_id, lat, lng FROM audience_stores WHERE brand_id = $1"
        " AND ($2::text[] IS NULL OR store_id = ANY($2::text[])) AND lat IS NOT NULL AND lng IS NOT NULL",
        brand_id, list(store_ids) if store_ids is not None else None,
    )
    return {r["store_id"]: (r["lat"], r["lng"]) for r in rows}


def _segment(row: asyncpg.Record) -> SavedSegment:
    return SavedSegment(
        id=row["id"], brand_id=row["brand_id"], name=row["name"], rule=json.loads(row["rule"]),
        store_ids=tuple(row["store_ids"]), created_by=row["created_by"], created_at=row["created_at"],
        member_count=row["member_count"],
    )


async def insert_segment(conn: asyncpg.Pool | asyncpg.Connection, segment: SavedSegment) -> SavedSegment:
    """Store a new segment; returns it as stored."""
    row = await conn.fetchrow(
        """
        INSERT INTO segments (id, brand_id, name, rule, store_ids, created_by, created_at, member_count)
        VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8) RETURNING *
        """,
        segment.id, segment.brand_id, segment.name, json.dumps(segment.rule, ensure_ascii=False),
        list(segment.store_ids), segment.created_by, segment.created_at, segment.member_count,
    )
    assert row is not None
    return _segment(row)


async def get_segment(conn: asyncpg.Pool | asyncpg.Connection, brand_id: str, segment_id: str,
                      scope: Sequence[str] | None) -> SavedSegment | None:
    """The segment, or None outside the brand or the caller's scope."""
    row = await scoped.get_row(conn, "segments", brand_id, segment_id, scope)
    return _segment(row) if row is not None else None


async def list_segments(conn: asyncpg.Pool | asyncpg.Connection, brand_id: str, scope: Sequence[str] | None,
                        after: tuple[datetime, str] | None, limit: int) -> list[SavedSegment]:
    """The brand's segments in scope, newest first, after the cursor position ``after``."""
    return [_segment(r) for r in await scoped.list_rows(conn, "segments", brand_id, scope, after, limit)]
