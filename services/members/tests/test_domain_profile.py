"""Unit tests of the new pure rules: attributes, tags, consents, merge planning, import rows, cursors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from crm_common.errors import InvalidArgument
from members.domain import profile
from members.domain.attributes import AttributeDef, AttributeSchema, validate_definitions, validate_values
from members.domain.imports import fill_blanks, parse_row, resolve_columns
from members.domain.tags import DEFAULT_RULES, apply_tag_changes, evaluate, facts_of

NOW = datetime(2026, 5, 20, tzinfo=UTC)
PET = AttributeSchema.of(
    [
        AttributeDef("species", "Species", "enum", True, ("cat", "dog")),
        AttributeDef("weight", "Weight", "number", min=0, max=100),
    ]
)


def test_definitions_need_options_only_for_choices_and_unique_names() -> None:
    with pytest.raises(InvalidArgument) as err:
        validate_definitions([AttributeDef("a", "", "enum")])
    assert err.value.field == "definitions[0].options"
    with pytest.raises(InvalidArgument):
        validate_definitions([AttributeDef("a", "", "text"), AttributeDef("a", "", "date")])
    assert validate_definitions([AttributeDef("a", "", "text")])[0].label == "a"


def test_required_attributes_count_existing_values_and_range_is_checked() -> None:
    with pytest.raises(InvalidArgument) as err:
        validate_values(PET, {"weight": "3"}, enforce_required=True)
    assert err.value.field == "attributes.species"
    assert validate_values(PET, {"weight": "3"}, existing={"species": "cat"}, enforce_required=True) == {"weight": 3}
    with pytest.raises(InvalidArgument):
        validate_values(PET, {"weight": "101"}, enforce_required=False)


def test_tag_changes_removal_wins_and_rules_need_the_facts() -> None:
    assert apply_tag_changes(["a"], ["B", "c"], ["c"]) == ["a", "b"]
    member = {
        "registered_at": NOW - timedelta(days=400),
        "facts": {"order_count": 3, "total_spend_fen": 600_000, "last_order_at": NOW - timedelta(days=200)},
    }
    assert evaluate(DEFAULT_RULES, facts_of(member, now=NOW)) == ["high_value", "repeat_buyer", "churn_risk"]
    assert evaluate(DEFAULT_RULES, facts_of({"registered_at": NOW}, now=NOW)) == ["new_member"]


def test_opt_out_all_withdraws_every_granted_channel_and_keeps_unchanged_times() -> None:
    old = NOW - timedelta(days=3)
    current = {
        "sms": {"granted": True, "at": old, "source": "pos"},
        "email": {"granted": False, "at": old, "source": "pos"},
    }
    result, withdrawn = profile.apply_consents(current, {}, opt_out_all=True, source="sms_reply", at=NOW)
    assert withdrawn == ["sms"] and result["sms"]["at"] == NOW and result["email"]["at"] == old


def test_merge_plan_fills_blanks_unites_tags_adds_facts_and_keeps_latest_consent() -> None:
    survivor = {
        "gender": "female",
        "tags": ["vip"],
        "registered_at": NOW,
        "consents": {"sms": {"granted": True, "at": NOW - timedelta(days=1), "source": "a"}},
        "facts": {"order_count": 1, "total_spend_fen": 100},
    }
    merged = {
        "gender": "male",
        "birthday": "1990-01-01",
        "tags": ["tea"],
        "registered_at": NOW - timedelta(days=9),
        "consents": {"sms": {"granted": False, "at": NOW, "source": "b"}},
        "facts": {"order_count": 2, "total_spend_fen": 50},
    }
    plan = profile.plan_merge(survivor, merged)
    assert "gender" not in plan and plan["birthday"] == "1990-01-01" and plan["tags"] == ["vip", "tea"]
    assert plan["consents"]["sms"]["granted"] is False and plan["facts"]["order_count"] == 3
    assert plan["registered_at"] == merged["registered_at"]


def test_import_row_names_the_bad_field_and_maps_chinese_gender() -> None:
    columns = resolve_columns(["手机", "gender", "attributes.species"], {"phone": "手机"})
    row = parse_row(1, ["13800138000", "女", "dog"], columns, schema=PET, today=date(2026, 5, 20))
    assert (row.member.phone, row.member.gender, row.attributes) == ("+8613800138000", "female", {"species": "dog"})
    with pytest.raises(InvalidArgument) as err:
        parse_row(2, ["13800138000", "x", "dog"], columns, schema=PET, today=date(2026, 5, 20))
    assert err.value.field == "gender"
    with pytest.raises(InvalidArgument):
        resolve_columns(["name"], {})
    assert fill_blanks({"gender": "male", "tags": ["a"]}, {"gender": "female", "birthday": "x", "tags": ["a"]}) == {
        "birthday": "x"
    }


def test_name_prefixes_are_normalised_and_cursors_round_trip() -> None:
    assert profile.name_prefixes("Wang Fang") == ["w", "wa", "wan", "wang"]
    assert profile.mask_name("王小明") == "王**"
    cursor = profile.encode_cursor(NOW, "m_1")
    assert profile.decode_cursor(cursor) == (NOW, "m_1")
    with pytest.raises(InvalidArgument):
        profile.decode_cursor("!!not-ours")
