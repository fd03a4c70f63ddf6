"""Segment rules compiled to one PostgreSQL predicate over ``audience_members m``.

Every value travels as a bind parameter; field names come from the domain's closed list (attribute names are
checked against a strict pattern and bound as parameters too), so no text of a rule reaches the SQL. Each
condition is wrapped in ``COALESCE(..., false)``: a missing fact makes the condition false, never unknown,
so ``not`` behaves as the Python evaluator does.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from campaigns.domain.segments import (
    ATTRIBUTE_PREFIX,
    NUMERIC_TEXT,
    SPEND_WINDOW_DAYS,
    Clock,
    Group,
    Leaf,
    Rule,
    attribute_operand,
    compare,
    days_until_birthday,
    distance_km,
)

_COLUMNS = {"store_id": "m.store_id", "guide_id": "m.guide_id", "tier": "m.tier", "gender": "m.gender",
            "order_count": "m.order_count", "total_spend_fen": "m.total_spend_fen",
            "points_balance": "m.points_balance"}
_SQL_OPS = {"=": "=", "!=": "<>", ">": ">", ">=": ">=", "<": "<", "<=": "<="}


class SegmentSql:
    """Builds the predicate; ``params`` are the bind values, numbered after ``first_param - 1`` others."""

    def __init__(self, clock: Clock, stores: Mapping[str, tuple[float, float]], first_param: int = 1) -> None:
        self.params: list[Any] = []
        self._first = first_param
        self._clock = clock
        self._stores = stores
        self._today: str | None = None
        self._tz: str | None = None
        self._pattern: str | None = None

    def bind(self, value: Any, cast: str) -> str:
        """A placeholder for ``value``, cast to the SQL type ``cast``."""
        self.params.append(value)
        return f"${self._first + len(self.params) - 1}::{cast}"

    def predicate(self, rule: Rule) -> str:
        """The SQL boolean expression selecting the members ``rule`` selects."""
        if isinstance(rule, Group):
            if rule.op == "not":
                return f"NOT ({self.predicate(rule.children[0])})"
            joiner = " AND " if rule.op == "all" else " OR "
            return "(" + joiner.join(self.predicate(c) for c in rule.children) + ")"
        return self._leaf(rule)

    def _today_param(self) -> str:
        if self._today is None:
            self._today = self.bind(self._clock.today, "date")
        return self._today

    def _local_date(self, column: str) -> str:
        if self._tz is None:
            self._tz = self.bind(self._clock.timezone.key, "text")
        return f"({self._today_param()} - ({column} AT TIME ZONE {self._tz})::date)"

    def _fact(self, leaf: Leaf) -> str:
        name = leaf.field
        if name in _COLUMNS:
            return _COLUMNS[name]
        if name == "registered_days_ago":
            return self._local_date("m.registered_at")
        if name == "days_since_last_purchase":
            return self._local_date("m.last_purchase_at")
        if name == "repurchase_due_in_days":
            self._local_date("m.last_purchase_at")  # binds today and the timezone
            last = f"(m.last_purchase_at AT TIME ZONE {self._tz})::date"
            first = f"(m.first_purchase_at AT TIME ZONE {self._tz})::date"
            usual = f"round(({last} - {first})::numeric / (m.order_count - 1))"
            return (f"(CASE WHEN m.order_count >= 2 AND {usual} >= 1"
                    f" THEN {usual} - ({self._today_param()} - {last}) END)")
        if name == "spend_90d_fen":
            return ("(SELECT coalesce(sum(s.spend_fen), 0) FROM audience_daily_spend s"
                    " WHERE s.brand_id = m.brand_id AND s.member_id = m.member_id"
                    f" AND s.day > {self._today_param()} - {SPEND_WINDOW_DAYS})")
        if name.startswith("consent."):
            return f"(m.consents ->> {self.bind(name.removeprefix('consent.'), 'text')})::boolean"
        if name.startswith(ATTRIBUTE_PREFIX):
            return f"(m.attributes ->> {self.bind(name[len(ATTRIBUTE_PREFIX):], 'text')})"
        raise AssertionError(name)  # the parser admits only the fields above

    def _leaf(self, leaf: Leaf) -> str:
        if leaf.kind == "tags":
            if leaf.op == "exists":
                return f"(cardinality(m.tags) > 0) = {self.bind(leaf.value, 'bool')}"
            if leaf.op == "contains":
                return f"m.tags @> ARRAY[{self.bind(leaf.value, 'text')}]"
            return f"m.tags && {self.bind(list(leaf.value), 'text[]')}"
        if leaf.field in ("birthday_in_days", "distance_km"):
            return self._by_list(leaf)
        fact = self._fact(leaf)
        if leaf.op == "exists":
            return f"({fact} IS NOT NULL) = {self.bind(leaf.value, 'bool')}"
        if leaf.kind == "attribute":
            return self._attribute(fact, leaf.op, leaf.value)
        cast = {"number": "numeric", "distance": "float8", "consent": "bool"}.get(leaf.kind, "text")
        if leaf.op in ("in", "not_in"):
            values = [Decimal(str(v)) for v in leaf.value] if cast == "numeric" else list(leaf.value)
            test = "= ANY" if leaf.op == "in" else "<> ALL"
            return f"COALESCE({fact} {test}({self.bind(values, cast + '[]')}), false)"
        value = Decimal(str(leaf.value)) if cast == "numeric" else leaf.value
        return f"COALESCE({fact} {_SQL_OPS[leaf.op]} {self.bind(value, cast)}, false)"

    def _numeric(self, text: str) -> str:
        """The attribute's numeric value when its whole text is a number, else NULL."""
        if self._pattern is None:
            self._pattern = self.bind(f"^{NUMERIC_TEXT.pattern}$", "text")
        return f"(CASE WHEN {text} ~ {self._pattern} THEN {text}::numeric END)"

    def _attribute(self, text: str, op: str, value: Any) -> str:
        if op == "contains":
            return f"COALESCE(strpos({text}, {self.bind(value, 'text')}) > 0, false)"
        if op in ("in", "not_in"):
            # Two lists (numbers, text), two parameters, however long the rule's list is.
            operands = [attribute_operand(v) for v in value]
            numbers = [o for how, o in operands if how == "number"]
            texts = [o for how, o in operands if how == "text"]
            parts = []
            if numbers:
                parts.append(f"COALESCE({self._numeric(text)} = ANY({self.bind(numbers, 'numeric[]')}), false)")
            if texts:
                parts.append(f"COALESCE({text} = ANY({self.bind(texts, 'text[]')}), false)")
            hit = "(" + " OR ".join(parts) + ")"
            return hit if op == "in" else f"({text} IS NOT NULL AND NOT {hit})"  # missing: false
        how, operand = attribute_operand(value)
        if how == "number":
            return f"COALESCE({self._numeric(text)} {_SQL_OPS[op]} {self.bind(operand, 'numeric')}, false)"
        return f'COALESCE({text} COLLATE "C" {_SQL_OPS[op]} {self.bind(operand, "text")}, false)'

    def _by_list(self, leaf: Leaf) -> str:
        """Conditions that depend on only a few values, decided here for each value and sent as a list:
        ``birthday_in_days`` on the birthday's month and day (366 of them), ``distance_km`` on the member's
        store (the brand's located stores). Far cheaper than a function or subquery per member, and exactly
        the Python evaluator's answer, since it is the evaluator's own arithmetic."""
        if leaf.field == "birthday_in_days":
            column = "(extract(month FROM m.birthday)::int * 100 + extract(day FROM m.birthday)::int)"
            if leaf.op == "exists":
                return f"(m.birthday IS NOT NULL) = {self.bind(leaf.value, 'bool')}"
            today = self._clock.today
            keys = [d.month * 100 + d.day for d in _MONTH_DAYS
                    if compare(leaf.op, days_until_birthday(d, today), leaf.value)]
            return f"COALESCE({column} = ANY({self.bind(keys, 'int4[]')}), false)"
        target = self._stores[leaf.store_id or ""]
        near = sorted(s for s, home in self._stores.items() if compare(leaf.op, distance_km(home, target), leaf.value))
        return f"COALESCE(m.store_id = ANY({self.bind(near, 'text[]')}), false)"


_MONTH_DAYS = [date(2000, 1, 1) + timedelta(days=i) for i in range(366)]  # a leap year: 29 February included

