"""Segment rules, pure: parsing names every bad place; evaluation follows API.md's semantics."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from campaigns.domain.segments import (
    Clock,
    MemberFacts,
    RuleError,
    days_until_birthday,
    distance_km,
    matches,
    parse_rule,
    parse_rule_json,
    to_json,
)

CLOCK = Clock(date(2026, 11, 27), ZoneInfo("Asia/Shanghai"))


def _errors(raw: object) -> list[tuple[str, str]]:
    with pytest.raises(RuleError) as caught:
        parse_rule(raw)
    return caught.value.errors


def test_every_bad_place_is_named_at_once() -> None:
    errors = _errors({"all": [
        {"field": "order_count", "op": ">=", "value": 2},
        {"field": "tier", "op": ">", "value": "gold"},
        {"any": [{"field": "no_such_field", "op": "=", "value": 1}, {"field": "tags", "op": "contains", "value": 3}]},
        {"field": "distance_km", "op": "<=", "value": 3},
    ]})
    fields = [f for f, _ in errors]
    assert fields == ["rule.all[1].op", "rule.all[2].any[0].field", "rule.all[2].any[1].value",
                      "rule.all[3].store_id"]
    assert "must be one of" in errors[0][1]


@pytest.mark.parametrize(("raw", "field"), [
    ([], "rule"),
    ({"all": []}, "rule.all"),
    ({"all": [{}], "any": []}, "rule"),
    ({"not": 5}, "rule.not"),
    ({"field": "order_count", "op": ">", "value": "2"}, "rule.value"),
    ({"field": "order_count", "op": ">", "value": True}, "rule.value"),
    ({"field": "order_count", "op": "in", "value": []}, "rule.value"),
    ({"field": "consent.sms", "op": "=", "value": "yes"}, "rule.value"),
    ({"field": "gender", "op": "=", "value": "f", "store_id": "s1"}, "rule.store_id"),
    ({"field": "attributes.bad name", "op": "=", "value": "x"}, "rule.field"),
    ({"field": "order_count", "op": ">"}, "rule.value"),
    ({"field": "order_count", "op": ">", "value": 1, "extra": 1}, "rule.extra"),
    ({"field": "distance_km", "store_id": "s1", "op": "<", "value": 10**400}, "rule.value"),
    ({"field": "tags", "op": "contains_any", "value": ["ok", "nul\x00"]}, "rule.value"),
    ({"field": "distance_km", "store_id": "s\x00", "op": "<", "value": 1}, "rule.store_id"),
    ({"field": "tags", "op": "contains", "value": "\ud800"}, "rule.value"),  # a lone surrogate from a JSON escape
])
def test_malformed_rules_name_their_place(raw: object, field: str) -> None:
    assert _errors(raw)[0][0] == field


def test_deep_or_huge_rules_are_refused() -> None:
    deep: dict = {"field": "order_count", "op": ">", "value": 1}
    for _ in range(10):
        deep = {"not": deep}
    assert "nest" in _errors(deep)[0][1]
    wide = {"any": [{"field": "order_count", "op": "=", "value": i} for i in range(101)]}
    assert "at most 100" in _errors(wide)[0][1]


def test_json_text_and_canonical_form() -> None:
    with pytest.raises(RuleError):
        parse_rule_json("{not json")
    rule = parse_rule_json('{"all":[{"field":"tags","op":"contains_any","value":["vip","new"]},'
                           '{"field":"distance_km","store_id":"s1","op":"<=","value":3}]}')
    assert to_json(rule) == {"all": [{"field": "tags", "op": "contains_any", "value": ["vip", "new"]},
                                     {"field": "distance_km", "op": "<=", "value": 3, "store_id": "s1"}]}
    assert parse_rule(to_json(rule)) == rule


def test_a_missing_fact_is_false_and_its_negation_true() -> None:
    never_bought = MemberFacts(store_id="s1")
    lapsed = parse_rule({"field": "days_since_last_purchase", "op": ">", "value": 30})
    recent = parse_rule({"field": "days_since_last_purchase", "op": "<=", "value": 30})
    assert not matches(lapsed, never_bought, CLOCK)
    assert not matches(recent, never_bought, CLOCK)
    assert matches(parse_rule({"not": to_json(lapsed)}), never_bought, CLOCK)
    assert not matches(parse_rule({"field": "tier", "op": "!=", "value": "gold"}), never_bought, CLOCK)
    assert matches(parse_rule({"field": "tier", "op": "exists", "value": False}), never_bought, CLOCK)


def test_purchase_days_count_in_the_brands_timezone() -> None:
    # 23:30 UTC on 25 Nov is 07:30 on 26 Nov in Shanghai: one day before the clock's 27 Nov.
    member = MemberFacts(last_purchase_at=datetime(2026, 11, 25, 23, 30, tzinfo=UTC))
    assert matches(parse_rule({"field": "days_since_last_purchase", "op": "=", "value": 1}), member, CLOCK)


def test_spend_90d_counts_the_last_ninety_days_including_today() -> None:
    member = MemberFacts(daily_spend={date(2026, 11, 27): 100, date(2026, 8, 30): 20, date(2026, 8, 29): 7})
    assert matches(parse_rule({"field": "spend_90d_fen", "op": "=", "value": 120}), member, CLOCK)


def test_birthday_in_days_wraps_the_year_and_keeps_29_february_on_the_28th() -> None:
    assert days_until_birthday(date(1990, 11, 27), date(2026, 11, 27)) == 0
    assert days_until_birthday(date(1990, 11, 26), date(2026, 11, 27)) == 364
    assert days_until_birthday(date(2000, 2, 29), date(2027, 2, 27)) == 1  # 28 Feb 2027
    assert days_until_birthday(date(2000, 2, 29), date(2028, 2, 27)) == 2  # 29 Feb 2028


def test_tags_attributes_and_consents() -> None:
    member = MemberFacts(tags=("vip", "coffee"), attributes={"size": "42", "city": "Hangzhou", "vegan": "true"},
                         consents={"sms": True, "wechat": False})
    yes = [
        {"field": "tags", "op": "contains", "value": "vip"},
        {"field": "tags", "op": "contains_any", "value": ["tea", "coffee"]},
        {"field": "attributes.size", "op": ">=", "value": 41.5},
        {"field": "attributes.size", "op": "in", "value": [40, 42]},
        {"field": "attributes.city", "op": "contains", "value": "zhou"},
        {"field": "attributes.vegan", "op": "=", "value": True},
        {"field": "consent.sms", "op": "=", "value": True},
        {"field": "consent.email", "op": "exists", "value": False},
    ]
    no = [
        {"field": "tags", "op": "contains", "value": "tea"},
        {"field": "attributes.city", "op": ">", "value": 5},  # text is not a number: lacks a numeric value
        {"field": "attributes.missing", "op": "!=", "value": "x"},
        {"field": "consent.wechat", "op": "=", "value": True},
    ]
    assert all(matches(parse_rule(r), member, CLOCK) for r in yes)
    assert not any(matches(parse_rule(r), member, CLOCK) for r in no)


def test_distance_is_measured_from_the_members_store() -> None:
    stores = {"west_lake": (30.2590, 120.1500), "xixi": (30.2700, 120.0800), "shanghai": (31.2304, 121.4737)}
    assert 6.0 < distance_km(stores["west_lake"], stores["xixi"]) < 7.5
    rule = parse_rule({"field": "distance_km", "store_id": "west_lake", "op": "<=", "value": 10})
    assert matches(rule, MemberFacts(store_id="xixi"), CLOCK, stores)
    assert not matches(rule, MemberFacts(store_id="shanghai"), CLOCK, stores)
    assert not matches(rule, MemberFacts(store_id="unknown"), CLOCK, stores)


def test_a_rule_lists_at_most_5000_values_in_all() -> None:
    listed = {"any": [{"field": f"attributes.a{i}", "op": "in", "value": list(range(1000))} for i in range(6)]}
    assert "5000 listed values" in _errors(listed)[0][1]
    parse_rule({"any": listed["any"][:5]})


def test_numeric_text_is_the_whole_text() -> None:
    trailing = MemberFacts(attributes={"size": "42\n"})
    assert not matches(parse_rule({"field": "attributes.size", "op": ">", "value": 40}), trailing, CLOCK)
