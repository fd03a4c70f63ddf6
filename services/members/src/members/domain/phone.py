"""Phone numbers: normalisation to E.164 (default region CN) and masking for display."""

from __future__ import annotations

import re

import phonenumbers

from crm_common.errors import InvalidArgument

DEFAULT_REGION = "CN"
# Longer than any real number written with spaces and an international prefix; parsing garbage of
# arbitrary length is wasted work.
_MAX_INPUT_LENGTH = 32
# The usual input, a mainland mobile number written as 11 digits, answered without phonenumbers' general parser
# (a fifth of a till lookup's own work in this service). Only digits its own CN mobile pattern accepts take this
# path, and never those starting with 11, 12 or 179, which its national prefix rule for CN would strip: for
# these parse + is_valid_number + E.164 give exactly "+86" + the digits.
# ASCII: a str pattern's \d also matches other scripts' digits, which phonenumbers would first convert.
_CN_MOBILE = re.compile(
    phonenumbers.PhoneMetadata.metadata_for_region(DEFAULT_REGION).mobile.national_number_pattern,  # type: ignore[union-attr]
    re.ASCII,
)
_PLAIN_MOBILE = re.compile(r"1[3-9]\d{9}", re.ASCII)


def normalize_phone(raw: str, *, field: str = "phone", region: str = DEFAULT_REGION) -> str:
    """Return ``raw`` as E.164 (``+8613800138000``) or raise InvalidArgument naming ``field``.

    Accepts the common ways people write a number: national (``138 0013 8000``), international
    (``+86 138-0013-8000``, ``0086...``) and the country code without a plus (``8613800138000``).
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidArgument("a phone number is required", reason="INVALID_PHONE", field=field)
    if len(text) > _MAX_INPUT_LENGTH:
        raise InvalidArgument("not a valid phone number", reason="INVALID_PHONE", field=field)
    if region == DEFAULT_REGION and _plain_cn_mobile(text):
        return "+86" + text
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise InvalidArgument("not a valid phone number", reason="INVALID_PHONE", field=field) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidArgument("not a valid phone number", reason="INVALID_PHONE", field=field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """The national number with its middle hidden: ``+8613800138000`` -> ``138****8000``.

    For roles without PII rights; never raises, since it runs while rendering responses.
    """
    if e164.startswith("+86") and _plain_cn_mobile(e164[3:]):
        national = e164[3:]  # what parse gives for these (see _CN_MOBILE)
        return f"{national[:3]}****{national[-4:]}"
    try:
        national = str(phonenumbers.parse(e164, None).national_number)
    except phonenumbers.NumberParseException:
        national = "".join(ch for ch in e164 if ch.isdigit())
    if len(national) >= 8:
        return f"{national[:3]}****{national[-4:]}"
    # Too short to keep both ends without revealing most of it.
    return "****" + national[-2:]


def _plain_cn_mobile(digits: str) -> bool:
    """11 ASCII digits forming a valid mainland mobile number that phonenumbers parses as written."""
    return (
        _PLAIN_MOBILE.fullmatch(digits) is not None
        and not digits.startswith("179")
        and _CN_MOBILE.fullmatch(digits) is not None
    )
