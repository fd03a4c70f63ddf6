"""Unit tests of RFM bands, value segments, "A then B" association and anomaly ranges."""

from __future__ import annotations

from datetime import date

import pytest

from crm_common.errors import InvalidArgument
from reporting.adapters.repository import allocate_refund
from reporting.domain import analytics


def test_recency_scores_most_recent_highest_with_edges_inclusive() -> None:
    edges = (30, 90, 180, 365)
    assert [analytics.recency_score(d, edges) for d in (0, 30, 31, 90, 365, 366)] == [5, 5, 4, 4, 2, 1]


def test_frequency_and_monetary_scores_ascend() -> None:
    edges = (2, 3, 5, 10)
    assert [analytics.ascending_score(v, edges) for v in (1, 2, 4, 5, 10, 99)] == [1, 2, 3, 4, 5, 5]


def test_bad_edges_are_refused() -> None:
    with pytest.raises(InvalidArgument):
        analytics.check_edges((5, 5), "frequency")
    assert analytics.check_edges((), "frequency") == ()


def test_value_segments_default_vip_line_is_5000_yuan() -> None:
    bands = analytics.default_bands()
    assert [analytics.segment_of(v, bands) for v in (500_000, 499_999, 1, 0)] == ["vip", "regular", "regular",
                                                                                   "inactive"]


def test_association_counts_a_then_b_within_n_days_once_per_customer() -> None:
    d = date
    purchases = [
        ("c1", "shoes", d(2024, 1, 1)), ("c1", "socks", d(2024, 1, 5)), ("c1", "socks", d(2024, 1, 6)),
        ("c2", "shoes", d(2024, 1, 1)), ("c2", "socks", d(2024, 3, 1)),  # too late for N = 30
        ("c3", "socks", d(2024, 1, 1)), ("c3", "shoes", d(2024, 1, 1)),  # same day: not "then"
        ("c4", "hat", d(2024, 1, 1)),
    ]
    pairs, buyers = analytics.associations(purchases, 30)
    assert buyers == 4
    by = {(p.antecedent, p.consequent): p for p in pairs}
    assert set(by) == {("shoes", "socks")}
    pair = by[("shoes", "socks")]
    # 1 of 4 buyers; 3 bought shoes; 3 bought socks: confidence 1/3, lift (1/3) / (3/4).
    assert (pair.customers, pair.support, pair.confidence) == (1, 0.25, pytest.approx(1 / 3))
    assert pair.lift == pytest.approx((1 / 3) / (3 / 4))


def test_usual_range_needs_a_week_of_history_and_flags_outliers() -> None:
    assert analytics.usual_range([100.0] * 6) is None
    usual = analytics.usual_range([100.0, 110, 90, 105, 95, 100, 102, 98])
    assert usual is not None
    assert not analytics.is_anomalous(104.0, usual)
    assert analytics.is_anomalous(10.0, usual)
    assert analytics.is_anomalous(500.0, usual)


def test_refund_without_lines_is_split_over_categories_and_sums_exactly() -> None:
    parts = allocate_refund(1000, [("a", 300), ("b", 300), ("c", 400)])
    assert sum(parts.values()) == 1000
    assert parts == {"a": 300, "b": 300, "c": 400}
    assert sum(allocate_refund(1001, [("a", 1), ("b", 1), ("c", 1)]).values()) == 1001


def test_month_index() -> None:
    assert analytics.month_index(date(1997, 1, 31), date(1997, 2, 1)) == 1
    assert analytics.month_index(date(1997, 12, 1), date(1998, 1, 1)) == 1
