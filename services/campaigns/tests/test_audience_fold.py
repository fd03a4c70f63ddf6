"""Unit tests of the audience fold: pure, no servers."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import permutations

import pytest

from campaigns.domain.audience import Order, PurchaseFacts, fold_order

T1 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
T2 = datetime(2026, 3, 5, 9, 30, tzinfo=UTC)
T3 = datetime(2026, 3, 9, 23, 59, tzinfo=UTC)


def test_first_order_sets_both_first_and_last_purchase() -> None:
    facts = fold_order(PurchaseFacts(), Order(T1, 1234))
    assert facts == PurchaseFacts(
        order_count=1, total_spend_fen=1234, first_purchase_at=T1, last_purchase_at=T1
    )


def test_fold_gives_the_same_facts_whatever_the_arrival_order() -> None:
    orders = [Order(T2, 500), Order(T1, 1000), Order(T3, 0)]
    results = set()
    for arrival in permutations(orders):
        facts = PurchaseFacts()
        for order in arrival:
            facts = fold_order(facts, order)
        results.add(facts)
    assert results == {PurchaseFacts(3, 1500, T1, T3)}


def test_zero_value_order_counts_as_a_purchase() -> None:
    facts = fold_order(PurchaseFacts(), Order(T1, 0))
    assert (facts.order_count, facts.total_spend_fen) == (1, 0)


def test_naive_order_time_is_refused() -> None:
    with pytest.raises(ValueError):
        fold_order(PurchaseFacts(), Order(datetime(2026, 3, 1, 2, 0), 100))
