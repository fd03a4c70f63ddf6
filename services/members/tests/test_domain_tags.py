"""Unit tests of the tag rules: brand rule validation (422 naming the field), the windows of members whose
day-count facts crossed a threshold, and the daily run time in a brand's timezone (no I/O)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from crm_common.errors import InvalidArgument
from members.domain.tags import (
    DEFAULT_RULES,
    crossing_windows,
    evaluate,
    facts_of,
    next_daily_run,
    rules_to_json,
    validate_rules,
)

NOW = datetime(2026, 6, 1, 20, 0, tzinfo=UTC)


def test_default_rules_round_trip_through_their_json_form() -> None:
    assert validate_rules(rules_to_json(DEFAULT_RULES)) == DEFAULT_RULES


def test_a_tag_with_two_rules_holds_when_either_does() -> None:
    rules = validate_rules(
        [
            {"tag": "VIP", "conditions": [{"field": "total_spend_fen", "op": ">=", "value": 100}]},
            {"tag": "vip", "conditions": [{"field": "attributes.level", "op": "in", "value": ["gold", "black"]}]},
        ]
    )
    assert evaluate(rules, {"total_spend_fen": 5, "attributes.level": "gold"}) == ["vip"]
    assert evaluate(rules, {"total_spend_fen": 500}) == ["vip"]
    assert evaluate(rules, {"total_spend_fen": 5}) == []


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ([{"tag": "x", "conditions": [{"field": "shoe_size", "op": ">", "value": 1}]}], "rules[0].conditions[0].field"),
        (
            [
                {"tag": "ok", "conditions": [{"field": "order_count", "op": ">", "value": 1}]},
                {"tag": "ok2", "conditions": [{"field": "order_count", "op": ">", "value": 1}]},
                {"tag": "x", "conditions": [{"field": "attributes.Bad Name", "op": "=", "value": 1}]},
            ],
            "rules[2].conditions[0].field",
        ),
        ([{"tag": "x", "conditions": [{"field": "order_count", "op": "~", "value": 1}]}], "rules[0].conditions[0].op"),
        (
            [{"tag": "x", "conditions": [{"field": "order_count", "op": ">", "value": "1"}]}],
            "rules[0].conditions[0].value",
        ),
        (
            [{"tag": "x", "conditions": [{"field": "days_since_registration", "op": "<=", "value": 1.5}]}],
            "rules[0].conditions[0].value",
        ),
        ([{"tag": "x", "conditions": [{"field": "gender", "op": ">", "value": "f"}]}], "rules[0].conditions[0].op"),
        (
            [{"tag": "x", "conditions": [{"field": "attributes.n", "op": ">", "value": 10**30}]}],
            "rules[0].conditions[0].value",
        ),
        (
            [{"tag": "x", "conditions": [{"field": "model_churn_risk", "op": "=", "value": "yes"}]}],
            "rules[0].conditions[0].value",
        ),
        ([{"tag": "x", "conditions": [{"field": "gender", "op": "in", "value": []}]}], "rules[0].conditions[0].value"),
        ([{"tag": "a,b", "conditions": [{"field": "order_count", "op": ">", "value": 1}]}], "rules[0].tag"),
        ([{"tag": "x", "conditions": []}], "rules[0].conditions"),
        ([{"tag": "x", "conditions": [{"field": "order_count", "op": ">", "value": 1}]}] * 51, "rules"),
    ],
)
def test_an_invalid_rule_names_the_field(rules: list[dict[str, Any]], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        validate_rules(rules)
    assert err.value.field == field
    assert " / " in err.value.message  # Chinese first, then English


def _member(registered: datetime, last_order: datetime | None) -> dict[str, Any]:
    facts = {"order_count": 1, "last_order_at": last_order} if last_order else {}
    return {"registered_at": registered, "facts": facts}


def _inside(windows: list[tuple[datetime, datetime]], t: datetime) -> bool:
    return any(lo < t <= hi for lo, hi in windows)


@pytest.mark.parametrize("seed", range(5))
def test_every_member_whose_tags_changed_with_time_lies_in_a_window(seed: int) -> None:
    rng = random.Random(seed)
    rules = (
        *DEFAULT_RULES,
        *validate_rules(
            [{"tag": "anniversary", "conditions": [{"field": "days_since_registration", "op": "=", "value": 365}]}]
        ),
    )
    since = NOW - timedelta(days=rng.choice([1, 1, 3]), seconds=rng.randint(0, 7200))
    windows = crossing_windows(rules, since, NOW)
    changed = 0
    for _ in range(3000):
        registered = NOW - timedelta(seconds=rng.randint(0, 400 * 86400))
        last_order = registered + timedelta(seconds=rng.randint(0, int((NOW - registered).total_seconds())))
        member = _member(registered, last_order if rng.random() < 0.7 else None)
        before = evaluate(rules, facts_of(member, now=since))
        after = evaluate(rules, facts_of(member, now=NOW))
        if before != after:
            changed += 1
            assert _inside(windows.get("registered_at", []), registered) or (
                member["facts"] and _inside(windows.get("facts.last_order_at", []), member["facts"]["last_order_at"])
            ), (registered, member["facts"])
    assert changed > 0


def test_windows_are_narrow_a_day_wide_per_threshold() -> None:
    windows = crossing_windows(DEFAULT_RULES, NOW - timedelta(days=1), NOW)
    # new_member (<= 30) and churn_risk (> 180): thresholds 30/31 and 180/181, a day wide each, merged.
    assert windows["registered_at"] == [(NOW - timedelta(days=32), NOW - timedelta(days=30))]
    assert windows["facts.last_order_at"] == [(NOW - timedelta(days=182), NOW - timedelta(days=180))]


def test_the_daily_run_is_at_the_hour_in_the_brands_timezone() -> None:
    # 20:00 UTC is 04:00 the next day in Shanghai: already past, so the next run is the day after.
    day, at = next_daily_run("Asia/Shanghai", NOW, 4)
    assert (day, at) == (date(2026, 6, 3), datetime(2026, 6, 2, 20, 0, tzinfo=UTC))
    day, at = next_daily_run("Asia/Shanghai", NOW - timedelta(minutes=1), 4)
    assert (day, at) == (date(2026, 6, 2), datetime(2026, 6, 1, 20, 0, tzinfo=UTC))
    day, at = next_daily_run("America/New_York", NOW, 4)
    assert at == datetime(2026, 6, 2, 8, 0, tzinfo=UTC) and day == date(2026, 6, 2)
