"""Rules of member registration: profile fields, consents and channel, validated without I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from crm_common.errors import InvalidArgument
from members.domain.phone import normalize_phone

GENDERS = frozenset({"", "male", "female", "other"})
CONSENT_CHANNELS = frozenset({"sms", "wechat", "email", "push"})
DEFAULT_CONSENT_SOURCE = "api"
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_VALUE = 256
EARLIEST_BIRTHDAY = date(1900, 1, 1)

# Attribute names become MongoDB keys and segment fields (`attributes.<name>`): no dots, no `$`.
_ATTRIBUTE_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_CHANNEL = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_BIRTHDAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def validate_gender(value: str) -> str:
    """One of "", male, female, other."""
    gender = (value or "").strip().lower()
    if gender not in GENDERS:
        raise InvalidArgument("gender must be male, female, other or empty", field="gender")
    return gender


def validate_birthday(value: str, *, today: date) -> str:
    """``YYYY-MM-DD`` or empty; a real date, not after ``today`` (the brand's calendar day)."""
    text = (value or "").strip()
    if not text:
        return ""
    if not _BIRTHDAY.fullmatch(text):
        raise InvalidArgument("birthday must be YYYY-MM-DD", field="birthday")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidArgument("birthday is not a real date", field="birthday") from None
    if day > today:
        raise InvalidArgument("birthday is in the future", field="birthday")
    if day < EARLIEST_BIRTHDAY:
        raise InvalidArgument("birthday is before 1900", field="birthday")
    return text


def validate_channel(value: str) -> str:
    """The registration channel (``pos``, ``wechat``, ``import`` ...): short lower-case token or empty."""
    channel = (value or "").strip().lower()
    if channel and not _CHANNEL.fullmatch(channel):
        raise InvalidArgument("channel must be 1-32 lower-case letters, digits, '_' or '-'", field="channel")
    return channel


def validate_attributes(attributes: dict[str, str]) -> dict[str, str]:
    """Custom attributes: at most 50, names ``[a-z][a-z0-9_]*``, values up to 256 characters."""
    if len(attributes) > MAX_ATTRIBUTES:
        raise InvalidArgument(f"at most {MAX_ATTRIBUTES} attributes", field="attributes")
    for name, value in attributes.items():
        if not _ATTRIBUTE_NAME.fullmatch(name):
            raise InvalidArgument(
                "attribute names are 1-64 lower-case letters, digits or '_', starting with a letter",
                field=f"attributes.{name}",
            )
        if len(value) > MAX_ATTRIBUTE_VALUE:
            raise InvalidArgument(
                f"attribute value longer than {MAX_ATTRIBUTE_VALUE} characters", field=f"attributes.{name}"
            )
    return dict(attributes)


def validate_consents(consents: dict[str, bool]) -> dict[str, bool]:
    """Consents per channel; keys in sms, wechat, email, push."""
    for key in consents:
        if key not in CONSENT_CHANNELS:
            raise InvalidArgument(
                f"consent channels are {', '.join(sorted(CONSENT_CHANNELS))}", field=f"consents.{key}"
            )
    return dict(consents)


@dataclass(frozen=True)
class NewMember:
    """A validated RegisterMember command; ``phone`` is E.164."""

    phone: str
    name: str
    gender: str
    birthday: str
    store_id: str
    guide_id: str
    channel: str
    attributes: dict[str, str]
    consents: dict[str, bool]

    @property
    def consent_source(self) -> str:
        """Where the consents were given: the registration channel, or "api" when none was named."""
        return self.channel or DEFAULT_CONSENT_SOURCE


def new_member(
    *,
    phone: str,
    name: str,
    gender: str,
    birthday: str,
    store_id: str,
    guide_id: str,
    channel: str,
    attributes: dict[str, str],
    consents: dict[str, bool],
    today: date,
    phone_required: bool = True,
) -> NewMember:
    """Validate and normalise a registration; ``today`` is the brand's calendar day."""
    clean_name = (name or "").strip()
    if len(clean_name) > 64:
        raise InvalidArgument("name is longer than 64 characters", field="name")
    return NewMember(
        # A WeChat mini-program login creates a member before it ever gives a phone number.
        phone=normalize_phone(phone) if phone_required or (phone or "").strip() else "",
        name=clean_name,
        gender=validate_gender(gender),
        birthday=validate_birthday(birthday, today=today),
        store_id=(store_id or "").strip(),
        guide_id=(guide_id or "").strip(),
        channel=validate_channel(channel),
        attributes=validate_attributes(attributes),
        consents=validate_consents(consents),
    )
