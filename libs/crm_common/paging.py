"""Keyset paging shared by the services' list RPCs: page sizes, opaque cursors and pages.

A cursor names the last row of a page by its creation time (microseconds since the epoch) and id, so the
next page is ``(created_at, id) < cursor`` in newest-first order: stable under inserts, no offsets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, Protocol, TypeVar

from crm_common.errors import InvalidArgument

DEFAULT_PAGE = 50
MAX_PAGE = 200
MAX_ID = 128
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Row(Protocol):
    """What a paged row needs: its creation time and id."""

    @property
    def created_at(self) -> datetime: ...

    @property
    def id(self) -> str: ...


R = TypeVar("R", bound=Row)


@dataclass(frozen=True)
class Page(Generic[R]):
    """One page of a list and the cursor of the next ('' on the last page)."""

    items: list[R]
    next_cursor: str


def is_id(value: str) -> bool:
    """Whether ``value`` can be one of our ids (anything else, e.g. a NUL PostgreSQL cannot store, names
    nothing)."""
    return 0 < len(value) <= MAX_ID and "\x00" not in value


def page_limit(limit: int) -> int:
    """The page size asked for: 0 means the default; outside [1, MAX_PAGE] is INVALID_ARGUMENT on ``limit``."""
    if limit == 0:
        return DEFAULT_PAGE
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidArgument(f"limit must be within [1, {MAX_PAGE}]", reason="OUT_OF_RANGE", field="limit")
    return limit


def position(created_at: datetime, row_id: str) -> str:
    """The opaque cursor after a row."""
    return f"{(created_at - _EPOCH) // timedelta(microseconds=1)}:{row_id}"


def after(cursor: str) -> tuple[datetime, str] | None:
    """The position a cursor names (None for the first page); INVALID_ARGUMENT on ``cursor`` if it is not
    one ``position`` made."""
    if not cursor:
        return None
    micros, _, row_id = cursor.partition(":")
    try:
        moment = _EPOCH + timedelta(microseconds=int(micros)) if micros.isascii() else None
    except (ValueError, OverflowError):
        moment = None
    if moment is None or not is_id(row_id):
        raise InvalidArgument("cursor is not one this service returned", reason="INVALID_CURSOR", field="cursor")
    return moment, row_id


def page(rows: list[R], limit: int) -> Page[R]:
    """The page of ``rows`` read with one row more than ``limit`` (its presence says there is a next page)."""
    more = len(rows) > limit
    items = rows[:limit]
    return Page(items=items, next_cursor=position(items[-1].created_at, items[-1].id) if more else "")
