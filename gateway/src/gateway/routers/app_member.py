"""The member mini-program: WeChat sign-in, then the member's own profile, points, coupons and orders.

A member token names one member of one brand and opens ``/v1/app/me...`` only; every read and write here
names that member by the token's ids, never by anything the request carries.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

import grpc
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from crm.loyalty.v1 import loyalty_pb2
from crm.members.v1 import members_pb2
from crm_common.errors import RemoteError
from gateway.audit import AuditLog, audit_log
from gateway.auth import MemberPrincipal, TokenIssuer, member_principal
from gateway.errors import ProblemError, not_found, problem_from_remote, problem_responses, rpc
from gateway.params import QueryModel
from gateway.routers import ClientsDep
from gateway.schemas import PAGE, Id, Page, PageParams, PointsOut, RequestBody
from gateway.settings import GatewaySettings
from gateway.wechat import MemberDirectory, WeChatClient

router = APIRouter(prefix="/v1/app", tags=["member app"])

Me = Annotated[MemberPrincipal, Depends(member_principal)]


class SessionRequest(RequestBody):
    """The code from ``wx.login()`` in the mini-program."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"code": "0a3Xyz000abcDEF1gHI200FhJk3Xyz0Q"},
        {"code": "0a3Xyz000abcDEF1gHI200FhJk3Xyz0Q", "store_id": "s_01J..."}]})

    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    store_id: Id | None = Field(
        default=None, description="The store whose QR code opened the mini-program: a first-time user "
        "registers there (ignored for an existing member)")


class MemberSession(BaseModel):
    """A member token for ``Authorization: Bearer`` on ``/v1/app/me...``."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "access_token": "eyJhbGciOiJIUzI1NiIs...", "token_type": "bearer", "expires_in": 7200,
        "member_id": "m_01J...", "created": False}]})

    access_token: str
    token_type: str = "bearer"
    expires_in: int
    member_id: str
    created: bool = Field(description="True when this sign-in registered the member (first visit)")


class MeOut(BaseModel):
    """The signed-in member's own profile. The phone is theirs, so it is shown in full (E.164): masking
    protects a member from staff and reports, not from themselves."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "m_01J...", "brand_id": "b_01J...", "phone": "+8613800138000", "name": "王小明", "gender": "male",
        "birthday": "1990-05-17", "store_id": "s_01J...", "consents": {"sms": True}}]})

    id: str
    brand_id: str
    phone: str | None = Field(description="E.164; null until a phone is bound (`POST /v1/app/me/phone`)")
    name: str | None
    gender: str | None
    birthday: date | None
    store_id: str | None
    consents: dict[str, bool]

    @classmethod
    def of(cls, m: members_pb2.Member) -> MeOut:
        return cls(id=m.id, brand_id=m.brand_id, phone=m.phone or None,
                   name=m.name or None, gender=m.gender or None,
                   birthday=date.fromisoformat(m.birthday) if m.birthday else None, store_id=m.store_id or None,
                   consents=dict(m.consents))


def _directory(request: Request) -> MemberDirectory:
    directory: MemberDirectory = request.app.state.member_directory
    return directory


@router.post(
    "/brands/{brand_id}/session", response_model=MemberSession,
    responses=problem_responses(401, 404, 422, 429, 503),
)
async def start_session(
    brand_id: str, body: SessionRequest, request: Request, audit: Annotated[AuditLog, Depends(audit_log)],
) -> MemberSession:
    """Sign a member in with a `wx.login()` code: WeChat's `code2session` names the user (OpenID/UnionID),
    the members service finds — or registers — the brand's member, and the answer is a member token."""
    settings: GatewaySettings = request.app.state.settings
    app = settings.wechat_apps.get(brand_id)
    if app is None:
        raise not_found("brand")  # no mini-program configured: to this client the brand does not exist
    client = request.client.host if request.client else "unknown"
    request.app.state.login_limiter.check(f"app-login:{client}")
    wechat: WeChatClient = request.app.state.wechat
    identity = await wechat.code2session(app, body.code)
    member = await _directory(request).find_or_create_by_wechat(brand_id, identity, store_id=body.store_id)
    tokens: TokenIssuer = request.app.state.tokens
    audit.record("member.login", actor=f"member:{member.member_id}", brand_id=brand_id, request=request,
                 created=int(member.created))
    return MemberSession(access_token=tokens.issue_member(member_id=member.member_id, brand_id=brand_id),
                         expires_in=tokens.member_ttl_seconds, member_id=member.member_id,
                         created=member.created)


async def _member(clients: ClientsDep, me: MemberPrincipal) -> members_pb2.Member:
    member = await rpc(
        clients.members.GetMember(members_pb2.GetMemberRequest(brand_id=me.brand_id, member_id=me.member_id)),
        not_found_as="member",
    )
    if member.brand_id and member.brand_id != me.brand_id:
        raise not_found("member")
    return member


@router.get("/me", response_model=MeOut, responses=problem_responses(401, 403, 404))
async def get_me(me: Me, clients: ClientsDep) -> MeOut:
    """The signed-in member's profile."""
    return MeOut.of(await _member(clients, me))


class PhoneBind(RequestBody):
    """The one-time code of the mini-program's ``getPhoneNumber`` button (``e.detail.code``)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"code": "e31968a7f94cc5ee25fafc2aef2773f0bb8c3937"}]})

    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


# To a member token another member's id is someone else's data: the 409 says what happened, never who.
_PHONE_TAKEN = ("该手机号已绑定本品牌的其他会员，请联系门店处理。 / This phone number already belongs to another "
                "member of this brand; please contact the store.")


@router.post("/me/phone", response_model=MeOut, responses=problem_responses(401, 403, 404, 409, 422, 429, 503))
async def bind_phone(
    me: Me, body: PhoneBind, request: Request, clients: ClientsDep, audit: Annotated[AuditLog, Depends(audit_log)],
) -> MeOut:
    """Bind the phone number WeChat vouches for: the `getPhoneNumber` code is exchanged with WeChat
    (`getuserphonenumber`) and the number becomes the member's phone. A number another member of the brand
    already has is a 409 (`duplicate-phone`) that does not say which member."""
    settings: GatewaySettings = request.app.state.settings
    app = settings.wechat_apps.get(me.brand_id)
    if app is None:
        raise not_found("brand")  # the brand's mini-program was unconfigured after the token was issued
    # Each bind costs WeChat API calls from the brand's daily quota: the sign-in limiter, keyed by member.
    request.app.state.login_limiter.check(f"app-phone:{me.member_id}")
    wechat: WeChatClient = request.app.state.wechat
    phone = await wechat.phone_number(app, body.code)
    try:
        member = await clients.members.UpdateMember(members_pb2.UpdateMemberRequest(
            brand_id=me.brand_id, member_id=me.member_id, phone=phone, actor_id=me.actor))
    except RemoteError as err:
        if err.code == grpc.StatusCode.ALREADY_EXISTS and err.reason == "DUPLICATE_PHONE":
            audit.record("member.phone_bind", actor=me.actor, outcome="conflict", brand_id=me.brand_id,
                         target=f"member:{me.member_id}", request=request)
            raise ProblemError(409, _PHONE_TAKEN, reason="DUPLICATE_PHONE") from None
        if err.code == grpc.StatusCode.NOT_FOUND:
            raise not_found("member") from None
        # The number came from the code, so a number the service rejects is the code's fault to this client.
        raise problem_from_remote(err, {"phone": "code"}) from None
    if member.brand_id and member.brand_id != me.brand_id:
        raise not_found("member")
    audit.record("member.phone_bind", actor=me.actor, brand_id=me.brand_id, target=f"member:{me.member_id}",
                 request=request)
    return MeOut.of(member)


class MyConsentsPut(RequestBody):
    """Grant or withdraw the member's own consent per channel; ``opt_out_all`` withdraws every channel."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"sms": False, "wechat": True}, {"opt_out_all": True}]})

    sms: bool | None = None
    wechat: bool | None = None
    email: bool | None = None
    push: bool | None = None
    opt_out_all: bool = False

    def granted(self) -> dict[str, bool]:
        """The channels the body names, and whether each is now granted."""
        return {k: v for k, v in (("sms", self.sms), ("wechat", self.wechat), ("email", self.email),
                                  ("push", self.push)) if v is not None}

    @model_validator(mode="after")
    def _consistent(self) -> MyConsentsPut:
        if not self.granted() and not self.opt_out_all:
            raise ValueError("give at least one channel or opt_out_all")
        # The service would let opt_out_all win silently; a body that also grants a channel is a client bug.
        if self.opt_out_all and any(self.granted().values()):
            raise ValueError("opt_out_all cannot be combined with granting a channel")
        return self


class MyConsents(BaseModel):
    """The member's consent per channel after the change (channels never answered are absent)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"consents": {"sms": False, "wechat": False}}]})

    consents: dict[str, bool]


@router.put("/me/consents", response_model=MyConsents, responses=problem_responses(401, 403, 404, 422))
async def set_my_consents(me: Me, body: MyConsentsPut, clients: ClientsDep) -> MyConsents:
    """Grant or withdraw marketing consent per channel, or opt out of everything (PIPL); the members service
    records the time and the source `mini_program`."""
    member = await rpc(clients.members.SetConsents(members_pb2.SetConsentsRequest(
        brand_id=me.brand_id, member_id=me.member_id, consents=body.granted(), opt_out_all=body.opt_out_all,
        source="mini_program")), not_found_as="member")
    return MyConsents(consents=dict(member.consents))


@router.get("/me/points", response_model=PointsOut, responses=problem_responses(401, 403, 404))
async def get_my_points(me: Me, clients: ClientsDep) -> PointsOut:
    """Balance, tier, growth value and points about to expire."""
    account = await rpc(
        clients.loyalty.GetPointsAccount(
            loyalty_pb2.GetPointsAccountRequest(brand_id=me.brand_id, member_id=me.member_id)),
        not_found_as="member",
    )
    return PointsOut.of(account)


class MyCoupon(BaseModel):
    """One of the member's coupons."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "code": "CPN8K2Q", "name": "满100减20", "kind": "cash", "status": "active", "value_fen": 2000,
        "percent_off": None, "valid_from": "2026-03-01T00:00:00Z", "valid_to": "2026-03-31T15:59:59Z"}]})

    code: str
    name: str | None
    kind: str
    status: str = Field(description="active | redeemed | void | expired")
    value_fen: int | None
    percent_off: int | None
    valid_from: datetime | None
    valid_to: datetime | None

    @classmethod
    def of(cls, c: loyalty_pb2.Coupon) -> MyCoupon:
        return cls(code=c.code, name=c.name or None, kind=c.kind, status=c.status,
                   value_fen=c.value_fen if c.kind == "cash" else None,
                   percent_off=c.percent_off if c.kind == "percent" else None,
                   valid_from=_ts(c, "valid_from"), valid_to=_ts(c, "valid_to"))


class MyLedgerEntry(BaseModel):
    """One change of the member's points."""

    delta: int
    balance_after: int
    reason: str
    created_at: datetime | None


def _ts(message: Any, field: str) -> datetime | None:
    return getattr(message, field).ToDatetime(tzinfo=UTC) if message.HasField(field) else None


@router.get("/me/coupons", response_model=Page[MyCoupon], responses=problem_responses(401, 403, 404))
async def get_my_coupons(me: Me, clients: ClientsDep) -> Page[MyCoupon]:
    """The member's coupons (active, redeemed, void and expired)."""
    reply = await rpc(clients.loyalty.ListMemberCoupons(
        loyalty_pb2.ListMemberCouponsRequest(brand_id=me.brand_id, member_id=me.member_id)),
        not_found_as="member")
    return Page[MyCoupon](items=[MyCoupon.of(c) for c in reply.items])


@router.get("/me/points/ledger", response_model=Page[MyLedgerEntry], responses=problem_responses(401, 403, 404, 422),
            openapi_extra=PAGE.openapi)
async def get_my_ledger(me: Me, clients: ClientsDep, page: PageParams) -> Page[MyLedgerEntry]:
    """Every change of the member's points, newest first."""
    reply = await rpc(clients.loyalty.ListPointsLedger(loyalty_pb2.ListPointsLedgerRequest(
        brand_id=me.brand_id, member_id=me.member_id, cursor=page.cursor or "", limit=page.limit)),
        not_found_as="member", field_aliases={"cursor": "cursor", "limit": "limit"})
    return Page[MyLedgerEntry](
        items=[MyLedgerEntry(delta=e.delta, balance_after=e.balance_after, reason=e.reason,
                             created_at=_ts(e, "created_at")) for e in reply.items],
        next_cursor=reply.next_cursor or None)


class MyOrder(BaseModel):
    """One of the member's orders (the same fields as the staff route's order list)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "order_id": "o_01J...", "external_id": "POS-20260301-0042", "store_id": "s_01J...",
        "occurred_at": "2026-03-01T10:15:00Z", "total_fen": 12800, "points_earned": 128, "refunded_fen": 0,
        "item_count": 3}]})

    order_id: str
    external_id: str
    store_id: str
    occurred_at: datetime | None
    total_fen: int
    points_earned: int
    refunded_fen: int = Field(description="Refunded so far (partial refunds add up)")
    item_count: int = Field(description="Sum of the lines' quantities")

    @classmethod
    def of(cls, o: loyalty_pb2.MemberOrder) -> MyOrder:
        return cls(order_id=o.order_id, external_id=o.external_id, store_id=o.store_id,
                   occurred_at=_ts(o, "occurred_at"), total_fen=o.total_fen, points_earned=o.points_earned,
                   refunded_fen=o.refunded_fen, item_count=o.item_count)


class OrdersQuery(BaseModel):
    """``?cursor=&limit=`` of the order list (the loyalty service pages at most 100)."""

    cursor: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20


ORDERS = QueryModel(OrdersQuery)


@router.get("/me/orders", response_model=Page[MyOrder], responses=problem_responses(401, 403, 404, 422),
            openapi_extra=ORDERS.openapi)
async def get_my_orders(me: Me, clients: ClientsDep, page: Annotated[OrdersQuery, Depends(ORDERS)]) -> Page[MyOrder]:
    """The member's orders, newest first, with what each earned and what was refunded."""
    reply = await rpc(clients.loyalty.ListMemberOrders(loyalty_pb2.ListMemberOrdersRequest(
        brand_id=me.brand_id, member_id=me.member_id, cursor=page.cursor or "", limit=page.limit)),
        not_found_as="member", field_aliases={"cursor": "cursor", "limit": "limit"})
    return Page[MyOrder](items=[MyOrder.of(o) for o in reply.orders], next_cursor=reply.next_cursor or None)
