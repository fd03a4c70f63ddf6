"""The REST bodies of API.md as pydantic models, and their translation from the services' protobufs.

Requests are validated here so bad input never reaches a service: money and quantities are strict ints
(``"100"`` and ``1.5`` are refused, not coerced), unknown fields are refused (a misspelt ``totalFen``
would otherwise be silently dropped), and times must carry an offset (RFC 3339).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, date, datetime
from typing import Annotated, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from fastapi import Depends
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from crm.loyalty.v1 import loyalty_pb2
from crm.members.v1 import members_pb2
from crm.reporting.v1 import reporting_pb2
from gateway.params import QueryModel

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
DEFAULT_REGION = "CN"
T = TypeVar("T")

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Fen = Annotated[int, Field(strict=True, ge=0, le=INT64_MAX, description="Money in fen (1/100 yuan)")]


# 11 digits starting 13-19: a mainland mobile as tills send it, a possible number for phonenumbers (CN numbers
# of 11 digits are) unless its CN national prefix rule strips a leading 179. Checked without its parser, which
# was ~5% of a till lookup in the gateway.
_PLAIN_MOBILE = re.compile(r"1[3-9]\d{9}", re.ASCII)


def _check_phone(value: str) -> str:
    # Only "could this be a phone number": the members service owns normalisation to E.164.
    if _PLAIN_MOBILE.fullmatch(value) and not value.startswith("179"):
        return value
    try:
        number = phonenumbers.parse(value, DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("not a phone number") from exc
    if not phonenumbers.is_possible_number(number):
        raise ValueError("not a possible phone number")
    return value


def _iso_date_text(value: object) -> object:
    # pydantic would also read 20240501, 1714521600 or week dates as dates; the API promises YYYY-MM-DD.
    if not isinstance(value, date) and not (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        raise ValueError("must be a date as YYYY-MM-DD")
    return value


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("not an IANA time zone name") from exc
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_text)]
Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=32),
    AfterValidator(_check_phone),
    Field(examples=["13800138000"]),
]
Lat = Annotated[float, Field(ge=-90, le=90, examples=[31.2304])]
Lng = Annotated[float, Field(ge=-180, le=180, examples=[121.4737])]


class RequestBody(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


def mask_phone(e164: str) -> str:
    """``+8613800138000`` → ``138****8000``: enough to recognise a number, not to call it."""
    try:
        national = str(phonenumbers.parse(e164, DEFAULT_REGION).national_number)
    except phonenumbers.NumberParseException:
        national = "".join(ch for ch in e164 if ch.isdigit())
    if len(national) < 8:
        return "****"
    return f"{national[:3]}****{national[-4:]}"


def _ts(value: Timestamp, present: bool = True) -> datetime | None:
    return value.ToDatetime(tzinfo=UTC) if present else None


def _or_none(value: str) -> str | None:
    # proto3 cannot tell "" from unset; JSON clients are better served by null.
    return value or None


# --- auth ---------------------------------------------------------------------------------------------


class TokenRequest(RequestBody):
    """Staff login."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"username": "admin", "password": "admin"}]})

    username: Text
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class TokenResponse(BaseModel):
    """A bearer token for the ``Authorization`` header, and the refresh token that renews it."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "access_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0...", "token_type": "bearer",
        "expires_in": 900, "refresh_token": "5f0c...Qm8", "refresh_expires_in": 1209600}]})

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires", examples=[900])
    refresh_token: str | None = Field(
        default=None, description="Single-use: POST it to /v1/auth/refresh for a new pair; a second use "
        "revokes the whole session")
    refresh_expires_in: int | None = Field(default=None, description="Seconds until the session ends")


class RefreshRequest(RequestBody):
    """Renew an access token."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"refresh_token": "5f0c...Qm8"}]})

    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=512)]


class LogoutRequest(RequestBody):
    """End a session: the bearer access token, and every token of its session, stop working."""

    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None


class WhoAmI(BaseModel):
    """The caller, as the access token says (the console reads its brand and role from here)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "staff_id": "st_01J...", "role": "clerk", "brand_id": "b_01J...", "store_ids": ["s_01J..."],
        "sees_pii": False, "permissions": ["member:read", "order:write"]}]})

    staff_id: str
    role: str
    brand_id: str | None
    store_ids: list[str]
    sees_pii: bool
    permissions: list[str]


# --- POS API keys -------------------------------------------------------------------------------------


class ApiKeyCreate(RequestBody):
    """A new POS key for one store."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Till 1"}]})

    name: Text


class ApiKeyOut(BaseModel):
    """A POS key, without its secret (which is shown once, at creation)."""

    id: str
    store_id: str
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart", examples=["crmpos_Ab3xYz"])
    created_at: datetime


class ApiKeyCreated(ApiKeyOut):
    """A new POS key: ``key`` is shown this once and cannot be read again."""

    key: str = Field(description="Send as the `X-API-Key` header", examples=["crmpos_Ab3xYz..."])


# --- pagination ---------------------------------------------------------------------------------------


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` back as ``?cursor=`` for the next (null: no more)."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(position: dict[str, str | int]) -> str:
    """An opaque cursor for ``position`` (clients must not parse it; its shape may change)."""
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, str | int]:
    """The position in ``cursor``; a 422 naming ``cursor`` when it is not one of ours."""
    from gateway.errors import invalid

    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        value = None
    if not isinstance(value, dict):
        raise invalid(("cursor", "not a cursor this API returned"))
    return value


class PageQuery(BaseModel):
    """``?cursor=&limit=`` of every list route (take it as ``PageParams``, with ``openapi_extra=PAGE.openapi``)."""

    cursor: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50


PAGE = QueryModel(PageQuery)
PageParams = Annotated[PageQuery, Depends(PAGE)]


def service_cursor(query: PageQuery) -> str:
    """The service's own cursor inside ``?cursor=`` (see ``next_cursor``); "" for the first page."""
    if not query.cursor:
        return ""
    position = decode_cursor(query.cursor).get("s")
    if not isinstance(position, str) or not position.isprintable():  # also refuses lone surrogates
        from gateway.errors import invalid

        raise invalid(("cursor", "not a cursor this API returned"))
    return position


def next_cursor(cursor: str) -> str | None:
    """The ``next_cursor`` of a page whose service answered ``cursor`` ("" or None: no more)."""
    return encode_cursor({"s": cursor}) if cursor else None


def page_of(items: list[T], query: PageQuery, key: str = "offset") -> Page[T]:
    """Page a list held whole in the gateway (small lists only: a store's POS keys)."""
    start = int(decode_cursor(query.cursor).get(key, 0)) if query.cursor else 0
    chunk = items[start:start + query.limit]
    more = start + query.limit < len(items)
    return Page[T](items=chunk, next_cursor=encode_cursor({key: start + query.limit}) if more else None)


# --- directory ----------------------------------------------------------------------------------------


class BrandCreate(RequestBody):
    """A new brand (group admins only)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"code": "acme", "name": "ACME Coffee"}]})

    code: Code
    name: Text
    timezone: Annotated[str, AfterValidator(_check_timezone)] = "Asia/Shanghai"


class BrandOut(BaseModel):
    """A brand."""

    id: str
    code: str
    name: str
    timezone: str
    created_at: datetime | None

    @classmethod
    def of(cls, b: members_pb2.Brand) -> BrandOut:
        return cls(
            id=b.id, code=b.code, name=b.name, timezone=b.timezone,
            created_at=_ts(b.created_at, b.HasField("created_at")),
        )


class StoreCreate(RequestBody):
    """A new store of a brand; ``lat``/``lng`` come together or not at all."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"code": "sh-001", "name": "People's Square", "city": "Shanghai",
                          "lat": 31.2304, "lng": 121.4737}]
        }
    )

    code: Code
    name: Text
    city: Text | None = None
    lat: Lat | None = None
    lng: Lng | None = None


class StoreOut(BaseModel):
    """A store."""

    id: str
    brand_id: str
    code: str
    name: str
    city: str | None
    lat: float | None
    lng: float | None
    open: bool
    created_at: datetime | None

    @classmethod
    def of(cls, s: members_pb2.Store) -> StoreOut:
        located = s.HasField("location")
        return cls(
            id=s.id, brand_id=s.brand_id, code=s.code, name=s.name, city=_or_none(s.city),
            lat=s.location.lat if located else None, lng=s.location.lng if located else None,
            open=s.open, created_at=_ts(s.created_at, s.HasField("created_at")),
        )


StaffRole = Literal["brand_admin", "store_manager", "clerk", "analyst"]


class StaffCreate(RequestBody):
    """A new staff account of a brand. Store managers and clerks need at least one store."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"username": "li.na", "password": "correct horse battery", "display_name": "Li Na",
                          "role": "clerk", "store_ids": ["st_01J..."]}]
        }
    )

    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=8, max_length=200)]
    display_name: Text
    role: StaffRole
    store_ids: list[Id] = Field(default_factory=list)


class StaffOut(BaseModel):
    """A staff account; the password never leaves the members service."""

    id: str
    brand_id: str | None
    username: str
    display_name: str
    role: str
    store_ids: list[str]
    active: bool
    created_at: datetime | None

    @classmethod
    def of(cls, s: members_pb2.Staff) -> StaffOut:
        return cls(
            id=s.id, brand_id=_or_none(s.brand_id), username=s.username, display_name=s.display_name,
            role=s.role, store_ids=list(s.store_ids), active=s.active,
            created_at=_ts(s.created_at, s.HasField("created_at")),
        )


# --- members ------------------------------------------------------------------------------------------


class Consents(RequestBody):
    """Channel consents; the members service records when and where each was given."""

    sms: bool | None = None
    wechat: bool | None = None
    email: bool | None = None
    push: bool | None = None


class MemberCreate(RequestBody):
    """Registration of a member in a brand."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"phone": "13800138000", "name": "Wang Fang", "gender": "female",
                          "birthday": "1990-05-17", "store_id": "st_01J...", "channel": "pos",
                          "consents": {"sms": True, "wechat": False}}]
        }
    )

    phone: Phone
    name: Text | None = None
    gender: Literal["male", "female", "other"] | None = None
    birthday: IsoDate | None = None
    store_id: Id | None = None
    guide_id: Id | None = None
    channel: Code | None = None
    attributes: dict[Annotated[str, StringConstraints(min_length=1, max_length=64)],
                     Annotated[str, StringConstraints(max_length=1000)]] = Field(default_factory=dict)
    consents: Consents | None = None

    def to_proto(self, brand_id: str) -> members_pb2.RegisterMemberRequest:
        consents = {k: v for k, v in (self.consents.model_dump() if self.consents else {}).items()
                    if v is not None}
        return members_pb2.RegisterMemberRequest(
            brand_id=brand_id, phone=self.phone, name=self.name or "", gender=self.gender or "",
            birthday=self.birthday.isoformat() if self.birthday else "", store_id=self.store_id or "",
            guide_id=self.guide_id or "", channel=self.channel or "", attributes=self.attributes,
            consents=consents,
        )


class MemberOut(BaseModel):
    """A member; ``phone`` is masked (``138****8000``) for roles without PII rights."""

    id: str
    brand_id: str
    phone: str = Field(examples=["+8613800138000", "138****8000"])
    name: str | None
    gender: str | None
    birthday: date | None
    store_id: str | None
    guide_id: str | None
    channel: str | None
    attributes: dict[str, str]
    consents: dict[str, bool]
    registered_at: datetime | None

    @classmethod
    def of(cls, m: members_pb2.Member, *, mask: bool) -> MemberOut:
        return cls(
            id=m.id, brand_id=m.brand_id, phone=mask_phone(m.phone) if mask else m.phone,
            name=_or_none(m.name), gender=_or_none(m.gender),
            birthday=date.fromisoformat(m.birthday) if m.birthday else None,
            store_id=_or_none(m.store_id), guide_id=_or_none(m.guide_id), channel=_or_none(m.channel),
            attributes=dict(m.attributes), consents=dict(m.consents),
            registered_at=_ts(m.registered_at, m.HasField("registered_at")),
        )


# --- orders and points --------------------------------------------------------------------------------


class OrderItem(RequestBody):
    """One line of an order."""

    sku: Id
    name: Text | None = None
    category: Text | None = None
    quantity: Annotated[int, Field(strict=True, gt=0, le=INT32_MAX)]
    amount_fen: Fen


class OrderCreate(RequestBody):
    """A purchase posted by a POS; idempotent by ``external_id``. Give ``member_id`` or ``member_phone``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"external_id": "POS-20240501-0001", "store_id": "st_01J...",
                          "member_phone": "13800138000", "occurred_at": "2024-05-01T10:30:00+08:00",
                          "items": [{"sku": "LATTE-L", "quantity": 2, "amount_fen": 6400}],
                          "total_fen": 6400}]
        }
    )

    external_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    store_id: Id
    member_id: Id | None = None
    member_phone: Phone | None = None
    occurred_at: AwareDatetime
    items: Annotated[list[OrderItem], Field(min_length=1, max_length=1000)]
    total_fen: Fen

    def to_proto(self, brand_id: str) -> loyalty_pb2.RecordOrderRequest:
        occurred = Timestamp()
        occurred.FromDatetime(self.occurred_at)
        return loyalty_pb2.RecordOrderRequest(
            brand_id=brand_id, external_id=self.external_id, store_id=self.store_id,
            member_id=self.member_id or "", member_phone=self.member_phone or "", occurred_at=occurred,
            total_fen=self.total_fen,
            items=[
                loyalty_pb2.OrderItem(sku=i.sku, name=i.name or "", category=i.category or "",
                                      quantity=i.quantity, amount_fen=i.amount_fen)
                for i in self.items
            ],
        )


class OrderMember(BaseModel):
    """The member's account right after the order."""

    points_balance: int
    tier: str | None


class OrderOut(BaseModel):
    """The result of posting an order (the same body again when the order is replayed)."""

    order_id: str
    points_earned: int
    member: OrderMember | None = Field(description="null when the order's phone is not a member yet")

    @classmethod
    def of(cls, r: loyalty_pb2.RecordOrderResponse) -> OrderOut:
        member = None
        if r.HasField("member"):
            member = OrderMember(points_balance=r.member.points_balance, tier=_or_none(r.member.tier))
        return cls(order_id=r.order_id, points_earned=r.points_earned, member=member)


class ExpiringOut(BaseModel):
    """Points that expire at one moment unless spent first."""

    points: int
    expires_at: datetime | None


class PointsOut(BaseModel):
    """A member's points account."""

    balance: int
    tier: str | None
    growth_value: int
    expiring: list[ExpiringOut]

    @classmethod
    def of(cls, a: loyalty_pb2.PointsAccount) -> PointsOut:
        return cls(
            balance=a.balance, tier=_or_none(a.tier), growth_value=a.growth_value,
            expiring=[ExpiringOut(points=e.points, expires_at=_ts(e.expires_at, e.HasField("expires_at")))
                      for e in a.expiring],
        )


# --- reporting ----------------------------------------------------------------------------------------


class KpisOut(BaseModel):
    """Headline KPIs of a date range (brand's calendar days, both ends inclusive)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"orders": 120, "revenue_fen": 1536000, "aov_fen": 12800, "buyers": 80,
                          "repeat_buyers": 20, "repurchase_rate": 0.25, "new_members": 31}]
        }
    )

    orders: int
    revenue_fen: int
    aov_fen: int
    buyers: int
    repeat_buyers: int
    repurchase_rate: float
    new_members: int

    @classmethod
    def of(cls, k: reporting_pb2.Kpis) -> KpisOut:
        return cls(
            orders=k.orders, revenue_fen=k.revenue_fen, aov_fen=k.aov_fen, buyers=k.buyers,
            repeat_buyers=k.repeat_buyers, repurchase_rate=k.repurchase_rate, new_members=k.new_members,
        )
