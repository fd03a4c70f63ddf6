"""Member import rows: column mapping and per-row validation, with no I/O (the adapter streams the file)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from crm_common.errors import InvalidArgument
from members.domain.attributes import AttributeSchema, validate_values
from members.domain.members import CONSENT_CHANNELS, NewMember, new_member
from members.domain.tags import normalize_tags

STANDARD_FIELDS = ("phone", "name", "gender", "birthday", "store_id", "store_code", "guide_id", "card_no", "tags")
CONSENT_FIELDS = tuple(f"consent_{c}" for c in sorted(CONSENT_CHANNELS))
ATTRIBUTE_PREFIX = "attributes."
ON_EXISTING = frozenset({"report", "merge"})
MAX_CARD = 64
_GENDERS = {
    "男": "male",
    "女": "female",
    "m": "male",
    "f": "female",
    "male": "male",
    "female": "female",
    "other": "other",
    "其他": "other",
    "": "",
}
_YES = frozenset({"1", "true", "yes", "y", "是", "同意"})
_NO = frozenset({"0", "false", "no", "n", "否", "不同意", ""})


def validate_mapping(mapping: Mapping[str, str], schema: AttributeSchema) -> dict[str, str]:
    """``member field -> column header``; fields are standard ones, consent_<channel> or attributes.<name>."""
    out = {}
    for target, header in mapping.items():
        known = target in STANDARD_FIELDS or target in CONSENT_FIELDS
        if target.startswith(ATTRIBUTE_PREFIX):
            name = target[len(ATTRIBUTE_PREFIX) :]
            known = not schema.definitions or name in schema.by_name
        if not known:
            raise InvalidArgument(f"unknown member field {target!r}", field=f"mapping.{target}")
        if not (header or "").strip():
            raise InvalidArgument("a column header is required", field=f"mapping.{target}")
        out[target] = header.strip()
    return out


def resolve_columns(header: Sequence[str], mapping: Mapping[str, str]) -> dict[str, int]:
    """``member field -> column index``. Unmapped columns named like a field map to it (``phone``,
    ``consent_sms``, ``attributes.shoe_size``); a mapped header missing from the file is an error; a file
    with no phone column is an error."""
    positions = {}
    for i, h in enumerate(header):
        name = (h or "").strip()
        if name and name not in positions:
            positions[name] = i
    columns: dict[str, int] = {}
    for target, wanted in mapping.items():
        if wanted not in positions:
            raise InvalidArgument(f"column {wanted!r} is not in the file's header", field=f"mapping.{target}")
        columns[target] = positions[wanted]
    for name, i in positions.items():
        lowered = name.lower()
        if lowered not in columns and (
            lowered in STANDARD_FIELDS or lowered in CONSENT_FIELDS or lowered.startswith(ATTRIBUTE_PREFIX)
        ):
            columns.setdefault(lowered, i)
    if "phone" not in columns:
        raise InvalidArgument("the file needs a phone column (map one with mapping.phone)", field="mapping.phone")
    return columns


@dataclass(frozen=True)
class ImportRow:
    """A valid row: the registration, its typed attributes, tags and card number."""

    row: int
    member: NewMember
    attributes: dict[str, Any]
    tags: list[str]
    card_no: str
    store_code: str


def _cell(values: Sequence[Any], columns: Mapping[str, int], key: str) -> str:
    i = columns.get(key)
    if i is None or i >= len(values) or values[i] is None:
        return ""
    value = values[i]
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # spreadsheets store 13800138000 as a float
    if isinstance(value, date):
        return value.isoformat()[:10]
    return str(value).strip()


def parse_row(
    row: int,
    values: Sequence[Any],
    columns: Mapping[str, int],
    *,
    schema: AttributeSchema,
    today: date,
    default_store_id: str = "",
) -> ImportRow:
    """Validate one data row (``row`` is 1-based); InvalidArgument names the first bad field."""
    gender_text = _cell(values, columns, "gender").lower()
    if gender_text not in _GENDERS:
        raise InvalidArgument("gender must be male, female, other (or 男/女)", field="gender")
    consents: dict[str, bool] = {}
    for channel in sorted(CONSENT_CHANNELS):
        key = f"consent_{channel}"
        if key in columns:
            text = _cell(values, columns, key).lower()
            if text not in _YES and text not in _NO:
                raise InvalidArgument("must be yes or no", field=key)
            if text:
                consents[channel] = text in _YES
    birthday = _cell(values, columns, "birthday")[:10]
    member = new_member(
        phone=_cell(values, columns, "phone"),
        name=_cell(values, columns, "name"),
        gender=_GENDERS[gender_text],
        birthday=birthday,
        store_id=_cell(values, columns, "store_id") or default_store_id,
        guide_id=_cell(values, columns, "guide_id"),
        channel="import",
        attributes={},
        consents=consents,
        today=today,
    )
    raw_attributes = {
        key[len(ATTRIBUTE_PREFIX) :]: _cell(values, columns, key)
        for key in columns
        if key.startswith(ATTRIBUTE_PREFIX) and _cell(values, columns, key)
    }
    attributes = {
        k: v for k, v in validate_values(schema, raw_attributes, enforce_required=True).items() if v is not None
    }
    tags_text = _cell(values, columns, "tags").replace("|", ";")
    tags = normalize_tags([t for t in tags_text.split(";") if t.strip()]) if tags_text else []
    card = _cell(values, columns, "card_no")
    if len(card) > MAX_CARD:
        raise InvalidArgument(f"card_no is longer than {MAX_CARD} characters", field="card_no")
    return ImportRow(row, member, attributes, tags, card, _cell(values, columns, "store_code").lower())


def fill_blanks(existing: Mapping[str, Any], incoming: Mapping[str, Any]) -> dict[str, Any]:
    """``merge`` policy of imports: the ``$set`` filling only what the existing member lacks (so importing
    the same data again changes nothing); tags are united."""
    update = {}
    for key, value in incoming.items():
        if key == "tags":
            union = list(dict.fromkeys([*(existing.get("tags") or []), *value]))
            if union != list(existing.get("tags") or []):
                update["tags"] = union
        elif key == "attributes":
            attrs = dict(value) | dict(existing.get("attributes") or {})
            if attrs != dict(existing.get("attributes") or {}):
                update["attributes"] = attrs
        elif value and not existing.get(key):
            update[key] = value
    return update
