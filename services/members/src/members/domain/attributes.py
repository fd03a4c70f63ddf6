"""Custom member attributes defined per brand: definitions, and validation of values against them.

Values travel as text (``map<string, string>`` on the wire, ``MemberUpdated.attributes``) and are stored
typed (numbers as numbers, multi-select as a list) so segments can compare them. A brand that defined no
attributes accepts free text (up to 256 characters); once it defines some, only those names are accepted.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from crm_common.errors import InvalidArgument

TYPES = frozenset({"text", "number", "date", "enum", "boolean", "multi_select"})
MAX_DEFINITIONS = 100
MAX_OPTIONS = 200
MAX_TEXT = 256
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TRUE = frozenset({"true", "1", "yes", "y", "是"})
_FALSE = frozenset({"false", "0", "no", "n", "否"})
MULTI_SEPARATOR = ","


@dataclass(frozen=True)
class AttributeDef:
    """One custom attribute of a brand."""

    name: str
    label: str
    type: str
    required: bool = False
    options: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class AttributeSchema:
    """A brand's attribute definitions; empty means free-text attributes (no definitions yet)."""

    definitions: tuple[AttributeDef, ...] = ()
    by_name: dict[str, AttributeDef] = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, definitions: list[AttributeDef] | tuple[AttributeDef, ...]) -> AttributeSchema:
        """Index ``definitions`` by name."""
        return cls(tuple(definitions), {d.name: d for d in definitions})


def validate_definitions(defs: list[AttributeDef]) -> list[AttributeDef]:
    """Check a brand's new set of definitions: unique valid names, known types, options where needed."""
    if len(defs) > MAX_DEFINITIONS:
        raise InvalidArgument(f"at most {MAX_DEFINITIONS} attributes", field="definitions")
    seen: set[str] = set()
    out = []
    for i, d in enumerate(defs):
        where = f"definitions[{i}]"
        if not _NAME.fullmatch(d.name):
            raise InvalidArgument(
                "name must be 1-64 lower-case letters, digits or '_', starting with a letter", field=f"{where}.name"
            )
        if d.name in seen:
            raise InvalidArgument(f"attribute {d.name!r} is defined twice", field=f"{where}.name")
        seen.add(d.name)
        if d.type not in TYPES:
            raise InvalidArgument(f"type must be one of {', '.join(sorted(TYPES))}", field=f"{where}.type")
        options = tuple(o.strip() for o in d.options)
        if d.type in ("enum", "multi_select"):
            if not options or len(options) > MAX_OPTIONS or len(set(options)) != len(options) or "" in options:
                raise InvalidArgument(
                    f"a {d.type} needs 1-{MAX_OPTIONS} distinct, non-empty options", field=f"{where}.options"
                )
            if d.type == "multi_select" and any(MULTI_SEPARATOR in o for o in options):
                raise InvalidArgument("multi-select options cannot contain ','", field=f"{where}.options")
        elif options:
            raise InvalidArgument(f"a {d.type} has no options", field=f"{where}.options")
        if d.min is not None and d.max is not None and d.min > d.max:
            raise InvalidArgument("min is greater than max", field=f"{where}.min")
        label = (d.label or "").strip()[:100] or d.name
        out.append(AttributeDef(d.name, label, d.type, d.required, options, d.min, d.max))
    return out


def _in_range(value: float, d: AttributeDef, field_name: str, what: str) -> None:
    if d.min is not None and value < d.min:
        raise InvalidArgument(f"{what} is below the minimum {d.min:g}", field=field_name)
    if d.max is not None and value > d.max:
        raise InvalidArgument(f"{what} is above the maximum {d.max:g}", field=field_name)


def parse_value(d: AttributeDef, text: str) -> Any:
    """The typed value of ``text`` for definition ``d``; InvalidArgument naming ``attributes.<name>``."""
    where = f"attributes.{d.name}"
    raw = (text or "").strip()
    if d.type == "text":
        if len(raw) > MAX_TEXT:
            raise InvalidArgument(f"longer than {MAX_TEXT} characters", field=where)
        _in_range(len(raw), d, where, "length")
        return raw
    if d.type == "number":
        try:
            number = float(raw)
        except ValueError:
            raise InvalidArgument("must be a number", field=where) from None
        if not math.isfinite(number):
            raise InvalidArgument("must be a finite number", field=where)
        _in_range(number, d, where, "value")
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if d.type == "date":
        if not _DATE.fullmatch(raw):
            raise InvalidArgument("must be a date as YYYY-MM-DD", field=where)
        try:
            date.fromisoformat(raw)
        except ValueError:
            raise InvalidArgument("is not a real date", field=where) from None
        return raw
    if d.type == "boolean":
        low = raw.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise InvalidArgument("must be true or false", field=where)
    if d.type == "enum":
        if raw not in d.options:
            raise InvalidArgument(f"must be one of {', '.join(d.options)}", field=where)
        return raw
    # multi_select: comma-separated options, order kept, duplicates dropped
    chosen = list(dict.fromkeys(p.strip() for p in raw.split(MULTI_SEPARATOR) if p.strip()))
    unknown = [c for c in chosen if c not in d.options]
    if unknown:
        raise InvalidArgument(f"unknown option {unknown[0]!r}", field=where)
    return chosen


def render_value(value: Any) -> str:
    """The wire text of a stored value (inverse of ``parse_value``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return MULTI_SEPARATOR.join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def validate_values(
    schema: AttributeSchema, values: dict[str, str], *, existing: dict[str, Any] | None = None, enforce_required: bool
) -> dict[str, Any]:
    """Typed values for ``values``. With ``enforce_required``, every required attribute must end up set
    (in ``values`` or already in ``existing``). An empty text removes an attribute (PATCH)."""
    if not schema.definitions:
        for name, value in values.items():
            if not _NAME.fullmatch(name):
                raise InvalidArgument(
                    "attribute names are 1-64 lower-case letters, digits or '_', starting with a letter",
                    field=f"attributes.{name}",
                )
            if len(value) > MAX_TEXT:
                raise InvalidArgument(f"longer than {MAX_TEXT} characters", field=f"attributes.{name}")
        return dict(values)
    typed: dict[str, Any] = {}
    for name, text in values.items():
        d = schema.by_name.get(name)
        if d is None:
            raise InvalidArgument(f"no attribute {name!r} is defined for this brand", field=f"attributes.{name}")
        typed[name] = parse_value(d, text) if (text or "").strip() else None
    if enforce_required:
        have = dict(existing or {}) | typed
        for d in schema.definitions:
            if d.required and have.get(d.name) in (None, "", []):
                raise InvalidArgument(f"{d.label} is required", field=f"attributes.{d.name}")
    return typed
