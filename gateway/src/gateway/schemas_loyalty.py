"""REST bodies of the loyalty routes beyond orders (refunds, ledger, redemptions, programme, coupons,
wallet) and their translation from loyalty protobufs. Same rules as ``gateway.schemas``: strict ints,
unknown fields refused, times with an offset."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from crm.loyalty.v1 import loyalty_pb2
from gateway.schemas import INT32_MAX, INT64_MAX, Fen, Id, RequestBody, Text, _or_none, _ts

Points = Annotated[int, Field(strict=True, gt=0, le=INT64_MAX)]
Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


def _stamp(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


# --- refunds and points -----------------------------------------------------------------------------------


class RefundLine(RequestBody):
    """Units of one SKU given back."""

    sku: Id
    quantity: Annotated[int, Field(strict=True, gt=0, le=INT32_MAX)]


class RefundCreate(RequestBody):
    """A refund of (part of) an order; idempotent by ``external_refund_id``."""

    external_refund_id: Key
    amount_fen: Fen
    items: Annotated[list[RefundLine], Field(max_length=1000)] | None = None

    def to_proto(self, brand_id: str, external_id: str) -> loyalty_pb2.RefundOrderRequest:
        return loyalty_pb2.RefundOrderRequest(
            brand_id=brand_id, external_id=external_id, external_refund_id=self.external_refund_id,
            amount_fen=self.amount_fen,
            items=[loyalty_pb2.RefundLine(sku=i.sku, quantity=i.quantity) for i in self.items or []],
        )


class RefundOut(BaseModel):
    """What the refund reversed; ``debt_added`` is the part the balance could not cover (owed points)."""

    refund_id: str
    points_reversed: int
    growth_reversed: int
    debt_added: int

    @classmethod
    def of(cls, r: loyalty_pb2.RefundOrderResponse) -> RefundOut:
        return cls(refund_id=r.refund_id, points_reversed=r.points_reversed, growth_reversed=r.growth_reversed,
                   debt_added=r.debt_added)


class LedgerEntryOut(BaseModel):
    """One immutable ledger entry: what changed, why, and what it refers to."""

    id: str
    delta: int
    debt_delta: int
    balance_after: int
    debt_after: int
    reason: str
    reference: str
    staff_id: str | None
    note: str | None
    created_at: datetime | None


class LedgerPage(BaseModel):
    """A page of the ledger, newest first."""

    items: list[LedgerEntryOut]
    next_cursor: str | None

    @classmethod
    def of(cls, r: loyalty_pb2.ListPointsLedgerResponse) -> LedgerPage:
        return cls(
            items=[
                LedgerEntryOut(
                    id=str(e.id), delta=e.delta, debt_delta=e.debt_delta, balance_after=e.balance_after,
                    debt_after=e.debt_after, reason=e.reason, reference=e.reference, staff_id=_or_none(e.staff_id),
                    note=_or_none(e.note), created_at=_ts(e.created_at, e.HasField("created_at")),
                )
                for e in r.items
            ],
            next_cursor=_or_none(r.next_cursor),
        )


class MemberOrderOut(BaseModel):
    """One of a member's orders as listed: what it cost, what it earned, what was refunded."""

    order_id: str
    external_id: str
    store_id: str
    occurred_at: datetime | None
    total_fen: int
    points_earned: int
    refunded_fen: int
    item_count: int


class MemberOrderPage(BaseModel):
    """A page of a member's orders, newest first; ``next_cursor`` is null on the last page."""

    items: list[MemberOrderOut]
    next_cursor: str | None

    @classmethod
    def of(cls, r: loyalty_pb2.ListMemberOrdersResponse) -> MemberOrderPage:
        return cls(
            items=[
                MemberOrderOut(
                    order_id=o.order_id, external_id=o.external_id, store_id=o.store_id,
                    occurred_at=_ts(o.occurred_at, o.HasField("occurred_at")), total_fen=o.total_fen,
                    points_earned=o.points_earned, refunded_fen=o.refunded_fen, item_count=o.item_count,
                )
                for o in r.orders
            ],
            next_cursor=_or_none(r.next_cursor),
        )


class RedemptionCreate(RequestBody):
    """Points spent on a gift or as payment; send an ``Idempotency-Key`` header."""

    points: Points
    reason: Text
    reference: Key | None = None


class AdjustmentCreate(RequestBody):
    """A staff correction of a balance (positive or negative); the staff id comes from the token."""

    delta: Annotated[int, Field(strict=True, ge=-INT64_MAX, le=INT64_MAX)]
    reason: Text


class ActionCreate(RequestBody):
    """Points for a non-purchase action, once per (action, reference) — e.g. a sign-in per day."""

    action: Literal["registration", "profile_completion", "sign_in", "referral"]
    reference: Key | None = None


class PointsChangeOut(BaseModel):
    """The account after a points command."""

    balance: int
    debt: int
    delta: int

    @classmethod
    def of(cls, r: loyalty_pb2.PointsChange) -> PointsChangeOut:
        return cls(balance=r.balance, debt=r.debt, delta=r.delta)


class ProgramOut(BaseModel):
    """The programme in force (version 0 is the built-in default)."""

    version: int
    config: dict[str, Any]
    updated_at: datetime | None
    updated_by: str | None

    @classmethod
    def of(cls, p: loyalty_pb2.Program) -> ProgramOut:
        return cls(version=p.version, config=json.loads(p.config_json or "{}"),
                   updated_at=_ts(p.updated_at, p.HasField("updated_at")), updated_by=_or_none(p.updated_by))


# --- coupons ----------------------------------------------------------------------------------------------


class CouponTemplateCreate(RequestBody):
    """A coupon template: cash (``value_fen``), percent (``percent_off``) or gift; validity as
    ``valid_days`` from grant or a fixed ``valid_from`` + ``valid_to`` window."""

    name: Text
    kind: Literal["cash", "percent", "gift"]
    value_fen: Fen | None = None
    percent_off: Annotated[int, Field(strict=True, gt=0, lt=100)] | None = None
    min_spend_fen: Fen | None = None
    stock: Annotated[int, Field(strict=True, ge=0, le=INT64_MAX)]
    per_member_limit: Annotated[int, Field(strict=True, ge=0, le=INT32_MAX)] | None = None
    valid_days: Annotated[int, Field(strict=True, gt=0, le=36500)] | None = None
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None
    store_ids: Annotated[list[Id], Field(max_length=1000)] | None = None
    categories: Annotated[list[Text], Field(max_length=1000)] | None = None

    def to_proto(self, brand_id: str) -> loyalty_pb2.CreateCouponTemplateRequest:
        t = loyalty_pb2.CouponTemplate(
            name=self.name, kind=self.kind, value_fen=self.value_fen or 0, percent_off=self.percent_off or 0,
            min_spend_fen=self.min_spend_fen or 0, stock=self.stock, per_member_limit=self.per_member_limit or 0,
            valid_days=self.valid_days or 0, store_ids=self.store_ids or [], categories=self.categories or [],
        )
        if self.valid_from is not None:
            t.valid_from.CopyFrom(_stamp(self.valid_from))
        if self.valid_to is not None:
            t.valid_to.CopyFrom(_stamp(self.valid_to))
        return loyalty_pb2.CreateCouponTemplateRequest(brand_id=brand_id, template=t)


class CouponTemplateOut(BaseModel):
    """A coupon template with how many coupons it has granted."""

    id: str
    name: str
    kind: str
    value_fen: int
    percent_off: int
    min_spend_fen: int
    stock: int
    issued: int
    per_member_limit: int
    valid_days: int | None
    valid_from: datetime | None
    valid_to: datetime | None
    store_ids: list[str]
    categories: list[str]

    @classmethod
    def of(cls, t: loyalty_pb2.CouponTemplate) -> CouponTemplateOut:
        return cls(
            id=t.id, name=t.name, kind=t.kind, value_fen=t.value_fen, percent_off=t.percent_off,
            min_spend_fen=t.min_spend_fen, stock=t.stock, issued=t.issued, per_member_limit=t.per_member_limit,
            valid_days=t.valid_days or None, valid_from=_ts(t.valid_from, t.HasField("valid_from")),
            valid_to=_ts(t.valid_to, t.HasField("valid_to")), store_ids=list(t.store_ids),
            categories=list(t.categories),
        )


class GrantCreate(RequestBody):
    """Grant one coupon of the template to a member; send an ``Idempotency-Key`` header."""

    member_id: Id


class CouponRedemptionCreate(RequestBody):
    """Use a coupon; with ``order_external_id`` the order must meet the template's conditions."""

    order_external_id: Key | None = None
    store_id: Id | None = None


class CouponOut(BaseModel):
    """A member's coupon."""

    code: str
    template_id: str
    member_id: str
    status: str
    name: str
    kind: str
    value_fen: int
    percent_off: int
    valid_from: datetime | None
    valid_to: datetime | None
    order_external_id: str | None

    @classmethod
    def of(cls, c: loyalty_pb2.Coupon) -> CouponOut:
        return cls(
            code=c.code, template_id=c.template_id, member_id=c.member_id, status=c.status, name=c.name, kind=c.kind,
            value_fen=c.value_fen, percent_off=c.percent_off, valid_from=_ts(c.valid_from, c.HasField("valid_from")),
            valid_to=_ts(c.valid_to, c.HasField("valid_to")), order_external_id=_or_none(c.order_external_id),
        )


class CouponList(BaseModel):
    """Coupons (not paged: a member holds a handful)."""

    items: list[CouponOut]
    next_cursor: str | None = None


# --- wallet -----------------------------------------------------------------------------------------------


class TopUpCreate(RequestBody):
    """Money paid into the wallet; the programme's bonus tiers add bonus on top."""

    amount_fen: Annotated[int, Field(strict=True, gt=0, le=INT64_MAX)]


class WalletPaymentCreate(RequestBody):
    """A payment from the wallet (principal and bonus in proportion)."""

    amount_fen: Annotated[int, Field(strict=True, gt=0, le=INT64_MAX)]
    reference: Key | None = None


class WalletRefundCreate(RequestBody):
    """Money of a wallet payment going back, in that payment's proportions."""

    payment_key: Key = Field(description="The Idempotency-Key of the payment being refunded")
    amount_fen: Annotated[int, Field(strict=True, gt=0, le=INT64_MAX)]


class WalletOut(BaseModel):
    """Stored value: principal and bonus kept apart."""

    principal_fen: int
    bonus_fen: int
    balance_fen: int

    @classmethod
    def of(cls, w: loyalty_pb2.Wallet) -> WalletOut:
        return cls(principal_fen=w.principal_fen, bonus_fen=w.bonus_fen, balance_fen=w.balance_fen)


class WalletChangeOut(BaseModel):
    """The wallet after a change, and what the change was."""

    wallet: WalletOut
    principal_delta_fen: int
    bonus_delta_fen: int

    @classmethod
    def of(cls, r: loyalty_pb2.WalletChange) -> WalletChangeOut:
        return cls(wallet=WalletOut.of(r.wallet), principal_delta_fen=r.principal_delta_fen,
                   bonus_delta_fen=r.bonus_delta_fen)
