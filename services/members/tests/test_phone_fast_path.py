"""The plain-mobile fast path of phone normalisation and masking answers exactly as phonenumbers does."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from crm_common.errors import InvalidArgument
from members.domain.phone import _plain_cn_mobile, mask_phone, normalize_phone


def _by_phonenumbers(text: str) -> str | None:
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _masked_by_phonenumbers(e164: str) -> str:
    national = str(phonenumbers.parse(e164, None).national_number)
    return f"{national[:3]}****{national[-4:]}"


def test_every_fast_path_number_is_what_phonenumbers_makes_of_it() -> None:
    rng = random.Random(7)
    fast = 0
    for _ in range(20_000):
        text = "1" + "".join(rng.choice("0123456789") for _ in range(10))
        expected = _by_phonenumbers(text)
        if _plain_cn_mobile(text):
            fast += 1
            assert expected == "+86" + text, text
            assert mask_phone(expected) == _masked_by_phonenumbers(expected)
        if expected is None:
            with pytest.raises(InvalidArgument):
                normalize_phone(text)
        else:
            assert normalize_phone(text) == expected, text
    assert fast > 5_000  # the path is taken for most mobiles


@pytest.mark.parametrize(
    "text",
    [
        "17912345678",
        "12345678901",
        "11012345678",
        "1381234567",
        "138123456789",
        "１３８１２３４５６７８",
        "138１２３４５６７８",  # digits of another script: phonenumbers converts them, the fast path must not match
        "+8613812345678",
        "138 1234 5678",
        "01012345678",
    ],
)
def test_other_shapes_go_through_phonenumbers(text: str) -> None:
    assert not _plain_cn_mobile(text.strip())
    expected = _by_phonenumbers(text)
    if expected is None:
        with pytest.raises(InvalidArgument):
            normalize_phone(text)
    else:
        assert normalize_phone(text) == expected
