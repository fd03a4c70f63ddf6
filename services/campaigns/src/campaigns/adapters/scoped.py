"""Reads of a brand's saved things (segments, campaigns, journeys) as a store-scoped caller may see them.

A store-scoped caller (store manager) sees only what was created within its stores, never a brand-wide row;
a caller without a scope sees the whole brand. Tables are named by code, never by a request.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import asyncpg

Table = Literal["segments", "campaigns", "journeys"]
Conn = asyncpg.Pool | asyncpg.Connection


def _visible(scope: Sequence[str] | None) -> str:
    return "$3::text[] IS NULL" if scope is None else "(cardinality(store_ids) > 0 AND store_ids <@ $3::text[])"


async def get_row(conn: Conn, table: Table, brand_id: str, row_id: str, scope: Sequence[str] | None, *,
                  lock: bool = False) -> asyncpg.Record | None:
    """The row, or None outside the brand or the caller's stores; ``lock`` takes its row lock."""
    return await conn.fetchrow(
        f"SELECT * FROM {table} WHERE brand_id = $1 AND id = $2 AND {_visible(scope)}"
        + (" FOR UPDATE" if lock else ""),
        brand_id, row_id, list(scope) if scope is not None else None,
    )


async def list_rows(conn: Conn, table: Table, brand_id: str, scope: Sequence[str] | None,
                    after: tuple[datetime, str] | None, limit: int) -> list[asyncpg.Record]:
    """The brand's rows in scope, newest first, after the cursor position ``after``."""
    params: list[Any] = [brand_id, limit, list(scope) if scope is not None else None]
    cursor = "TRUE"
    if after is not None:
        params.extend(after)
        cursor = "(created_at, id) < ($4, $5)"
    return await conn.fetch(
        f"SELECT * FROM {table} WHERE brand_id = $1 AND {_visible(scope)} AND {cursor}"
        " ORDER BY created_at DESC, id DESC LIMIT $2",
        *params,
    )
