"""A lead (an inquiry to follow up): input validation and its pipeline stages."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers

from crm_common.errors import Conflict, InvalidArgument
from leads.domain.assignment import GeoPoint

DEFAULT_PHONE_REGION = "CN"
MAX_TEXT = 200
"""Upper bound for free-text fields, so a bad client cannot store megabytes per lead."""


class Stage(StrEnum):
    """Pipeline stages: new → contacted → qualified → won | lost."""

    NEW = "new"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    WON = "won"
    LOST = "lost"


_NEXT: dict[Stage, frozenset[Stage]] = {
    Stage.NEW: frozenset({Stage.CONTACTED}),
    Stage.CONTACTED: frozenset({Stage.QUALIFIED}),
    Stage.QUALIFIED: frozenset({Stage.WON, Stage.LOST}),
    Stage.WON: frozenset(),
    Stage.LOST: frozenset(),
}


def parse_stage(value: str) -> Stage:
    """The stage named ``value``; InvalidArgument (field ``stage``) for anything else."""
    try:
        return Stage(value)
    except ValueError:
        raise InvalidArgument(f"unknown stage {value!r}", reason="UNKNOWN_STAGE", field="stage") from None


def advance(current: Stage, target: Stage) -> Stage:
    """Move a lead to ``target``; Conflict ``INVALID_STAGE_TRANSITION`` when the pipeline forbids it."""
    if target not in _NEXT[current]:
        raise Conflict(
            f"a lead cannot move from {current} to {target}",
            reason="INVALID_STAGE_TRANSITION",
            field="stage",
            details={"from": str(current), "to": str(target)},
        )
    return target


def normalize_phone(raw: str, region: str = DEFAULT_PHONE_REGION) -> str:
    """The phone number in E.164 (national numbers read as ``region``); InvalidArgument field ``phone``."""
    if not raw.strip():
        raise InvalidArgument("phone is required", reason="REQUIRED", field="phone")
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidArgument("phone is not a phone number", reason="INVALID_PHONE", field="phone") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidArgument("phone is not a valid number", reason="INVALID_PHONE", field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _text(value: str, field: str, *, required: bool = False) -> str:
    value = value.strip()
    if required and not value:
        raise InvalidArgument(f"{field} is required", reason="REQUIRED", field=field)
    if len(value) > MAX_TEXT:
        raise InvalidArgument(f"{field} is longer than {MAX_TEXT} characters", reason="TOO_LONG", field=field)
    return value


def _location(lat: float, lng: float) -> GeoPoint:
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise InvalidArgument(
            "latitude must be within [-90, 90]", reason="OUT_OF_RANGE", field="location.lat"
        )
    if not (math.isfinite(lng) and -180.0 <= lng <= 180.0):
        raise InvalidArgument(
            "longitude must be within [-180, 180]", reason="OUT_OF_RANGE", field="location.lng"
        )
    return GeoPoint(lat, lng)


@dataclass(frozen=True)
class NewLead:
    """A validated, normalised lead before it is assigned and stored."""

    brand_id: str
    source: str
    phone: str
    name: str = ""
    interest: str = ""
    city: str = ""
    store_id: str = ""
    location: GeoPoint | None = None

    @classmethod
    def create(
        cls,
        *,
        brand_id: str,
        source: str,
        phone: str,
        name: str = "",
        interest: str = "",
        city: str = "",
        store_id: str = "",
        location: tuple[float, float] | None = None,
    ) -> NewLead:
        """Validate raw input; the first bad field raises InvalidArgument naming it."""
        return cls(
            brand_id=_text(brand_id, "brand_id", required=True),
            source=_text(source, "source", required=True),
            phone=normalize_phone(phone),
            name=_text(name, "name"),
            interest=_text(interest, "interest"),
            city=_text(city, "city"),
            store_id=_text(store_id, "store_id"),
            location=None if location is None else _location(*location),
        )
