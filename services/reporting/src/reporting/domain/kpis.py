"""KPI definitions of the reporting API: the date range rules and the arithmetic on counted facts.

The range is a pair of brand-local calendar dates, both inclusive. A buyer is a member with at least one
order in the range, a repeat buyer one with orders on at least two different days of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from crm_common.errors import InvalidArgument

MAX_RANGE_YEARS = 3
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class DateRange:
    """Brand-local calendar dates, both inclusive."""

    first: date
    last: date


def _parse_date(text: str, field: str) -> date:
    # date.fromisoformat also takes "20260301" and week dates since 3.11; the API promises YYYY-MM-DD only.
    if not _ISO_DATE.match(text or ""):
        raise InvalidArgument(f"{field} must be a date as YYYY-MM-DD", field=field, reason="INVALID_DATE")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidArgument(f"{field} is not a calendar date", field=field, reason="INVALID_DATE") from None


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def parse_range(from_text: str, to_text: str) -> DateRange:
    """Validate a report range: both dates present and well-formed, from ≤ to, at most three years.

    Errors name the REST query parameters (``from``, ``to``) so the gateway can pass them on as is.
    "At most three years" means ``to`` is before the same calendar day three years after ``from``.
    """
    first = _parse_date(from_text, "from")
    last = _parse_date(to_text, "to")
    if last < first:
        raise InvalidArgument("to must not be before from", field="to", reason="INVALID_DATE_RANGE")
    if last >= _add_years(first, MAX_RANGE_YEARS):
        raise InvalidArgument(
            f"the range may span at most {MAX_RANGE_YEARS} years", field="to", reason="DATE_RANGE_TOO_LONG"
        )
    return DateRange(first, last)


@dataclass(frozen=True)
class Counts:
    """What the fact tables count for one range (and optionally one store)."""

    orders: int
    revenue_fen: int
    buyers: int
    repeat_buyers: int
    new_members: int


@dataclass(frozen=True)
class Kpis:
    """The KPIs of a range: the counts plus the values derived from them."""

    orders: int
    revenue_fen: int
    aov_fen: int
    buyers: int
    repeat_buyers: int
    repurchase_rate: float
    new_members: int


def aov_fen(revenue_fen: int, orders: int) -> int:
    """Average order value rounded to the fen, halves away from zero; 0 when there are no orders.

    Integer arithmetic, because a float quotient of two large fen amounts can round the wrong way.
    """
    if orders <= 0:
        return 0
    quotient, remainder = divmod(abs(revenue_fen), orders)
    if 2 * remainder >= orders:
        quotient += 1
    return quotient if revenue_fen >= 0 else -quotient


def repurchase_rate(repeat_buyers: int, buyers: int) -> float:
    """Share of buyers who bought on two or more days; 0.0 when nobody bought."""
    return repeat_buyers / buyers if buyers > 0 else 0.0


def derive(counts: Counts) -> Kpis:
    """The full KPI set from the counted facts."""
    return Kpis(
        orders=counts.orders,
        revenue_fen=counts.revenue_fen,
        aov_fen=aov_fen(counts.revenue_fen, counts.orders),
        buyers=counts.buyers,
        repeat_buyers=counts.repeat_buyers,
        repurchase_rate=repurchase_rate(counts.repeat_buyers, counts.buyers),
        new_members=counts.new_members,
    )
