"""Member tags: manual tags typed by staff, and automatic tags computed by rules over member facts.

The rule engine is deliberately tiny: a rule is a tag plus conditions that must all hold over a flat dict
of facts (order_count, total_spend_fen, days_since_last_order, days_since_registration, gender, ...).
A fact the member lacks makes every comparison on it false (as in segment rules).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
