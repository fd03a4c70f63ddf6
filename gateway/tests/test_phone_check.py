"""The gateway's plain-mobile shortcut accepts only what phonenumbers calls a possible number."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from gateway.schemas import _PLAIN_MOBILE, _check_phone


def _possible(value: str) -> bool:
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(value, "CN"))
    except phonenumbers.NumberParseException:
        return False


def test_the_shortcut_agrees_with_phonenumbers() -> None:
    rng = random.Random(11)
    for _ in range(20_000):
        value = "1" + "".join(rng.choice("0123456789") for _ in range(10))
        if _PLAIN_MOBILE.fullmatch(value) and not value.startswith("179"):
            assert _possible(value), value
        if _possible(value):
            assert _check_phone(value) == value
        else:
            with pytest.raises(ValueError):
                _check_phone(value)


@pytest.mark.parametrize("value", ["138１２３４５６７８", "17912345678", "12", "abc", "+8613800138000"])
def test_other_shapes_still_go_through_phonenumbers(value: str) -> None:
    if _possible(value):
        assert _check_phone(value) == value
    else:
        with pytest.raises(ValueError):
            _check_phone(value)
