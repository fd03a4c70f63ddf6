"""Report days: an instant belongs to the calendar day it falls on in the brand's timezone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Asia/Shanghai"
"""What the members service gives a brand created without a timezone."""


class UnknownTimezone(ValueError):
    """The brand's timezone is not an IANA name this process knows."""


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (empty means the default), or UnknownTimezone."""
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownTimezone(name) from exc


def local_date(moment: datetime, timezone: str) -> date:
    """The brand-local calendar date of an aware instant (2026-03-01T17:00Z is 2026-03-02 in Shanghai)."""
    if moment.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    return moment.astimezone(zone(timezone)).date()
