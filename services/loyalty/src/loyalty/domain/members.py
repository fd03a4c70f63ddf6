"""What loyalty knows about a member from the directory, and how it keeps phones of orders waiting for
their buyer to register (normalised to E.164, so the phone the member registers with matches)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import phonenumbers

DEFAULT_REGION = "CN"


@dataclass(frozen=True)
class MemberInfo:
    """A member as the directory describes them."""

    member_id: str
    phone: str = ""
    birthday: date | None = None


def e164(phone: str) -> str:
    """``13800138000`` → ``+8613800138000``; text that is no phone number is returned stripped, as given."""
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(phone, DEFAULT_REGION), phonenumbers.PhoneNumberFormat.E164
        )
    except phonenumbers.NumberParseException:
        return phone.strip()
