"""Member tags: manual tags typed by staff, and automatic tags computed by rules over member facts.

The rule engine is deliberately tiny: a rule is a tag plus conditions that must all hold over a flat dict
of facts (order_count, total_spend_fen, days_since_last_order, days_since_registration, gender, ...); several
rules for one tag are alternatives (any of them). A fact the member lacks makes every comparison on it false
(as in segment rules). A brand may replace the default rules (`validate_rules`), and the day-count facts
change with time alone, so `crossing_windows` says whose tags a day's passing may have changed.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from crm_common.errors import InvalidArgument

MAX_TAGS = 100
_TAG = re.compile(r"[^\s,][^,]{0,31}")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "in": lambda a, b: a in b,
}


def normalize_tag(value: str, *, field: str = "tags") -> str:
    """A tag: 1-32 characters, no comma, surrounding spaces dropped, lower-cased (ASCII letters only)."""
    tag = (value or "").strip()
    if not _TAG.fullmatch(tag):
        raise InvalidArgument("a tag is 1-32 characters without ','", field=field)
    return tag.lower()


def normalize_tags(values: Iterable[str], *, field: str = "tags") -> list[str]:
    """Normalised, de-duplicated tags in their given order."""
    tags = list(dict.fromkeys(normalize_tag(v, field=field) for v in values))
    if len(tags) > MAX_TAGS:
        raise InvalidArgument(f"at most {MAX_TAGS} tags", field=field)
    return tags


def apply_tag_changes(current: list[str], add: Iterable[str], remove: Iterable[str]) -> list[str]:
    """``current`` plus ``add`` minus ``remove`` (removal wins when a tag is in both)."""
    gone = set(normalize_tags(remove))
    merged = [t for t in dict.fromkeys([*current, *normalize_tags(add)]) if t not in gone]
    if len(merged) > MAX_TAGS:
        raise InvalidArgument(f"at most {MAX_TAGS} tags", field="tags")
    return merged


@dataclass(frozen=True)
class Condition:
    """``fact op value``."""

    fact: str
    op: str
    value: Any


@dataclass(frozen=True)
class TagRule:
    """The member carries ``tag`` while every condition holds."""

    tag: str
    all: tuple[Condition, ...]


DEFAULT_RULES: tuple[TagRule, ...] = (
    # 5,000 yuan lifetime spend.
    TagRule("high_value", (Condition("total_spend_fen", ">=", 500_000),)),
    TagRule("repeat_buyer", (Condition("order_count", ">=", 2),)),
    # Bought before, but not for half a year.
    TagRule("churn_risk", (Condition("order_count", ">=", 1), Condition("days_since_last_order", ">", 180))),
    # Or the purchase model (reporting's BG/NBD fit) says the member has probably left.
    TagRule("churn_risk", (Condition("model_churn_risk", "=", True),)),
    TagRule("new_member", (Condition("days_since_registration", "<=", 30),)),
    # Tried a category for the first time in the last 30 days.
    TagRule("new_product_tryer", (Condition("days_since_new_category", "<=", 30),)),
)


def facts_of(member: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
    """The flat facts the rules see, from a stored member document."""
    stats = member.get("facts") or {}
    facts: dict[str, Any] = {
        "order_count": int(stats.get("order_count", 0)),
        "total_spend_fen": int(stats.get("total_spend_fen", 0)),
        "gender": member.get("gender") or None,
    }
    if "model_churn_risk" in stats:
        facts["model_churn_risk"] = bool(stats["model_churn_risk"])
        facts["p_alive"] = float(stats.get("p_alive", 0.0))
    if stats.get("last_order_at"):
        facts["days_since_last_order"] = (now - stats["last_order_at"]).days
    if stats.get("new_category_at"):
        facts["days_since_new_category"] = (now - stats["new_category_at"]).days
    if member.get("registered_at"):
        facts["days_since_registration"] = (now - member["registered_at"]).days
    for name, value in (member.get("attributes") or {}).items():
        facts[f"attributes.{name}"] = value
    return facts


def _holds(condition: Condition, facts: Mapping[str, Any]) -> bool:
    value = facts.get(condition.fact)
    if value is None:
        return False
    try:
        return bool(_OPS[condition.op](value, condition.value))
    except TypeError:
        return False


def evaluate(rules: Iterable[TagRule], facts: Mapping[str, Any]) -> list[str]:
    """The automatic tags whose rules hold, in rule order (a tag with several rules holds if any does)."""
    return list(dict.fromkeys(rule.tag for rule in rules if all(_holds(c, facts) for c in rule.all)))


# --- brand-configurable rules ---------------------------------------------------------------------------

MAX_RULES = 50
MAX_CONDITIONS = 10
MAX_IN_VALUES = 50

# The facts `facts_of` produces, by kind of value. ``attributes.<name>`` (custom attributes) are known too.
NUMBER_FACTS = frozenset({"order_count", "total_spend_fen", "p_alive"})
DAY_FACTS: Mapping[str, str] = {
    "days_since_registration": "registered_at",
    "days_since_last_order": "facts.last_order_at",
    "days_since_new_category": "facts.new_category_at",
}
"""Day-count facts and the stored time each counts from: these change with time alone."""
BOOL_FACTS = frozenset({"model_churn_risk"})
TEXT_FACTS = frozenset({"gender"})
KNOWN_FACTS = NUMBER_FACTS | set(DAY_FACTS) | BOOL_FACTS | TEXT_FACTS
_ORDER_OPS = frozenset({">", ">=", "<", "<="})
_ATTRIBUTE = re.compile(r"attributes\.[a-z][a-z0-9_]{0,63}")


def _bilingual(zh: str, en: str) -> str:
    # The service's user-facing messages carry Chinese first and English after, as the gateway shows them.
    return f"{zh} / {en}"


_MAX_NUMBER = 10**15  # far beyond any count, fen amount or day count, and within what BSON and floats hold exactly


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) <= _MAX_NUMBER
    )


def _bad(field: str, zh: str, en: str) -> InvalidArgument:
    return InvalidArgument(_bilingual(zh, en), field=field)


def _check_value(fact: str, op: str, value: Any, where: str) -> Any:
    """The condition's value, checked against the kind of fact; InvalidArgument naming ``where.value``
    (or ``where.op`` when the operator cannot apply to that kind of fact)."""
    field = f"{where}.value"
    if op == "in":
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_IN_VALUES:
            n = MAX_IN_VALUES
            raise _bad(field, f"in 的取值须为 1-{n} 个值的列表", f"'in' takes a list of 1-{n} values")
        return [_check_value(fact, "=", v, where) for v in value]
    if fact in DAY_FACTS:
        if not _is_number(value) or value != int(value):
            raise _bad(field, f"{fact} 的取值须为整数天数", f"{fact} is compared with a whole number of days")
        return int(value)
    if fact in NUMBER_FACTS:
        if not _is_number(value):
            raise _bad(field, f"{fact} 的取值须为数字", f"{fact} is compared with a number")
        return value
    if fact in BOOL_FACTS or fact in TEXT_FACTS:
        if op in _ORDER_OPS:
            raise _bad(f"{where}.op", f"{fact} 只能用 =、!= 或 in 比较", f"{fact} is compared with =, != or in")
        wanted = bool if fact in BOOL_FACTS else str
        if not isinstance(value, wanted) or (isinstance(value, str) and len(value) > 64):
            kind = ("true/false", "true/false") if wanted is bool else ("文本", "text")
            raise _bad(field, f"{fact} 的取值须为{kind[0]}", f"{fact} is compared with {kind[1]}")
        return value
    if not (isinstance(value, str | bool) or _is_number(value)) or (isinstance(value, str) and len(value) > 200):
        raise _bad(field, "取值须为文本、数字或布尔值", "a value is text, a number or a boolean")
    return value


def validate_rules(raw: Sequence[Mapping[str, Any]]) -> tuple[TagRule, ...]:
    """A brand's rules from their JSON form ``[{tag, conditions: [{field, op, value}]}]``; InvalidArgument
    naming the first bad field as ``rules[i].conditions[j].field``."""
    if len(raw) > MAX_RULES:
        raise InvalidArgument(_bilingual(f"最多 {MAX_RULES} 条规则", f"at most {MAX_RULES} rules"), field="rules")
    rules = []
    for i, rule in enumerate(raw):
        where = f"rules[{i}]"
        if not _TAG.fullmatch(str(rule.get("tag") or "").strip()):
            raise _bad(f"{where}.tag", "标签为 1-32 个字符且不含逗号", "a tag is 1-32 characters without ','")
        tag = normalize_tag(str(rule["tag"]), field=f"{where}.tag")
        conditions = rule.get("conditions")
        if not isinstance(conditions, list) or not 1 <= len(conditions) <= MAX_CONDITIONS:
            raise InvalidArgument(
                _bilingual(f"每条规则需要 1-{MAX_CONDITIONS} 个条件", f"a rule has 1-{MAX_CONDITIONS} conditions"),
                field=f"{where}.conditions",
            )
        checked = []
        for j, cond in enumerate(conditions):
            at = f"{where}.conditions[{j}]"
            fact, op = cond.get("field"), cond.get("op")
            if not isinstance(fact, str) or not (fact in KNOWN_FACTS or _ATTRIBUTE.fullmatch(fact)):
                raise InvalidArgument(
                    _bilingual(
                        "未知的事实字段；可用：" + "、".join(sorted(KNOWN_FACTS)) + "、attributes.<名称>",
                        "unknown fact; known: " + ", ".join(sorted(KNOWN_FACTS)) + ", attributes.<name>",
                    ),
                    field=f"{at}.field",
                )
            if op not in _OPS:
                raise InvalidArgument(
                    _bilingual("运算符须为 " + " ".join(_OPS), "op is one of " + " ".join(_OPS)), field=f"{at}.op"
                )
            checked.append(Condition(fact, op, _check_value(fact, op, cond.get("value"), at)))
        rules.append(TagRule(tag, tuple(checked)))
    return tuple(rules)


def rules_to_json(rules: Iterable[TagRule]) -> list[dict[str, Any]]:
    """The stored / API form of rules (the inverse of `validate_rules`)."""
    return [
        {"tag": r.tag, "conditions": [{"field": c.fact, "op": c.op, "value": c.value} for c in r.all]} for r in rules
    ]


# --- time passing ---------------------------------------------------------------------------------------


def crossing_windows(
    rules: Iterable[TagRule], since: datetime, now: datetime
) -> dict[str, list[tuple[datetime, datetime]]]:
    """For each stored time a day-count fact counts from, the windows ``(after, until]`` of times whose day
    count passed a rule's threshold between ``since`` and ``now``: only those members' tags can have changed.

    A day count is ``(now - t).days``, so it reaches k when ``t <= now - k days``; it went from below k to k
    or more between the two moments exactly when ``since - k days < t <= now - k days``. ``days op v`` can
    only change truth where the count reaches v or v + 1.
    """
    thresholds: dict[str, set[int]] = {}
    for rule in rules:
        for cond in rule.all:
            if cond.fact not in DAY_FACTS:
                continue
            values = cond.value if isinstance(cond.value, list) else [cond.value]
            for v in values:
                if _is_number(v):
                    base = math.floor(v)
                    thresholds.setdefault(DAY_FACTS[cond.fact], set()).update(k for k in (base, base + 1) if k >= 0)
    windows: dict[str, list[tuple[datetime, datetime]]] = {}
    for stored, ks in sorted(thresholds.items()):
        spans = sorted((since - timedelta(days=k), now - timedelta(days=k)) for k in ks)
        merged: list[tuple[datetime, datetime]] = []
        for lo, hi in spans:
            if merged and lo <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
            else:
                merged.append((lo, hi))
        windows[stored] = merged
    return windows


def next_daily_run(timezone: str, after: datetime, hour: int) -> tuple[date, datetime]:
    """The first ``hour``:00 in ``timezone`` strictly after ``after``: its local date and its UTC instant."""
    zone = ZoneInfo(timezone)
    local = after.astimezone(zone)
    day = local.date()
    for _ in range(3):
        at = datetime.combine(day, time(hour), tzinfo=zone)
        if at > after:
            return day, at.astimezone(after.tzinfo or zone)
        day += timedelta(days=1)
    raise AssertionError("unreachable: a day has an hour-o'clock")
