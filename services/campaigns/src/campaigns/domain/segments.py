"""Segment rules: parsing with every problem named by its place in the rule, and evaluation of one member.

A rule is JSON (API.md): a group ``{"all": [...]}``, ``{"any": [...]}`` or ``{"not": rule}`` whose leaves are
``{"field": F, "op": OP, "value": V}``. Parsing turns it into the small tree below or reports every problem
at once; the PostgreSQL adapter compiles the same tree to SQL, and ``matches`` evaluates it for one member in
Python (journeys, tests). A comparison on a fact the member lacks is false, and so is its negation by
``!=``; ``{"not": ...}`` of it is true (logic is two-valued: a missing fact never makes a rule unknown).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal
from zoneinfo import ZoneInfo

MAX_DEPTH = 8
MAX_LEAVES = 100
MAX_LIST = 1_000
MAX_LISTED = 5_000  # per rule: lists are cheap as bound arrays, but not free
SPEND_WINDOW_DAYS = 90
EARTH_RADIUS_KM = 6371.0088

Kind = Literal["text", "number", "tags", "consent", "attribute", "distance"]

ORDERING = ("=", "!=", ">", ">=", "<", "<=")
_OPS: dict[Kind, tuple[str, ...]] = {
    "text": ("=", "!=", "in", "not_in", "exists"),
    "number": (*ORDERING, "in", "not_in", "exists"),
    "tags": ("contains", "contains_any", "exists"),
    "consent": ("=", "!=", "exists"),
    "attribute": (*ORDERING, "in", "not_in", "contains", "exists"),
    "distance": ("<", "<=", ">", ">="),
}

FIELDS: dict[str, Kind] = {
    "store_id": "text",
    "guide_id": "text",
    "tier": "text",
    "gender": "text",
    "tags": "tags",
    "birthday_in_days": "number",
    "registered_days_ago": "number",
    "days_since_last_purchase": "number",
    "repurchase_due_in_days": "number",
    "order_count": "number",
    "total_spend_fen": "number",
    "spend_90d_fen": "number",
    "points_balance": "number",
    "consent.sms": "consent",
    "consent.wechat": "consent",
    "consent.email": "consent",
    "consent.push": "consent",
    "distance_km": "distance",
}
ATTRIBUTE_PREFIX = "attributes."
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
NUMERIC_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")  # whole text only: fullmatch here, ^...$ in SQL


class RuleError(ValueError):
    """The rule is malformed; ``errors`` lists every problem as (place in the rule, message)."""

    def __init__(self, errors: Sequence[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))
        self.errors = list(errors)


@dataclass(frozen=True)
class Leaf:
    """One comparison. ``value`` is typed by the field's kind; ``store_id`` is the distance rule's store."""

    field: str
    kind: Kind
    op: str
    value: Any
    store_id: str | None = None
    place: str = field(default="rule", compare=False)  # where it sits in the rule, for later errors


@dataclass(frozen=True)
class Group:
    """``all`` (and), ``any`` (or) or ``not`` (one child)."""

    op: Literal["all", "any", "not"]
    children: tuple[Rule, ...]


Rule = Leaf | Group


def kind_of(name: str) -> Kind | None:
    """The kind of a rule field, or None when no such field exists."""
    if name.startswith(ATTRIBUTE_PREFIX):
        return "attribute" if _ATTRIBUTE_NAME.match(name[len(ATTRIBUTE_PREFIX):]) else None
    return FIELDS.get(name)


def parse_rule(raw: Any, place: str = "rule") -> Rule:
    """The rule tree of ``raw`` (decoded JSON); raises RuleError naming every bad place."""
    errors: list[tuple[str, str]] = []
    leaves = [0]
    rule = _parse(raw, place, 1, errors, leaves)
    if leaves[0] > MAX_LEAVES:
        errors.append((place, f"at most {MAX_LEAVES} conditions"))
    if rule is not None and _listed(rule) > MAX_LISTED:
        errors.append((place, f"at most {MAX_LISTED} listed values in one rule"))
    if errors or rule is None:
        raise RuleError(errors or [(place, "a rule is required")])
    return rule


def _listed(rule: Rule) -> int:
    """How many values the rule's lists hold in all (each is a bind value or a comparison)."""
    if isinstance(rule, Group):
        return sum(_listed(c) for c in rule.children)
    return len(rule.value) if isinstance(rule.value, tuple) else 0


def parse_rule_json(text: str, place: str = "rule") -> Rule:
    """``parse_rule`` of JSON text."""
    try:
        raw = json.loads(text)
    except (ValueError, TypeError):
        raise RuleError([(place, "is not valid JSON")]) from None
    return parse_rule(raw, place)


def _parse(raw: Any, place: str, depth: int, errors: list[tuple[str, str]], leaves: list[int]) -> Rule | None:
    if not isinstance(raw, dict):
        errors.append((place, "must be an object: a group (all / any / not) or a condition (field, op, value)"))
        return None
    if depth > MAX_DEPTH:
        errors.append((place, f"groups nest at most {MAX_DEPTH} deep"))
        return None
    groups = [k for k in ("all", "any", "not") if k in raw]
    if groups:
        if len(raw) != 1:
            errors.append((place, "a group has exactly one key: all, any or not"))
            return None
        op = groups[0]
        if op == "not":
            child = _parse(raw["not"], f"{place}.not", depth + 1, errors, leaves)
            return Group("not", (child,)) if child is not None else None
        items = raw[op]
        if not isinstance(items, list) or not items:
            errors.append((f"{place}.{op}", "must be a non-empty list of rules"))
            return None
        children = [_parse(item, f"{place}.{op}[{i}]", depth + 1, errors, leaves) for i, item in enumerate(items)]
        if any(c is None for c in children):
            return None
        return Group(op, tuple(c for c in children if c is not None))
    leaves[0] += 1
    return _parse_leaf(raw, place, errors)


def _parse_leaf(raw: dict[str, Any], place: str, errors: list[tuple[str, str]]) -> Leaf | None:
    unknown = sorted(set(raw) - {"field", "op", "value", "store_id"})
    if unknown:
        errors.append((f"{place}.{unknown[0]}", "unknown key (a condition has field, op, value)"))
        return None
    name = raw.get("field")
    if not isinstance(name, str) or not name:
        errors.append((f"{place}.field", "is required"))
        return None
    kind = kind_of(name)
    if kind is None:
        errors.append((f"{place}.field", f"unknown field {name!r}"))
        return None
    op = raw.get("op")
    if op not in _OPS[kind]:
        errors.append((f"{place}.op", f"must be one of {', '.join(_OPS[kind])} for {name}"))
        return None
    store_id = raw.get("store_id")
    if _has_nul(raw.get("value")) or _has_nul(store_id):
        errors.append((f"{place}.value" if _has_nul(raw.get("value")) else f"{place}.store_id",
                       "text must be valid UTF-8 without NUL characters"))
        return None
    if kind == "distance":
        if not isinstance(store_id, str) or not store_id:
            errors.append((f"{place}.store_id", "distance_km needs the store to measure from"))
            return None
    elif store_id is not None:
        errors.append((f"{place}.store_id", "only distance_km takes a store_id"))
        return None
    value, problem = _value(kind, op, raw.get("value", True if op == "exists" else None), "value" in raw)
    if problem:
        errors.append((f"{place}.value", problem))
        return None
    return Leaf(name, kind, op, value, store_id, place)


MAX_MAGNITUDE = 10**15  # far beyond any count, fen amount or distance; keeps every number storable


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and -MAX_MAGNITUDE <= v <= MAX_MAGNITUDE


def storable(text: str) -> bool:
    """Whether PostgreSQL can hold ``text``: no NUL, and valid UTF-8 (no lone surrogates from JSON escapes)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _has_nul(v: Any) -> bool:
    """Text PostgreSQL cannot hold can match nothing stored: refuse it rather than fail the query."""
    return not storable(v) if isinstance(v, str) else isinstance(v, list) and any(_has_nul(x) for x in v)


def _value(kind: Kind, op: str, v: Any, given: bool) -> tuple[Any, str | None]:
    """The typed value of a condition, or a message saying what it should be."""
    if op == "exists":
        return (v, None) if isinstance(v, bool) else (None, "exists takes true or false")
    if not given and v is None:
        return None, "is required"
    if op in ("in", "not_in", "contains_any"):
        if not isinstance(v, list) or not v or len(v) > MAX_LIST:
            return None, f"must be a non-empty list of at most {MAX_LIST} values"
        scalars = [_scalar(kind, x) for x in v]
        if any(s is None for s in scalars):
            return None, f"every value must be {_expected(kind)}"
        return tuple(scalars), None
    if kind == "tags":
        return (v, None) if isinstance(v, str) and v else (None, "must be a tag (non-empty text)")
    if kind == "attribute" and op == "contains":
        return (v, None) if isinstance(v, str) and v else (None, "must be non-empty text")
    if kind == "attribute" and op in ORDERING[2:] and not (_is_number(v) or isinstance(v, str)):
        return None, "must be a number or text"
    s = _scalar(kind, v)
    return (s, None) if s is not None else (None, f"must be {_expected(kind)}")


def _scalar(kind: Kind, v: Any) -> Any:
    if kind in ("number", "distance"):
        return v if _is_number(v) else None
    if kind == "consent":
        return v if isinstance(v, bool) else None
    if kind == "attribute":
        return v if isinstance(v, bool | str) or _is_number(v) else None
    return v if isinstance(v, str) else None


def _expected(kind: Kind) -> str:
    return {"number": "a number (at most 10^15)", "distance": "a number of kilometres", "consent": "true or false",
            "attribute": "text, a number or true/false"}.get(kind, "text")


def to_json(rule: Rule) -> Any:
    """The canonical JSON form of a parsed rule (what is stored and shown back)."""
    if isinstance(rule, Group):
        if rule.op == "not":
            return {"not": to_json(rule.children[0])}
        return {rule.op: [to_json(c) for c in rule.children]}
    out: dict[str, Any] = {"field": rule.field, "op": rule.op, "value": list(rule.value)
                           if isinstance(rule.value, tuple) else rule.value}
    if rule.store_id is not None:
        out["store_id"] = rule.store_id
    return out


def distance_leaves(rule: Rule) -> list[Leaf]:
    """The distance conditions of a rule (the stores they measure from must have known locations)."""
    if isinstance(rule, Group):
        return [leaf for c in rule.children for leaf in distance_leaves(c)]
    return [rule] if rule.kind == "distance" else []


# --- evaluation of one member -------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberFacts:
    """What a rule can ask about one member (None: the member lacks the fact)."""

    store_id: str | None = None
    guide_id: str | None = None
    tier: str | None = None
    gender: str | None = None
    tags: tuple[str, ...] = ()
    birthday: date | None = None
    registered_at: datetime | None = None
    first_purchase_at: datetime | None = None
    last_purchase_at: datetime | None = None
    order_count: int = 0
    total_spend_fen: int = 0
    daily_spend: Mapping[date, int] = field(default_factory=dict)
    points_balance: int = 0
    consents: Mapping[str, bool] = field(default_factory=dict)
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Clock:
    """The day rules are evaluated on, in the brand's timezone."""

    today: date
    timezone: ZoneInfo

    @classmethod
    def at(cls, now: datetime, timezone: str) -> Clock:
        """The clock of a brand in ``timezone`` at the instant ``now``."""
        tz = ZoneInfo(timezone)
        return cls(now.astimezone(tz).date(), tz)


def birthday_in_year(birthday: date, year: int) -> date:
    """The birthday's date in ``year``; 29 February is kept on 28 February in common years."""
    try:
        return birthday.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def days_until_birthday(birthday: date, today: date) -> int:
    """Days from ``today`` to the next birthday (0 on the day itself)."""
    this_year = birthday_in_year(birthday, today.year)
    if this_year >= today:
        return (this_year - today).days
    return (birthday_in_year(birthday, today.year + 1) - today).days


def usual_interval_days(span_days: int, order_count: int) -> int:
    """A member's usual days between purchases: the span from first to last over the gaps, rounded half up
    (as PostgreSQL rounds numeric)."""
    return int((Decimal(span_days) / (order_count - 1)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle (haversine) distance between two WGS-84 points, in kilometres."""
    lat1, lng1, lat2, lng2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def matches(rule: Rule, member: MemberFacts, clock: Clock,
            stores: Mapping[str, tuple[float, float]] | None = None) -> bool:
    """Whether ``member`` is in the segment ``rule`` on ``clock``'s day; ``stores`` holds store locations."""
    if isinstance(rule, Group):
        if rule.op == "all":
            return all(matches(c, member, clock, stores) for c in rule.children)
        if rule.op == "any":
            return any(matches(c, member, clock, stores) for c in rule.children)
        return not matches(rule.children[0], member, clock, stores)
    return _leaf(rule, member, clock, stores or {})


def _fact(name: str, m: MemberFacts, clock: Clock) -> Any:
    local = clock.timezone
    match name:
        case "birthday_in_days":
            return days_until_birthday(m.birthday, clock.today) if m.birthday else None
        case "registered_days_ago":
            return (clock.today - m.registered_at.astimezone(local).date()).days if m.registered_at else None
        case "days_since_last_purchase":
            return (clock.today - m.last_purchase_at.astimezone(local).date()).days if m.last_purchase_at else None
        case "repurchase_due_in_days":
            if m.order_count < 2 or m.first_purchase_at is None or m.last_purchase_at is None:
                return None
            first = m.first_purchase_at.astimezone(local).date()
            last = m.last_purchase_at.astimezone(local).date()
            usual = usual_interval_days((last - first).days, m.order_count)
            return usual - (clock.today - last).days if usual >= 1 else None
        case "spend_90d_fen":
            return sum(v for d, v in m.daily_spend.items() if (clock.today - d).days < SPEND_WINDOW_DAYS)
    if name.startswith("consent."):
        return m.consents.get(name.removeprefix("consent."))
    if name.startswith(ATTRIBUTE_PREFIX):
        return m.attributes.get(name[len(ATTRIBUTE_PREFIX):])
    return getattr(m, name)


def _leaf(leaf: Leaf, m: MemberFacts, clock: Clock, stores: Mapping[str, tuple[float, float]]) -> bool:
    if leaf.kind == "distance":
        home = stores.get(m.store_id) if m.store_id else None
        target = stores.get(leaf.store_id or "")
        fact: Any = distance_km(home, target) if home and target else None
    else:
        fact = _fact(leaf.field, m, clock)
    if leaf.op == "exists":
        present = bool(fact) if leaf.kind == "tags" else fact is not None
        return present is leaf.value
    if fact is None:
        return False
    if leaf.kind == "tags":
        return leaf.value in fact if leaf.op == "contains" else any(t in fact for t in leaf.value)
    if leaf.kind == "attribute":
        return _attribute(leaf.op, fact, leaf.value)
    return compare(leaf.op, fact, leaf.value)


def compare(op: str, fact: Any, value: Any) -> bool:
    """``fact OP value`` for the ordering, equality and membership operators."""
    match op:
        case "=":
            return bool(fact == value)
        case "!=":
            return bool(fact != value)
        case ">":
            return bool(fact > value)
        case ">=":
            return bool(fact >= value)
        case "<":
            return bool(fact < value)
        case "<=":
            return bool(fact <= value)
        case "in":
            return fact in value
        case "not_in":
            return fact not in value
    raise AssertionError(op)


def attribute_operand(value: Any) -> tuple[Literal["number", "text"], Any]:
    """How an attribute is compared with ``value``: as a number (numeric text only) or as text."""
    if _is_number(value):
        return "number", Decimal(str(value))
    if isinstance(value, bool):
        return "text", "true" if value else "false"
    return "text", value


def _attribute(op: str, text: str, value: Any) -> bool:
    if op == "contains":
        return value in text
    if op in ("in", "not_in"):
        hit = any(_attribute("=", text, v) for v in value)
        return hit if op == "in" else not hit
    how, operand = attribute_operand(value)
    if how == "number":
        if not NUMERIC_TEXT.fullmatch(text):
            return False  # text that is not a number lacks a numeric value
        try:
            return compare(op, Decimal(text), operand)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
            return False
    # Text compares by code point, as PostgreSQL's "C" collation does.
    return compare(op, text, operand)
