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


DEFAULT_CHURN_WINDOW_DAYS = 90
MAX_CHURN_WINDOW_DAYS = 730


def churn_window(days: int) -> int:
    """The churn window in days: 0 means the default; 1..730 allowed."""
    if days == 0:
        return DEFAULT_CHURN_WINDOW_DAYS
    if not 1 <= days <= MAX_CHURN_WINDOW_DAYS:
        raise InvalidArgument(
            f"churn_window_days must be between 1 and {MAX_CHURN_WINDOW_DAYS}", field="churn_window_days"
        )
    return days


@dataclass(frozen=True)
class Scope:
    """Which facts a report covers: the whole brand, or one store, guide (the members they own) or category."""

    store_id: str | None = None
    guide_id: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class CouponCounts:
    """Coupons of one template granted in the range, and how many of them were redeemed."""

    template_id: str
    granted: int
    redeemed: int

    @property
    def redemption_rate(self) -> float:
        """redeemed / granted; 0.0 when none was granted."""
        return self.redeemed / self.granted if self.granted else 0.0


@dataclass(frozen=True)
class Counts:
    """What the fact tables count for one range and scope."""

    orders: int
    revenue_fen: int
    buyers: int
    repeat_buyers: int
    new_members: int
    gross_revenue_fen: int = 0
    refunded_fen: int = 0
    refunds: int = 0
    active_members: int = 0
    churned_members: int = 0
    previous_buyers: int = 0
    churn_window_days: int = DEFAULT_CHURN_WINDOW_DAYS
    points_issued: int = 0
    points_redeemed: int = 0
    points_expired: int = 0
    coupons: tuple[CouponCounts, ...] = ()


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
    gross_revenue_fen: int = 0
    refunded_fen: int = 0
    refunds: int = 0
    active_members: int = 0
    churned_members: int = 0
    churn_rate: float = 0.0
    churn_window_days: int = DEFAULT_CHURN_WINDOW_DAYS
    points_issued: int = 0
    points_redeemed: int = 0
    points_expired: int = 0
    coupons: tuple[CouponCounts, ...] = ()


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


def churn_rate(churned: int, previous_buyers: int) -> float:
    """Share of the previous window's buyers who bought nothing in the current one; 0.0 without any."""
    return churned / previous_buyers if previous_buyers > 0 else 0.0


def derive(counts: Counts) -> Kpis:
    """The full KPI set from the counted facts. AOV is net revenue over orders."""
    return Kpis(
        orders=counts.orders,
        revenue_fen=counts.revenue_fen,
        aov_fen=aov_fen(counts.revenue_fen, counts.orders),
        buyers=counts.buyers,
        repeat_buyers=counts.repeat_buyers,
        repurchase_rate=repurchase_rate(counts.repeat_buyers, counts.buyers),
        new_members=counts.new_members,
        gross_revenue_fen=counts.gross_revenue_fen,
        refunded_fen=counts.refunded_fen,
        refunds=counts.refunds,
        active_members=counts.active_members,
        churned_members=counts.churned_members,
        churn_rate=churn_rate(counts.churned_members, counts.previous_buyers),
        churn_window_days=counts.churn_window_days,
        points_issued=counts.points_issued,
        points_redeemed=counts.points_redeemed,
        points_expired=counts.points_expired,
        coupons=counts.coupons,
    )
