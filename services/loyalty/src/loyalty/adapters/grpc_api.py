"""gRPC handlers of LoyaltyService: protobuf in, use case, protobuf out. Errors are raised as DomainError."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import grpc

from crm.loyalty.v1 import loyalty_pb2, loyalty_pb2_grpc
from loyalty.app.coupons import CouponsApp
from loyalty.app.loyalty import LoyaltyApp, OrderResult, RefundDraft, RefundLineDraft
from loyalty.app.wallet import WalletApp
from loyalty.domain.orders import OrderDraft, OrderLine

Ctx = grpc.aio.ServicerContext


@dataclass(frozen=True)
class Apps:
    """The use cases the servicer calls."""

    loyalty: LoyaltyApp
    coupons: CouponsApp
    wallet: WalletApp


def order_from_proto(request: loyalty_pb2.RecordOrderRequest) -> OrderDraft:
    """The domain order of a RecordOrder request (no validation here: the use case validates)."""
    return OrderDraft(
        brand_id=request.brand_id,
        external_id=request.external_id,
        store_id=request.store_id,
        member_id=request.member_id,
        member_phone=request.member_phone,
        occurred_at=request.occurred_at.ToDatetime(tzinfo=UTC) if request.HasField("occurred_at") else None,
        items=tuple(
            OrderLine(sku=i.sku, name=i.name, category=i.category, quantity=i.quantity, amount_fen=i.amount_fen)
            for i in request.items
        ),
        total_fen=request.total_fen,
    )


def result_to_proto(result: OrderResult) -> loyalty_pb2.RecordOrderResponse:
    """The RecordOrder response of a use-case result."""
    response = loyalty_pb2.RecordOrderResponse(
        order_id=result.order_id, points_earned=result.points_earned, replayed=result.replayed
    )
    if result.member is not None:
        response.member.CopyFrom(
            loyalty_pb2.MemberPoints(
                member_id=result.member.member_id, points_balance=result.member.points_balance, tier=result.member.tier
            )
        )
    return response


def _coupon(c: dict[str, Any]) -> loyalty_pb2.Coupon:
    out = loyalty_pb2.Coupon(
        code=c["code"],
        template_id=c["template_id"],
        member_id=c["member_id"],
        status=c["status"],
        kind=c["kind"],
        value_fen=c["value_fen"],
        percent_off=c["percent_off"],
        name=c["name"],
        replayed=c.get("replayed", False),
        order_external_id=c.get("order_external_id", ""),
    )
    out.valid_from.FromDatetime(datetime.fromisoformat(c["valid_from"]).astimezone(UTC))
    out.valid_to.FromDatetime(datetime.fromisoformat(c["valid_to"]).astimezone(UTC))
    return out


def _template(t: Any) -> loyalty_pb2.CouponTemplate:
    out = loyalty_pb2.CouponTemplate(
        id=t["id"],
        brand_id=t["brand_id"],
        name=t["name"],
        kind=t["kind"],
        value_fen=t["value_fen"],
        percent_off=t["percent_off"],
        min_spend_fen=t["min_spend_fen"],
        stock=t["stock"],
        issued=t["issued"],
        per_member_limit=t["per_member_limit"],
        valid_days=t["valid_days"],
        store_ids=list(t["store_ids"]),
        categories=list(t["categories"]),
    )
    if t["valid_from"] is not None:
        out.valid_from.FromDatetime(t["valid_from"])
    if t["valid_to"] is not None:
        out.valid_to.FromDatetime(t["valid_to"])
    return out


def _program(brand_id: str, p: dict[str, Any]) -> loyalty_pb2.Program:
    out = loyalty_pb2.Program(
        brand_id=brand_id, version=p["version"], config_json=json.dumps(p["config"]), updated_by=p["updated_by"]
    )
    if p["updated_at"] is not None:
        out.updated_at.FromDatetime(p["updated_at"])
    return out


def _change(r: dict[str, Any]) -> loyalty_pb2.PointsChange:
    return loyalty_pb2.PointsChange(
        balance=r["balance"],
        debt=r["debt"],
        delta=r["delta"],
        ledger_entry_id=r.get("ledger_entry_id") or 0,
        replayed=r.get("replayed", False),
    )


def _wallet_change(r: dict[str, Any]) -> loyalty_pb2.WalletChange:
    return loyalty_pb2.WalletChange(
        wallet=loyalty_pb2.Wallet(**r["wallet"]),
        principal_delta_fen=r["principal_delta_fen"],
        bonus_delta_fen=r["bonus_delta_fen"],
        replayed=r.get("replayed", False),
    )


class LoyaltyServicer(loyalty_pb2_grpc.LoyaltyServiceServicer):
    """crm.loyalty.v1.LoyaltyService over the use cases (awaited: they exist once the service started)."""

    def __init__(self, apps: Callable[[], Awaitable[Apps]]) -> None:
        self._apps = apps

    async def _app(self) -> LoyaltyApp:
        return (await self._apps()).loyalty

    # --- orders and points ---------------------------------------------------------------------------------

    async def RecordOrder(
        self, request: loyalty_pb2.RecordOrderRequest, context: Ctx
    ) -> loyalty_pb2.RecordOrderResponse:
        """Record an order; see the proto for the idempotency contract."""
        return result_to_proto(await (await self._app()).record_order(order_from_proto(request)))

    async def GetPointsAccount(
        self, request: loyalty_pb2.GetPointsAccountRequest, context: Ctx
    ) -> loyalty_pb2.PointsAccount:
        """A member's balance, tier, growth value, debt and soon-expiring points."""
        view = await (await self._app()).get_points_account(
            request.brand_id, request.member_id, request.expiring_within_days
        )
        account = loyalty_pb2.PointsAccount(
            member_id=view.member_id,
            balance=view.balance,
            tier=view.tier,
            growth_value=view.growth_value,
            debt=view.debt,
        )
        for points, expires_at in view.expiring:
            item = account.expiring.add(points=points)
            item.expires_at.FromDatetime(expires_at)
        return account

    async def RefundOrder(
        self, request: loyalty_pb2.RefundOrderRequest, context: Ctx
    ) -> loyalty_pb2.RefundOrderResponse:
        """Refund (part of) an order; idempotent by external_refund_id."""
        r = await (await self._app()).refund_order(
            RefundDraft(
                brand_id=request.brand_id,
                external_id=request.external_id,
                external_refund_id=request.external_refund_id,
                amount_fen=request.amount_fen,
                items=tuple(RefundLineDraft(i.sku, i.quantity) for i in request.items),
                occurred_at=request.occurred_at.ToDatetime(tzinfo=UTC) if request.HasField("occurred_at") else None,
            )
        )
        out = loyalty_pb2.RefundOrderResponse(
            refund_id=r["refund_id"],
            points_reversed=r["points_reversed"],
            growth_reversed=r["growth_reversed"],
            debt_added=r["debt_added"],
            replayed=r["replayed"],
        )
        if r.get("member"):
            out.member.CopyFrom(loyalty_pb2.MemberPoints(**r["member"]))
        return out

    async def ListPointsLedger(
        self, request: loyalty_pb2.ListPointsLedgerRequest, context: Ctx
    ) -> loyalty_pb2.ListPointsLedgerResponse:
        """The member's ledger, newest first, paged by cursor."""
        rows, cursor = await (await self._app()).ledger(
            request.brand_id, request.member_id, request.cursor, request.limit
        )
        out = loyalty_pb2.ListPointsLedgerResponse(next_cursor=cursor)
        for r in rows:
            entry = out.items.add(
                id=r["id"],
                delta=r["delta"],
                debt_delta=r["debt_delta"],
                balance_after=r["balance_after"],
                debt_after=r["debt_after"],
                reason=r["reason"],
                reference=r["reference"],
                staff_id=r["staff_id"],
                note=r["note"],
            )
            entry.created_at.FromDatetime(r["created_at"])
        return out

    async def RedeemPoints(self, request: loyalty_pb2.RedeemPointsRequest, context: Ctx) -> loyalty_pb2.PointsChange:
        """Spend points; idempotent by key."""
        return _change(
            await (await self._app()).redeem_points(
                request.brand_id,
                request.member_id,
                request.points,
                request.reason,
                request.idempotency_key,
                request.reference,
            )
        )

    async def AdjustPoints(self, request: loyalty_pb2.AdjustPointsRequest, context: Ctx) -> loyalty_pb2.PointsChange:
        """A staff correction; idempotent by key."""
        return _change(
            await (await self._app()).adjust_points(
                request.brand_id,
                request.member_id,
                request.delta,
                request.staff_id,
                request.reason,
                request.idempotency_key,
            )
        )

    async def AwardActionPoints(
        self, request: loyalty_pb2.AwardActionPointsRequest, context: Ctx
    ) -> loyalty_pb2.PointsChange:
        """Points for a non-purchase action, once per (action, reference)."""
        return _change(
            await (await self._app()).award_action(
                request.brand_id, request.member_id, request.action, request.reference
            )
        )

    async def GetProgram(self, request: loyalty_pb2.GetProgramRequest, context: Ctx) -> loyalty_pb2.Program:
        """The programme in force."""
        return _program(request.brand_id, await (await self._app()).get_program(request.brand_id))

    async def PutProgram(self, request: loyalty_pb2.PutProgramRequest, context: Ctx) -> loyalty_pb2.Program:
        """A new programme version."""
        app = await self._app()
        return _program(
            request.brand_id, await app.put_program(request.brand_id, request.config_json, request.staff_id)
        )

    async def ListMemberOrders(
        self, request: loyalty_pb2.ListMemberOrdersRequest, context: Ctx
    ) -> loyalty_pb2.ListMemberOrdersResponse:
        """The member's orders, newest first, paged by an opaque cursor."""
        rows, cursor = await (await self._app()).member_orders(
            request.brand_id, request.member_id, request.cursor, request.limit
        )
        out = loyalty_pb2.ListMemberOrdersResponse(next_cursor=cursor)
        for r in rows:
            order = out.orders.add(
                order_id=r["id"],
                external_id=r["external_id"],
                store_id=r["store_id"],
                total_fen=r["total_fen"],
                points_earned=r["points_earned"],
                refunded_fen=r["refunded_fen"],
                item_count=r["item_count"],
            )
            order.occurred_at.FromDatetime(r["occurred_at"])
        return out

    async def GetOrderTotals(
        self, request: loyalty_pb2.GetOrderTotalsRequest, context: Ctx
    ) -> loyalty_pb2.OrderTotals:
        """All-time order and refund totals of the brand."""
        return loyalty_pb2.OrderTotals(**await (await self._app()).order_totals(request.brand_id))

    # --- coupons -------------------------------------------------------------------------------------------

    async def CreateCouponTemplate(
        self, request: loyalty_pb2.CreateCouponTemplateRequest, context: Ctx
    ) -> loyalty_pb2.CouponTemplate:
        """A new coupon template."""
        t = request.template
        doc: dict[str, Any] = {
            "name": t.name,
            "kind": t.kind,
            "value_fen": t.value_fen,
            "percent_off": t.percent_off,
            "min_spend_fen": t.min_spend_fen,
            "stock": t.stock,
            "per_member_limit": t.per_member_limit,
            "valid_days": t.valid_days,
            "store_ids": list(t.store_ids),
            "categories": list(t.categories),
            "valid_from": t.valid_from.ToDatetime(tzinfo=UTC) if t.HasField("valid_from") else None,
            "valid_to": t.valid_to.ToDatetime(tzinfo=UTC) if t.HasField("valid_to") else None,
        }
        return _template(await (await self._apps()).coupons.create_template(request.brand_id, doc))

    async def GetCouponTemplate(
        self, request: loyalty_pb2.GetCouponTemplateRequest, context: Ctx
    ) -> loyalty_pb2.CouponTemplate:
        """One template of the brand."""
        return _template(await (await self._apps()).coupons.get_template(request.brand_id, request.template_id))

    async def GrantCoupon(self, request: loyalty_pb2.GrantCouponRequest, context: Ctx) -> loyalty_pb2.Coupon:
        """Grant a coupon; idempotent by key."""
        return _coupon(
            await (await self._apps()).coupons.grant(
                request.brand_id, request.template_id, request.member_id, request.idempotency_key, request.granted_by
            )
        )

    async def ListMemberCoupons(
        self, request: loyalty_pb2.ListMemberCouponsRequest, context: Ctx
    ) -> loyalty_pb2.ListCouponsResponse:
        """The member's coupons."""
        items = await (await self._apps()).coupons.member_coupons(request.brand_id, request.member_id)
        return loyalty_pb2.ListCouponsResponse(items=[_coupon(c) for c in items])

    async def RedeemCoupon(self, request: loyalty_pb2.RedeemCouponRequest, context: Ctx) -> loyalty_pb2.Coupon:
        """Use a coupon once."""
        return _coupon(
            await (await self._apps()).coupons.redeem(
                request.brand_id, request.code, request.order_external_id, request.store_id
            )
        )

    async def VoidCoupon(self, request: loyalty_pb2.VoidCouponRequest, context: Ctx) -> loyalty_pb2.Coupon:
        """Cancel an unused coupon."""
        return _coupon(await (await self._apps()).coupons.void(request.brand_id, request.code, request.staff_id))

    async def ListExpiringCoupons(
        self, request: loyalty_pb2.ListExpiringCouponsRequest, context: Ctx
    ) -> loyalty_pb2.ListCouponsResponse:
        """Active coupons ending within the next hours (24 by default)."""
        items = await (await self._apps()).coupons.expiring(request.brand_id, request.within_hours)
        return loyalty_pb2.ListCouponsResponse(items=[_coupon(c) for c in items])

    # --- wallet --------------------------------------------------------------------------------------------

    async def GetWallet(self, request: loyalty_pb2.GetWalletRequest, context: Ctx) -> loyalty_pb2.Wallet:
        """The member's wallet."""
        return loyalty_pb2.Wallet(**await (await self._apps()).wallet.get(request.brand_id, request.member_id))

    async def TopUpWallet(self, request: loyalty_pb2.TopUpWalletRequest, context: Ctx) -> loyalty_pb2.WalletChange:
        """Top up (with the programme's bonus)."""
        return _wallet_change(
            await (await self._apps()).wallet.top_up(
                request.brand_id, request.member_id, request.amount_fen, request.idempotency_key
            )
        )

    async def PayFromWallet(self, request: loyalty_pb2.PayFromWalletRequest, context: Ctx) -> loyalty_pb2.WalletChange:
        """Pay from the wallet."""
        return _wallet_change(
            await (await self._apps()).wallet.pay(
                request.brand_id, request.member_id, request.amount_fen, request.idempotency_key, request.reference
            )
        )

    async def RefundToWallet(
        self, request: loyalty_pb2.RefundToWalletRequest, context: Ctx
    ) -> loyalty_pb2.WalletChange:
        """Return (part of) a wallet payment."""
        return _wallet_change(
            await (await self._apps()).wallet.refund(
                request.brand_id, request.member_id, request.payment_key, request.amount_fen, request.idempotency_key
            )
        )
