"""Unit tests of the members domain: phone rules, masking, validation and PII crypto (no I/O)."""

from __future__ import annotations

from datetime import date

import pytest

from crm_common.errors import InvalidArgument
from members.domain.directory import new_brand, new_staff, new_store
from members.domain.members import new_member
from members.domain.phone import mask_phone, normalize_phone
from members.domain.pii import PiiCipher

TODAY = date(2026, 5, 20)


@pytest.mark.parametrize("raw", ["138 0013 8000", "+86 138-0013-8000", "8613800138000", "0086 13800138000"])
def test_common_ways_of_writing_a_chinese_mobile_normalise_to_e164(raw: str) -> None:
    assert normalize_phone(raw) == "+8613800138000"


def test_foreign_numbers_keep_their_country_code() -> None:
    assert normalize_phone("+1 650-253-0000") == "+16502530000"


@pytest.mark.parametrize("raw", ["12345", "", "   ", "not a phone", "+86 138", "1" * 40])
def test_invalid_phone_is_rejected_naming_the_field(raw: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        normalize_phone(raw)
    assert err.value.field == "phone"


def test_mask_hides_the_middle_of_the_national_number() -> None:
    assert mask_phone("+8613800138000") == "138****8000"


def test_mask_never_reveals_most_of_a_short_number() -> None:
    assert mask_phone("+861234") == "****34"


def test_brand_code_is_lower_cased_and_timezone_defaults_to_shanghai() -> None:
    brand = new_brand(" ACME ", "Acme", "")
    assert (brand.code, brand.timezone) == ("acme", "Asia/Shanghai")


@pytest.mark.parametrize(
    ("code", "name", "tz", "field"),
    [
        ("", "Acme", "", "code"),
        ("a b", "Acme", "", "code"),
        ("acme", " ", "", "name"),
        ("acme", "Acme", "Mars/Olympus", "timezone"),
        ("acme", "Acme", "../etc/passwd", "timezone"),
    ],
)
def test_bad_brand_fields_are_named(code: str, name: str, tz: str, field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        new_brand(code, name, tz)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("lat", "lng", "field"),
    [(91.0, 0.0, "location.lat"), (0.0, -181.0, "location.lng"), (float("nan"), 0.0, "location.lat")],
)
def test_store_location_must_be_on_earth(lat: float, lng: float, field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        new_store("s1", "Store", "", (lat, lng))
    assert err.value.field == field


def test_store_without_location_is_fine() -> None:
    assert new_store("S1", "Store", "Shanghai", None).code == "s1"


def test_staff_role_must_be_known() -> None:
    with pytest.raises(InvalidArgument) as err:
        new_staff("b_1", "alice", "password1", "Alice", "boss", [])
    assert err.value.field == "role"


def test_clerk_needs_a_store_and_group_admin_needs_no_brand() -> None:
    with pytest.raises(InvalidArgument) as err:
        new_staff("b_1", "alice", "password1", "Alice", "clerk", [])
    assert err.value.field == "store_ids"
    with pytest.raises(InvalidArgument) as err:
        new_staff("b_1", "root", "password1", "Root", "group_admin", [])
    assert err.value.field == "brand_id"


def test_short_password_is_rejected() -> None:
    with pytest.raises(InvalidArgument) as err:
        new_staff("b_1", "alice", "short", "Alice", "analyst", [])
    assert err.value.field == "password"


def _member(**overrides: object) -> object:
    fields: dict[str, object] = dict(
        phone="13800138000",
        name="",
        gender="",
        birthday="",
        store_id="",
        guide_id="",
        channel="",
        attributes={},
        consents={},
        today=TODAY,
    )
    fields.update(overrides)
    return new_member(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"gender": "robot"}, "gender"),
        ({"birthday": "2026-05-21"}, "birthday"),
        ({"birthday": "2001-02-30"}, "birthday"),
        ({"birthday": "20010101"}, "birthday"),
        ({"consents": {"fax": True}}, "consents.fax"),
        ({"attributes": {"a.b": "x"}}, "attributes.a.b"),
        ({"channel": "WeChat Mini"}, "channel"),
        ({"phone": "12345"}, "phone"),
    ],
)
def test_bad_member_fields_are_named(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        _member(**overrides)
    assert err.value.field == field


def test_birthday_today_is_accepted_and_consent_source_defaults_to_api() -> None:
    member = _member(birthday="2026-05-20", consents={"sms": True}, gender="Female")
    assert member.birthday == "2026-05-20"  # type: ignore[attr-defined]
    assert member.gender == "female"  # type: ignore[attr-defined]
    assert member.consent_source == "api"  # type: ignore[attr-defined]
    assert _member(channel="pos").consent_source == "pos"  # type: ignore[attr-defined]


def test_phone_encryption_round_trips_and_is_bound_to_the_brand() -> None:
    cipher = PiiCipher("test-key")
    blob = cipher.encrypt("+8613800138000", context="b_1")
    assert b"13800138000" not in blob
    assert cipher.decrypt(blob, context="b_1") == "+8613800138000"
    with pytest.raises(Exception):  # noqa: B017 - any failure is right: the tag must not verify
        cipher.decrypt(blob, context="b_2")


def test_phone_hash_is_stable_per_key_and_differs_across_keys() -> None:
    a, b = PiiCipher("key-a"), PiiCipher("key-b")
    assert a.phone_hash("+8613800138000") == a.phone_hash("+8613800138000")
    assert a.phone_hash("+8613800138000") != b.phone_hash("+8613800138000")
    assert a.phone_hash("+8613800138000") != a.phone_hash("+8613800138001")
