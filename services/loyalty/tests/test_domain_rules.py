"""Unit tests of the pure loyalty rules: earn rules, expiry, FIFO, debt, proportional reversal, tiers,
wallet splits (no I/O)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_common.errors import Conflict, InvalidArgument
from loyalty.domain.orders import OrderDraft, OrderLine
from loyalty.domain.points import (
    Lot,
    TierState,
    WalletSplit,
    check_refund,
    consume_fifo,
    credit,
    proportional_share,
    reverse,
    split_payment,
    split_refund,
    tier_after_growth,
    tier_after_refund,
    tier_at_review,
)
from loyalty.domain.program import DEFAULT_PROGRAM, MemberFacts, parse_program

AT = datetime(2025, 3, 10, 4, 0, tzinfo=UTC)


def order(total: int, *lines: tuple[str, str, int], store: str = "s1") -> OrderDraft:
    items = tuple(OrderLine(sku=s, category=c, quantity=1, amount_fen=a) for s, c, a in lines) or (
        OrderLine(sku="X", quantity=1, amount_fen=total),
    )
    return OrderDraft(brand_id="b", external_id="e", store_id=store, member_id="m", items=items, total_fen=total)


def test_empty_programme_document_is_the_default_and_round_trips() -> None:
    assert parse_program({}).to_json() == DEFAULT_PROGRAM.to_json()
    rich = {
        "earn": {"points_per_yuan": 2, "category_multipliers": {"tea": 1.5}, "action_points": {"sign_in": 5}},
        "tiers": [{"name": "gold", "min_growth": 1000}, {"name": "silver", "min_growth": 100}],
        "expiry": {"policy": "days_after_earning", "days": 365},
    }
    program = parse_program(rich)
    assert parse_program(program.to_json()).to_json() == program.to_json()
    assert [t.name for t in program.tiers] == ["silver", "gold"]


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"earn": {"points_per_yuan": -1}}, "earn.points_per_yuan"),
        ({"earn": {"action_points": {"dance": 3}}}, "earn.action_points.dance"),
        ({"expiry": {"policy": "soon"}}, "expiry.policy"),
        ({"expiry": {"policy": "days_after_earning"}}, "expiry.days"),
        ({"tiers": [{"name": "a", "min_growth": 1}, {"name": "a", "min_growth": 2}]}, "tiers"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_programme_names_the_field(doc: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_program(doc)
    assert caught.value.field == field


@given(st.integers(min_value=0, max_value=10**12))
def test_default_programme_earns_one_point_per_whole_yuan(total: int) -> None:
    assert DEFAULT_PROGRAM.earn(order(total), AT).points == total // 100


@given(
    st.sampled_from([{}, {"points_per_yuan": 3}, {"points_per_yuan": 0.5}, {"max_points_per_order": 40},
                     {"min_spend_fen": 500}, {"category_multipliers": {"tea": 1}}]),
    st.integers(min_value=0, max_value=10**7),
    st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=4),
)
def test_plain_programmes_earn_exactly_what_the_exact_arithmetic_gives(
    earn: dict[str, object], total: int, amounts: list[int]
) -> None:
    program = parse_program({"earn": earn, "tiers": [{"name": "gold", "min_growth": 1}]})
    o = order(total, *((f"S{i}", "tea", a) for i, a in enumerate(amounts)))
    facts = MemberFacts(tier="gold")
    exact = replace(program)
    exact.__dict__["_flat_rate"] = None  # the same programme forced onto the Fraction arithmetic
    assert program.earn(o, AT, facts) == exact.earn(o, AT, facts)


def test_category_and_sku_multipliers_and_exclusions_weigh_lines() -> None:
    program = parse_program(
        {"earn": {"category_multipliers": {"tobacco": 0, "tea": 2}, "sku_multipliers": {"TEA-CHEAP": 1}}}
    )
    o = order(30000, ("CIG", "tobacco", 10000), ("TEA-1", "tea", 10000), ("TEA-CHEAP", "tea", 10000))
    assert program.earn(o, AT).points == 0 + 200 + 100


def test_lines_are_weighed_on_what_was_paid_after_an_order_discount() -> None:
    program = parse_program({"earn": {"category_multipliers": {"tobacco": 0}}})
    # 200 yuan of goods, half excluded, paid 100 yuan after discount: 50 yuan earn.
    o = order(10000, ("CIG", "tobacco", 10000), ("TEA", "tea", 10000))
    assert program.earn(o, AT).points == 50


def test_minimum_spend_cap_tier_promotion_and_birthday_multiply() -> None:
    program = parse_program(
        {
            "earn": {
                "min_spend_fen": 5000,
                "max_points_per_order": 1000,
                "birthday_month_multiplier": 2,
                "promotions": [
                    {
                        "starts_at": "2025-03-10T00:00:00+08:00",
                        "ends_at": "2025-03-11T00:00:00+08:00",
                        "multiplier": 3,
                        "store_ids": ["s1"],
                    }
                ],
            },
            "tiers": [{"name": "gold", "min_growth": 10, "points_multiplier": 1.5}],
        }
    )
    assert program.earn(order(4999), AT).points == 0  # under the minimum spend
    assert program.earn(order(4999), AT).growth_value == 49  # growth still counts
    assert program.earn(order(10000), AT).points == 300  # double-points... triple day at s1
    assert program.earn(order(10000, store="s2"), AT).points == 100  # not at other stores
    gold_bday = MemberFacts(tier="gold", birthday=date(1990, 3, 31))
    assert program.earn(order(10000), AT, gold_bday).points == 900  # 100 × 3 × 1.5 × 2
    assert program.earn(order(100000), AT, gold_bday).points == 1000  # capped


def test_expiry_policies() -> None:
    assert DEFAULT_PROGRAM.expires_at(AT) is None
    days = parse_program({"expiry": {"policy": "days_after_earning", "days": 30}})
    assert days.expires_at(AT) == datetime(2025, 4, 9, 4, 0, tzinfo=UTC)
    year = parse_program({"expiry": {"policy": "end_of_following_year"}})
    # End of 2026 in Shanghai time is 2026-12-31T16:00Z.
    assert year.expires_at(AT) == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)


def test_fifo_takes_oldest_lots_first_and_refuses_to_overdraw() -> None:
    lots = [Lot(1, 10), Lot(2, 5), Lot(3, 20)]
    assert consume_fifo(lots, 12) == [(1, 10), (2, 2)]
    assert consume_fifo(lots, 0) == []
    with pytest.raises(Conflict) as caught:
        consume_fifo(lots, 36)
    assert caught.value.reason == "INSUFFICIENT_POINTS"


def test_earnings_pay_off_debt_first() -> None:
    assert credit(100, 30) == credit(100, 30)
    assert (credit(100, 30).to_debt, credit(100, 30).to_balance) == (30, 70)
    assert (credit(10, 30).to_debt, credit(10, 30).to_balance) == (10, 0)


@given(
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=1, max_value=10**7),
    st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=8),
)
def test_partial_refunds_add_up_to_exactly_what_was_earned(earned: int, total: int, parts: list[int]) -> None:
    refunded, reversed_ = 0, 0
    for part in parts:
        part = min(part, total - refunded)
        reversed_ += proportional_share(earned, refunded, part, total)
        refunded += part
    reversed_ += proportional_share(earned, refunded, total - refunded, total)
    assert reversed_ == earned


def test_reversal_beyond_the_balance_becomes_debt_and_expired_points_are_not_taken_twice() -> None:
    r = reverse(
        earned_points=100,
        earned_growth=100,
        refunded_before_fen=0,
        refund_fen=10000,
        total_fen=10000,
        balance=40,
        expired_unexcused=0,
    )
    assert (r.points, r.from_balance, r.to_debt, r.growth) == (100, 40, 60, 100)
    r = reverse(
        earned_points=100,
        earned_growth=100,
        refunded_before_fen=0,
        refund_fen=5000,
        total_fen=10000,
        balance=500,
        expired_unexcused=100,
    )
    assert (r.points, r.excused, r.growth) == (0, 50, 50)


def test_refund_never_exceeds_the_order() -> None:
    check_refund(100, 60, 40)
    with pytest.raises(Conflict) as caught:
        check_refund(100, 60, 41)
    assert caught.value.reason == "REFUND_EXCEEDS_ORDER"


TIERS = ["silver", "gold"]


def test_tiers_upgrade_at_once_fall_back_on_refund_to_the_floor_and_reset_at_review() -> None:
    state = TierState("", "")
    state = tier_after_growth(TIERS, state, "gold")
    assert state == TierState("gold", "")
    assert tier_after_growth(TIERS, state, "silver") == state  # never down on growth
    assert tier_after_refund(TIERS, state, "silver") == TierState("silver", "")
    reviewed = tier_at_review("silver")
    assert reviewed == TierState("silver", "silver")
    assert tier_after_refund(TIERS, TierState("gold", "silver"), "") == TierState("silver", "silver")


@given(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 2 * 10**6))
def test_wallet_payment_split_is_exact_and_never_overdraws(principal: int, bonus: int, amount: int) -> None:
    if amount > principal + bonus:
        with pytest.raises(Conflict):
            split_payment(amount, principal, bonus)
        return
    split = split_payment(amount, principal, bonus)
    assert split.principal_fen + split.bonus_fen == amount
    assert 0 <= split.principal_fen <= principal
    assert 0 <= split.bonus_fen <= bonus


def test_wallet_refund_returns_the_payments_proportions() -> None:
    paid = WalletSplit(900, 100)
    first = split_refund(paid, 0, 500)
    second = split_refund(paid, 500, 500)
    assert (first.principal_fen + second.principal_fen, first.bonus_fen + second.bonus_fen) == (900, 100)
    with pytest.raises(Conflict):
        split_refund(paid, 1000, 1)
