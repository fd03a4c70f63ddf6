"""Unit tests of the KPI definitions and report calendars: pure, no servers."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from crm_common.errors import InvalidArgument
from reporting.domain.calendar import UnknownTimezone, local_date
from reporting.domain.kpis import Counts, DateRange, aov_fen, derive, parse_range, repurchase_rate


@pytest.mark.parametrize(
    ("revenue", "orders", "expected"),
    [
        (15001, 2, 7501),  # 7500.5 rounds half up
        (44000, 6, 7333),  # 7333.33…
        (28999, 4, 7250),  # 7249.75
        (5, 2, 3),
        (1, 3, 0),
        (2, 3, 1),
        (0, 5, 0),
        (0, 0, 0),  # no orders: no average, reported as 0
        (9_223_372_036_854_775_807, 2, 4_611_686_018_427_387_904),  # exact where a float would not be
    ],
)
def test_aov_is_rounded_half_up_to_the_fen(revenue: int, orders: int, expected: int) -> None:
    assert aov_fen(revenue, orders) == expected


def test_aov_of_negative_revenue_rounds_away_from_zero() -> None:
    assert aov_fen(-15001, 2) == -7501


def test_repurchase_rate_is_repeat_buyers_over_buyers_and_zero_without_buyers() -> None:
    assert repurchase_rate(1, 2) == 0.5
    assert repurchase_rate(0, 0) == 0.0


def test_derive_combines_counts_into_kpis() -> None:
    kpis = derive(Counts(orders=6, revenue_fen=44000, buyers=2, repeat_buyers=1, new_members=1))
    assert (kpis.aov_fen, kpis.repurchase_rate, kpis.new_members) == (7333, 0.5, 1)


def test_single_day_range_is_valid() -> None:
    assert parse_range("2026-03-01", "2026-03-01") == DateRange(date(2026, 3, 1), date(2026, 3, 1))


@pytest.mark.parametrize(
    ("from_text", "to_text", "field"),
    [
        ("", "2026-03-01", "from"),
        ("2026-3-1", "2026-03-01", "from"),
        ("20260301", "2026-03-01", "from"),  # fromisoformat would accept it; the API does not
        ("2026-03-01", "2026-02-30", "to"),
        ("2026-03-02", "2026-03-01", "to"),  # to before from
        ("2023-03-01", "2026-03-01", "to"),  # a day over three years
    ],
)
def test_bad_range_names_the_field(from_text: str, to_text: str, field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_range(from_text, to_text)
    assert err.value.field == field


def test_three_years_less_a_day_is_the_longest_range() -> None:
    assert parse_range("2023-03-01", "2026-02-28").last == date(2026, 2, 28)
    # From 29 February the limit falls on 28 February three years later.
    assert parse_range("2024-02-29", "2027-02-27").last == date(2027, 2, 27)
    with pytest.raises(InvalidArgument):
        parse_range("2024-02-29", "2027-02-28")


def test_instant_falls_on_the_brand_local_day() -> None:
    assert local_date(datetime(2026, 3, 1, 17, 0, tzinfo=UTC), "Asia/Shanghai") == date(2026, 3, 2)
    assert local_date(datetime(2026, 3, 1, 15, 59, 59, tzinfo=UTC), "Asia/Shanghai") == date(2026, 3, 1)
    assert local_date(datetime(2026, 3, 2, 3, 0, tzinfo=UTC), "America/New_York") == date(2026, 3, 1)


def test_unknown_timezone_is_refused() -> None:
    with pytest.raises(UnknownTimezone):
        local_date(datetime(2026, 3, 1, tzinfo=UTC), "Mars/Olympus_Mons")
