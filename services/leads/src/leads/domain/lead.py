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
    """Pipeline stages: new → contacted → qualified → won, and lost from any open stage."""

    NEW = "new"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    WON = "won"
    LOST = "lost"

    @property
    def closed(self) -> bool:
        """Won and lost end the pipeline: nothing moves a closed lead and nobody follows it up."""
        return self in (Stage.WON, Stage.LOST)


# One step forward at a time, so every lead that is won was contacted and qualified first (the funnel's
# conversion rates stay meaningful); a lead can be lost at any open stage (unreachable, not interested).
_NEXT: dict[Stage, frozenset[Stage]] = {
    Stage.NEW: frozenset({Stage.CONTACTED, Stage.LOST}),
    Stage.CONTACTED: frozenset({Stage.QUALIFIED, Stage.LOST}),
    Stage.QUALIFIED: frozenset({Stage.WON, Stage.LOST}),
    Stage.WON: frozenset(),
    Stage.LOST: frozenset(),
}


def next_stages(current: Stage) -> list[Stage]:
    """The stages a lead in ``current`` may move to, in pipeline order."""
    return [stage for stage in Stage if stage in _NEXT[current]]


def parse_stage(value: str) -> Stage:
    """The stage named ``value``; InvalidArgument (field ``stage``) for anything else."""
    try:
        return Stage(value)
    except ValueError:
        allowed = ", ".join(Stage)
        raise InvalidArgument(
            f"unknown stage {value!r}: use one of {allowed}", reason="UNKNOWN_STAGE", field="stage"
        ) from None


def advance(current: Stage, target: Stage) -> Stage:
    """Move a lead to ``target``; Conflict ``INVALID_STAGE_TRANSITION`` when the pipeline forbids it."""
    if target not in _NEXT[current]:
        allowed = next_stages(current)
        why = (
            f"the lead is {current}, which closes it" if current.closed
            else f"from {current} a lead moves to {' or '.join(allowed)}"
        )
        raise Conflict(
            f"a lead cannot move from {current} to {target}: {why}",
            reason="INVALID_STAGE_TRANSITION",
            field="stage",
            details={"from": str(current), "to": str(target), "allowed": [str(s) for s in allowed]},
        )
    return target


def change_stage(current: Stage, target: Stage) -> Stage | None:
    """The stage to store, or None when the lead is already in ``target``.

    Asking for the current stage is not an error: it is what a client's retry of a change that went through
    looks like, and answering it with a conflict would make a successful retry look like a failure.
    """
    if target is current:
        return None
    return advance(current, target)


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
    if "\x00" in value:
        # PostgreSQL text cannot hold NUL; refusing it here keeps it a 422 instead of a failed insert.
        raise InvalidArgument(f"{field} contains a NUL character", reason="INVALID_TEXT", field=field)
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
