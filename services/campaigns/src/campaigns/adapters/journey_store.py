"""Journeys in PostgreSQL. Every statement is scoped by brand."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from campaigns.adapters import scoped
from campaigns.adapters.campaign_store import content_json
from campaigns.domain.campaign import Content

Conn = asyncpg.Pool | asyncpg.Connection


@dataclass(frozen=True)
class JourneyRecord:
    """One row of ``journeys`` and how many daily runs it has had."""

    id: str
    brand_id: str
    name: str
    trigger: str
    days: int
    extra_rule: Any | None
    segment_id: str
    channel: str
    content: Content
    status: str
    attribution_days: int
    cost_per_message_fen: int
    store_ids: tuple[str, ...]
    created_by: str
    created_at: datetime
    next_run_at: datetime | None
    runs: int = 0


def _record(row: asyncpg.Record, runs: int = 0) -> JourneyRecord:
    return JourneyRecord(
        id=row["id"], brand_id=row["brand_id"], name=row["name"], trigger=row["trigger"], days=row["days"],
        extra_rule=json.loads(row["extra_rule"]) if row["extra_rule"] is not None else None,
        segment_id=row["segment_id"], channel=row["channel"], content=Content(**json.loads(row["content"])),
        status=row["status"], attribution_days=row["attribution_days"],
        cost_per_message_fen=row["cost_per_message_fen"], store_ids=tuple(row["store_ids"]),
        created_by=row["created_by"], created_at=row["created_at"], next_run_at=row["next_run_at"], runs=runs,
    )


async def _runs(conn: Conn, journey_id: str) -> int:
    return await conn.fetchval("SELECT count(*) FROM campaigns WHERE journey_id = $1", journey_id)


async def insert_journey(conn: asyncpg.Connection, j: JourneyRecord) -> JourneyRecord:
    """Store a new journey."""
    row = await conn.fetchrow(
        """
        INSERT INTO journeys (id, brand_id, name, trigger, days, extra_rule, segment_id, channel, content, status,
                              attribution_days, cost_per_message_fen, store_ids, created_by, created_at,
                              next_run_at)
        VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9::jsonb, $10, $11, $12, $13, $14, $15, $16) RETURNING *
        """,
        j.id, j.brand_id, j.name, j.trigger, j.days,
        json.dumps(j.extra_rule, ensure_ascii=False) if j.extra_rule is not None else None, j.segment_id,
        j.channel, content_json(j.content), j.status, j.attribution_days, j.cost_per_message_fen,
        list(j.store_ids), j.created_by, j.created_at, j.next_run_at,
    )
    assert row is not None
    return _record(row)


async def get_journey(conn: Conn, brand_id: str, journey_id: str, scope: Sequence[str] | None, *,
                      lock: bool = False) -> JourneyRecord | None:
    """The journey, or None outside the brand or the caller's stores."""
    row = await scoped.get_row(conn, "journeys", brand_id, journey_id, scope, lock=lock)
    return _record(row, await _runs(conn, journey_id)) if row is not None else None


async def list_journeys(conn: Conn, brand_id: str, scope: Sequence[str] | None,
                        after: tuple[datetime, str] | None, limit: int) -> list[JourneyRecord]:
    """The brand's journeys in scope, newest first, after the cursor position ``after``."""
    rows = await scoped.list_rows(conn, "journeys", brand_id, scope, after, limit)
    return [_record(r, await _runs(conn, r["id"])) for r in rows]


async def set_status(conn: asyncpg.Connection, journey_id: str, status: str,
                     next_run_at: datetime | None) -> None:
    """Pause (no next run) or resume (the next run at ``next_run_at``)."""
    await conn.execute("UPDATE journeys SET status = $2, next_run_at = $3 WHERE id = $1",
                       journey_id, status, next_run_at)
