"""Orders posted by POS systems, refunds, members' points, the programme, coupons and the wallet
(loyalty service). Money-like commands take an ``Idempotency-Key`` header: a repeat returns the first
result, the same key with other content is 409."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Response

from crm.loyalty.v1 import loyalty_pb2
from gateway.auth import Permission, Principal, brand_access, require_store
from gateway.errors import invalid, problem_responses, rpc
from gateway.routers import ClientsDep
from gateway.routers.members import get_visible_member
from gateway.schemas import OrderCreate, OrderOut, PointsOut
from gateway.schemas_loyalty import (
    ActionCreate,
    AdjustmentCreate,
    CouponList,
    CouponOut,
    CouponRedemptionCreate,
    CouponTemplateCreate,
    CouponTemplateOut,
    GrantCreate,
    LedgerPage,
    MemberOrderPage,
    PointsChangeOut,
    ProgramOut,
    RedemptionCreate,
    RefundCreate,
    RefundOut,
    TopUpCreate,
    WalletChangeOut,
    WalletOut,
    WalletPaymentCreate,
    WalletRefundCreate,
)

router = APIRouter(prefix="/v1/brands/{brand_id}", tags=["loyalty"])


@router.post(
    "/orders",
    status_code=201,
    response_model=OrderOut,
    responses={
        200: {"model": OrderOut, "description": "The same `external_id` again: the first result, unchanged"},
        **problem_responses(401, 403, 404, 409, 422),
    },
)
async def record_order(
    brand_id: str,
    body: OrderCreate,
    response: Response,
    clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.ORDER_WRITE))],
) -> OrderOut:
    """Record a purchase and earn points. Idempotent by `external_id`: a repeat → 200 with the first body;
    the same `external_id` with other content → 409."""
    if (body.member_id is None) == (body.member_phone is None):
        raise invalid(("member_id", "give exactly one of member_id and member_phone"))
    require_store(caller, body.store_id, "store")
    result = await rpc(clients.loyalty.RecordOrder(body.to_proto(brand_id)))
    if result.replayed:
        response.status_code = 200
    return OrderOut.of(result)


@router.get(
    "/members/{member_id}/points", response_model=PointsOut, responses=problem_responses(401, 403, 404)
)
async def get_points(
    brand_id: str,
    member_id: str,
    clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.POINTS_READ))],
) -> PointsOut:
    """A member's balance, tier, growth value and the points about to expire."""
    if caller.store_scoped:
        # Only the members service knows the member's store; ask it before showing anything.
        await get_visible_member(clients, caller, brand_id, member_id)
    account = await rpc(
        clients.loyalty.GetPointsAccount(
            loyalty_pb2.GetPointsAccountRequest(brand_id=brand_id, member_id=member_id)
        ),
        not_found_as="member",
    )
    return PointsOut.of(account)


IdempotencyKey = Annotated[
    str,
    Header(alias="Idempotency-Key", min_length=1, max_length=128,
           description="Makes the command safe to retry: a repeat returns the first result"),
]


async def _visible(clients: ClientsDep, caller: Principal, brand_id: str, member_id: str) -> None:
    # Only the members service knows the member's store; ask it before store-scoped staff see or change anything.
    if caller.store_scoped:
        await get_visible_member(clients, caller, brand_id, member_id)


@router.post(
    "/orders/{external_id}/refunds", status_code=201, response_model=RefundOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def refund_order(
    brand_id: str, external_id: str, body: RefundCreate, clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.ORDER_WRITE))],
) -> RefundOut:
    """Refund (part of) an order, by amount and optionally by items. Points and growth value are reversed in
    proportion; points already spent become debt paid from future earnings. Idempotent by `external_refund_id`;
    more than is left of the order → 409."""
    result = await rpc(clients.loyalty.RefundOrder(body.to_proto(brand_id, external_id)), not_found_as="order")
    return RefundOut.of(result)


@router.get(
    "/members/{member_id}/points/ledger", response_model=LedgerPage, responses=problem_responses(401, 403, 404, 422)
)
async def points_ledger(
    brand_id: str, member_id: str, clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.POINTS_READ))],
    cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> LedgerPage:
    """Every change of the balance, newest first, each with its reason and reference."""
    await _visible(clients, caller, brand_id, member_id)
    page = await rpc(
        clients.loyalty.ListPointsLedger(loyalty_pb2.ListPointsLedgerRequest(
            brand_id=brand_id, member_id=member_id, cursor=cursor or "", limit=limit)),
        not_found_as="member",
    )
    return LedgerPage.of(page)


@router.get(
    "/members/{member_id}/orders", response_model=MemberOrderPage, responses=problem_responses(401, 403, 404, 422)
)
async def member_orders(
    brand_id: str, member_id: str, clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.MEMBER_READ))],
    cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> MemberOrderPage:
    """The member's purchase history, newest first, each order with what it earned and what was refunded.
    Orders taken for the member's phone before they registered appear once attached."""
    await _visible(clients, caller, brand_id, member_id)
    page = await rpc(
        clients.loyalty.ListMemberOrders(loyalty_pb2.ListMemberOrdersRequest(
            brand_id=brand_id, member_id=member_id, cursor=cursor or "", limit=limit)),
        not_found_as="member",
    )
    return MemberOrderPage.of(page)


@router.post(
    "/members/{member_id}/points/redemptions", status_code=201, response_model=PointsChangeOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def redeem_points(
    brand_id: str, member_id: str, body: RedemptionCreate, idempotency_key: IdempotencyKey, clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.ORDER_WRITE))],
) -> PointsChangeOut:
    """Spend points. Not enough → 409 (type ends `/insufficient-points`); the balance never goes below zero."""
    await _visible(clients, caller, brand_id, member_id)
    result = await rpc(clients.loyalty.RedeemPoints(loyalty_pb2.RedeemPointsRequest(
        brand_id=brand_id, member_id=member_id, points=body.points, reason=body.reason,
        reference=body.reference or "", idempotency_key=idempotency_key,
    )), not_found_as="member")
    return PointsChangeOut.of(result)


@router.post(
    "/members/{member_id}/points/adjustments", status_code=201, response_model=PointsChangeOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def adjust_points(
    brand_id: str, member_id: str, body: AdjustmentCreate, idempotency_key: IdempotencyKey, clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.DIRECTORY_WRITE))],
) -> PointsChangeOut:
    """A staff correction (brand admins); the ledger entry carries the caller's staff id."""
    if body.delta == 0:
        raise invalid(("delta", "must not be 0"))
    result = await rpc(clients.loyalty.AdjustPoints(loyalty_pb2.AdjustPointsRequest(
        brand_id=brand_id, member_id=member_id, delta=body.delta, staff_id=caller.staff_id, reason=body.reason,
        idempotency_key=idempotency_key,
    )), not_found_as="member")
    return PointsChangeOut.of(result)


@router.post(
    "/members/{member_id}/points/actions", status_code=201, response_model=PointsChangeOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def award_action(
    brand_id: str, member_id: str, body: ActionCreate, clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.MEMBER_WRITE))],
) -> PointsChangeOut:
    """Points for registration, profile completion, sign-in or referral, once per (action, reference)."""
    await _visible(clients, caller, brand_id, member_id)
    result = await rpc(clients.loyalty.AwardActionPoints(loyalty_pb2.AwardActionPointsRequest(
        brand_id=brand_id, member_id=member_id, action=body.action, reference=body.reference or "",
    )), not_found_as="member")
    return PointsChangeOut.of(result)


@router.get("/loyalty/program", response_model=ProgramOut, responses=problem_responses(401, 403, 404))
async def get_program(
    brand_id: str, clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.POINTS_READ))],
) -> ProgramOut:
    """Earn rules, tiers, expiry policy and wallet bonuses in force (a new brand: the default programme)."""
    return ProgramOut.of(await rpc(clients.loyalty.GetProgram(loyalty_pb2.GetProgramRequest(brand_id=brand_id))))


@router.put("/loyalty/program", response_model=ProgramOut, responses=problem_responses(401, 403, 404, 422))
async def put_program(
    brand_id: str, body: Annotated[dict[str, Any], Body()], clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.DIRECTORY_WRITE))],
) -> ProgramOut:
    """Store a new version of the programme; orders from now on earn under it. The service validates the
    document and names the offending field (`earn.points_per_yuan`, `tiers[1].min_growth`, ...)."""
    result = await rpc(clients.loyalty.PutProgram(loyalty_pb2.PutProgramRequest(
        brand_id=brand_id, config_json=json.dumps(body), staff_id=caller.staff_id)))
    return ProgramOut.of(result)


@router.post(
    "/coupon-templates", status_code=201, response_model=CouponTemplateOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def create_coupon_template(
    brand_id: str, body: CouponTemplateCreate, clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.DIRECTORY_WRITE))],
) -> CouponTemplateOut:
    """A coupon template with its total stock, per-member limit, validity and conditions."""
    if body.kind == "cash" and not body.value_fen:
        raise invalid(("value_fen", "a cash coupon needs value_fen"))
    if body.kind == "percent" and not body.percent_off:
        raise invalid(("percent_off", "a percent coupon needs percent_off"))
    if (body.valid_days is None) == (body.valid_from is None or body.valid_to is None):
        raise invalid(("valid_days", "give valid_days or valid_from + valid_to"))
    return CouponTemplateOut.of(await rpc(clients.loyalty.CreateCouponTemplate(body.to_proto(brand_id))))


@router.post(
    "/coupon-templates/{template_id}/grants", status_code=201, response_model=CouponOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def grant_coupon(
    brand_id: str, template_id: str, body: GrantCreate, idempotency_key: IdempotencyKey, clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.MEMBER_WRITE))],
) -> CouponOut:
    """Grant a coupon to a member. Out of stock or over the per-member limit → 409."""
    await _visible(clients, caller, brand_id, body.member_id)
    result = await rpc(clients.loyalty.GrantCoupon(loyalty_pb2.GrantCouponRequest(
        brand_id=brand_id, template_id=template_id, member_id=body.member_id, idempotency_key=idempotency_key,
        granted_by=caller.staff_id,
    )))
    return CouponOut.of(result)


@router.get("/members/{member_id}/coupons", response_model=CouponList, responses=problem_responses(401, 403, 404))
async def member_coupons(
    brand_id: str, member_id: str, clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.POINTS_READ))],
) -> CouponList:
    """The member's coupons with their status (active, redeemed, void, expired)."""
    await _visible(clients, caller, brand_id, member_id)
    result = await rpc(clients.loyalty.ListMemberCoupons(
        loyalty_pb2.ListMemberCouponsRequest(brand_id=brand_id, member_id=member_id)))
    return CouponList(items=[CouponOut.of(c) for c in result.items])


@router.get("/coupons/expiring", response_model=CouponList, responses=problem_responses(401, 403, 404))
async def expiring_coupons(
    brand_id: str, clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.DIRECTORY_WRITE))],
    within_hours: Annotated[int, Query(ge=1, le=24 * 31)] = 24,
) -> CouponList:
    """Active coupons ending within the next `within_hours` (default 24), for reminders."""
    result = await rpc(clients.loyalty.ListExpiringCoupons(
        loyalty_pb2.ListExpiringCouponsRequest(brand_id=brand_id, within_hours=within_hours)))
    return CouponList(items=[CouponOut.of(c) for c in result.items])


@router.post(
    "/coupons/{code}/redemptions", status_code=201, response_model=CouponOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def redeem_coupon(
    brand_id: str, code: str, body: CouponRedemptionCreate, clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.ORDER_WRITE))],
) -> CouponOut:
    """Use a coupon once. Used, void or expired → 409."""
    if body.store_id is not None:
        require_store(caller, body.store_id, "store")
    result = await rpc(clients.loyalty.RedeemCoupon(loyalty_pb2.RedeemCouponRequest(
        brand_id=brand_id, code=code, order_external_id=body.order_external_id or "", store_id=body.store_id or "",
    )), not_found_as="coupon")
    return CouponOut.of(result)


@router.post("/coupons/{code}/void", response_model=CouponOut, responses=problem_responses(401, 403, 404, 409))
async def void_coupon(
    brand_id: str, code: str, clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.DIRECTORY_WRITE))],
) -> CouponOut:
    """Cancel an unused coupon."""
    result = await rpc(clients.loyalty.VoidCoupon(
        loyalty_pb2.VoidCouponRequest(brand_id=brand_id, code=code, staff_id=caller.staff_id)), not_found_as="coupon")
    return CouponOut.of(result)


@router.get("/members/{member_id}/wallet", response_model=WalletOut, responses=problem_responses(401, 403, 404))
async def get_wallet(
    brand_id: str, member_id: str, clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.POINTS_READ))],
) -> WalletOut:
    """The member's stored value: principal and bonus."""
    await _visible(clients, caller, brand_id, member_id)
    wallet = await rpc(clients.loyalty.GetWallet(loyalty_pb2.GetWalletRequest(brand_id=brand_id, member_id=member_id)),
                       not_found_as="member")
    return WalletOut.of(wallet)


@router.post(
    "/members/{member_id}/wallet/top-ups", status_code=201, response_model=WalletChangeOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def top_up_wallet(
    brand_id: str, member_id: str, body: TopUpCreate, idempotency_key: IdempotencyKey, clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.ORDER_WRITE))],
) -> WalletChangeOut:
    """Pay money in; the programme's bonus tiers add bonus (e.g. pay 1000 yuan, get 1100)."""
    await _visible(clients, caller, brand_id, member_id)
    result = await rpc(clients.loyalty.TopUpWallet(loyalty_pb2.TopUpWalletRequest(
        brand_id=brand_id, member_id=member_id, amount_fen=body.amount_fen, idempotency_key=idempotency_key,
    )), not_found_as="member")
    return WalletChangeOut.of(result)


@router.post(
    "/members/{member_id}/wallet/payments", status_code=201, response_model=WalletChangeOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def pay_from_wallet(
    brand_id: str, member_id: str, body: WalletPaymentCreate, idempotency_key: IdempotencyKey, clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.ORDER_WRITE))],
) -> WalletChangeOut:
    """Pay from the wallet; more than it holds → 409 (type ends `/insufficient-funds`)."""
    await _visible(clients, caller, brand_id, member_id)
    result = await rpc(clients.loyalty.PayFromWallet(loyalty_pb2.PayFromWalletRequest(
        brand_id=brand_id, member_id=member_id, amount_fen=body.amount_fen, reference=body.reference or "",
        idempotency_key=idempotency_key,
    )), not_found_as="member")
    return WalletChangeOut.of(result)


@router.post(
    "/members/{member_id}/wallet/refunds", status_code=201, response_model=WalletChangeOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def refund_to_wallet(
    brand_id: str, member_id: str, body: WalletRefundCreate, idempotency_key: IdempotencyKey, clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.ORDER_WRITE))],
) -> WalletChangeOut:
    """Return (part of) a wallet payment, in that payment's principal/bonus proportions."""
    await _visible(clients, caller, brand_id, member_id)
    result = await rpc(clients.loyalty.RefundToWallet(loyalty_pb2.RefundToWalletRequest(
        brand_id=brand_id, member_id=member_id, payment_key=body.payment_key, amount_fen=body.amount_fen,
        idempotency_key=idempotency_key,
    )), not_found_as="payment")
    return WalletChangeOut.of(result)
