"""Rules of the org directory: brands, stores and staff (group → brand → store → staff)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm_common.errors import InvalidArgument

DEFAULT_TIMEZONE = "Asia/Shanghai"
ROLES = frozenset({"group_admin", "brand_admin", "store_manager", "clerk", "analyst"})
STORE_ROLES = frozenset({"store_manager", "clerk"})
"""Roles whose scope is a set of stores, so they must name at least one."""
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256

_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")


def _required_text(value: str, field: str, max_length: int) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidArgument(f"{field} is required", field=field)
    return _bounded_text(text, field, max_length)


def _bounded_text(value: str, field: str, max_length: int) -> str:
    text = (value or "").strip()
    if len(text) > max_length:
        raise InvalidArgument(f"{field} is longer than {max_length} characters", field=field)
    return text


def normalize_code(value: str, *, field: str = "code") -> str:
    """A brand or store code: lower-cased (so uniqueness ignores case), 1-32 of ``a-z 0-9 _ -``."""
    code = (value or "").strip().lower()
    if not _CODE.fullmatch(code):
        raise InvalidArgument(
            "code must be 1-32 letters, digits, '_' or '-', starting with a letter or digit", field=field
        )
    return code


def normalize_timezone(value: str, *, field: str = "timezone") -> str:
    """An IANA timezone name; empty means the default, Asia/Shanghai."""
    name = (value or "").strip() or DEFAULT_TIMEZONE
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument(f"unknown timezone {name!r}", field=field) from None
    return name


@dataclass(frozen=True)
class NewBrand:
    """A validated CreateBrand command."""

    code: str
    name: str
    timezone: str


def new_brand(code: str, name: str, timezone: str) -> NewBrand:
    """Validate and normalise a new brand."""
    return NewBrand(
        code=normalize_code(code),
        name=_required_text(name, "name", 100),
        timezone=normalize_timezone(timezone),
    )


@dataclass(frozen=True)
class NewStore:
    """A validated CreateStore command (location in WGS-84 degrees, or None)."""

    code: str
    name: str
    city: str
    location: tuple[float, float] | None


def new_store(code: str, name: str, city: str, location: tuple[float, float] | None) -> NewStore:
    """Validate and normalise a new store; latitude in [-90, 90], longitude in [-180, 180]."""
    if location is not None:
        lat, lng = location
        if not math.isfinite(lat) or not -90.0 <= lat <= 90.0:
            raise InvalidArgument("latitude must be between -90 and 90", field="location.lat")
        if not math.isfinite(lng) or not -180.0 <= lng <= 180.0:
            raise InvalidArgument("longitude must be between -180 and 180", field="location.lng")
    return NewStore(
        code=normalize_code(code),
        name=_required_text(name, "name", 100),
        city=_bounded_text(city, "city", 64),
        location=location,
    )


def normalize_username(value: str, *, field: str = "username") -> str:
    """A login name: lower-cased (logins are case-insensitive), 3-64 of ``a-z 0-9 . _ -``."""
    username = (value or "").strip().lower()
    if not _USERNAME.fullmatch(username):
        raise InvalidArgument(
            "username must be 3-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            field=field,
        )
    return username


@dataclass(frozen=True)
class NewStaff:
    """A validated CreateStaff command (the password still in clear: the adapter hashes it)."""

    brand_id: str
    username: str
    password: str
    display_name: str
    role: str
    store_ids: tuple[str, ...]


def new_staff(
    brand_id: str, username: str, password: str, display_name: str, role: str, store_ids: list[str]
) -> NewStaff:
    """Validate a new staff account.

    A group admin spans brands, so it has no brand and no stores; every other role belongs to one
    brand, and store managers and clerks are scoped to at least one of its stores.
    """
    role = (role or "").strip()
    if role not in ROLES:
        raise InvalidArgument(f"role must be one of {', '.join(sorted(ROLES))}", field="role")
    brand_id = (brand_id or "").strip()
    stores = tuple(dict.fromkeys(s.strip() for s in store_ids if s.strip()))
    if role == "group_admin":
        if brand_id:
            raise InvalidArgument("a group admin belongs to no brand", field="brand_id")
        if stores:
            raise InvalidArgument("a group admin has no stores", field="store_ids")
    elif not brand_id:
        raise InvalidArgument("brand_id is required", field="brand_id")
    if role in STORE_ROLES and not stores:
        raise InvalidArgument(f"a {role} needs at least one store", field="store_ids")
    if not MIN_PASSWORD_LENGTH <= len(password or "") <= MAX_PASSWORD_LENGTH:
        raise InvalidArgument(
            f"password must be {MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH} characters", field="password"
        )
    return NewStaff(
        brand_id=brand_id,
        username=normalize_username(username),
        password=password,
        display_name=_required_text(display_name, "display_name", 64),
        role=role,
        store_ids=stores,
    )
