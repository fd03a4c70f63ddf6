"""Gateway loyalty routes beyond orders: refunds, ledger, redemptions (Idempotency-Key), programme, coupons and
wallet — translation, validation, scoping and error mapping against a fake LoyaltyService over real gRPC."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from crm.loyalty.v1 import loyalty_pb2
from crm_common.errors import AlreadyExists, Conflict, NotFound

from .conftest import BRAND_A, BRAND_B, Backends, FakeLoyalty

A = f"/v1/brands/{BRAND_A}"


class RichFakeLoyalty(FakeLoyalty):
    """Adds the refund, points, programme, coupon and wallet RPCs, answering like the real service."""

    def __init__(self) -> None:
        super().__init__()
        self.balance = 100
        self.keys: dict[str, tuple[int, loyalty_pb2.PointsChange]] = {}
        self.last: object = None
        self.program = loyalty_pb2.Program(version=0, config_json=json.dumps({"earn": {"points_per_yuan": 1}}))

    async def RefundOrder(self, request, context):
        self.last = request
        if request.external_id == "missing":
            raise NotFound("no such order", reason="ORDER_NOT_FOUND")
        if request.amount_fen > 10_000:
            raise Conflict("too much", reason="REFUND_EXCEEDS_ORDER", field="amount_fen")
        return loyalty_pb2.RefundOrderResponse(refund_id="rf-1", points_reversed=request.amount_fen // 100,
                                               growth_reversed=request.amount_fen // 100)

    async def ListPointsLedger(self, request, context):
        entry = loyalty_pb2.LedgerEntry(id=7, delta=-5, balance_after=95, reason="REDEMPTION", reference="redeem:k",
                                        created_at=Timestamp(seconds=1_700_000_000))
        return loyalty_pb2.ListPointsLedgerResponse(items=[entry], next_cursor="7")

    async def RedeemPoints(self, request, context):
        if request.idempotency_key in self.keys:
            points, first = self.keys[request.idempotency_key]
            if points != request.points:
                raise AlreadyExists("key reused", reason="IDEMPOTENCY_CONFLICT")
            return first
        if request.points > self.balance:
            raise Conflict("not enough points", reason="INSUFFICIENT_POINTS", field="points")
        self.balance -= request.points
        result = loyalty_pb2.PointsChange(balance=self.balance, delta=-request.points)
        self.keys[request.idempotency_key] = (request.points, result)
        return result

    async def AdjustPoints(self, request, context):
        self.last = request
        return loyalty_pb2.PointsChange(balance=self.balance + request.delta, delta=request.delta)

    async def GetProgram(self, request, context):
        return self.program

    async def PutProgram(self, request, context):
        self.last = request
        self.program = loyalty_pb2.Program(version=self.program.version + 1, config_json=request.config_json,
                                           updated_by=request.staff_id)
        return self.program

    async def CreateCouponTemplate(self, request, context):
        t = loyalty_pb2.CouponTemplate()
        t.CopyFrom(request.template)
        t.id = "ct-1"
        return t

    async def GrantCoupon(self, request, context):
        if request.template_id == "empty":
            raise Conflict("out of stock", reason="OUT_OF_STOCK")
        return loyalty_pb2.Coupon(code="C1", template_id=request.template_id, member_id=request.member_id,
                                  status="active", kind="cash", value_fen=500)

    async def RedeemCoupon(self, request, context):
        raise Conflict("used", reason="COUPON_USED")

    async def TopUpWallet(self, request, context):
        return loyalty_pb2.WalletChange(
            wallet=loyalty_pb2.Wallet(principal_fen=request.amount_fen, bonus_fen=1000,
                                      balance_fen=request.amount_fen + 1000),
            principal_delta_fen=request.amount_fen, bonus_delta_fen=1000,
        )

    async def PayFromWallet(self, request, context):
        raise Conflict("short", reason="INSUFFICIENT_FUNDS", field="amount_fen")


@pytest.fixture
async def backends() -> AsyncIterator[Backends]:
    fakes = Backends()
    fakes.loyalty = RichFakeLoyalty()
    await fakes.start()
    try:
        yield fakes
    finally:
        await fakes.stop_all()


AsRole = Callable[..., dict[str, str]]


async def test_refund_route_translates_and_maps_errors(client: httpx.AsyncClient, as_role: AsRole) -> None:
    admin = as_role("brand_admin")
    ok = await client.post(f"{A}/orders/POS-1/refunds", headers=admin,
                           json={"external_refund_id": "R1", "amount_fen": 5000,
                                 "items": [{"sku": "TEA", "quantity": 1}]})
    assert ok.status_code == 201
    assert ok.json() == {"refund_id": "rf-1", "points_reversed": 50, "growth_reversed": 50, "debt_added": 0}
    too_much = await client.post(f"{A}/orders/POS-1/refunds", headers=admin,
                                 json={"external_refund_id": "R2", "amount_fen": 20000})
    assert too_much.status_code == 409
    assert too_much.json()["type"].endswith("/refund-exceeds-order")
    missing = await client.post(f"{A}/orders/missing/refunds", headers=admin,
                                json={"external_refund_id": "R3", "amount_fen": 1})
    assert missing.status_code == 404
    bad = await client.post(f"{A}/orders/POS-1/refunds", headers=admin,
                            json={"external_refund_id": "R4", "amount_fen": "100"})
    assert bad.status_code == 422


async def test_redemption_needs_a_key_replays_it_and_says_insufficient_points(
    client: httpx.AsyncClient, as_role: AsRole
) -> None:
    admin = as_role("brand_admin")
    url = f"{A}/members/m-a1/points/redemptions"
    missing_key = await client.post(url, headers=admin, json={"points": 10, "reason": "gift"})
    assert missing_key.status_code == 422
    first = await client.post(url, headers={**admin, "Idempotency-Key": "k1"}, json={"points": 10, "reason": "gift"})
    again = await client.post(url, headers={**admin, "Idempotency-Key": "k1"}, json={"points": 10, "reason": "gift"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["balance"] == again.json()["balance"] == 90
    other = await client.post(url, headers={**admin, "Idempotency-Key": "k1"}, json={"points": 11, "reason": "gift"})
    assert other.status_code == 409
    short = await client.post(url, headers={**admin, "Idempotency-Key": "k2"}, json={"points": 1000, "reason": "x"})
    assert short.status_code == 409
    assert short.json()["type"].endswith("/insufficient-points")


async def test_store_scoped_clerk_cannot_touch_a_member_of_another_store(
    client: httpx.AsyncClient, as_role: AsRole
) -> None:
    clerk = as_role("clerk", store_ids=("store-a1",))
    other_store = await client.post(f"{A}/members/m-a2/points/redemptions",
                                    headers={**clerk, "Idempotency-Key": "k"}, json={"points": 1, "reason": "x"})
    assert other_store.status_code == 404
    other_brand = await client.get(f"/v1/brands/{BRAND_B}/members/m-b1/points/ledger", headers=clerk)
    assert other_brand.status_code in (403, 404)
    mine = await client.get(f"{A}/members/m-a1/points/ledger", headers=clerk)
    assert mine.status_code == 200
    assert mine.json()["items"][0]["reason"] == "REDEMPTION"
    assert mine.json()["next_cursor"] == "7"


async def test_programme_get_and_put_and_only_admins_may_put(
    client: httpx.AsyncClient, as_role: AsRole, backends: Backends
) -> None:
    got = await client.get(f"{A}/loyalty/program", headers=as_role("clerk", store_ids=("store-a1",)))
    assert got.status_code == 200 and got.json()["version"] == 0
    denied = await client.put(f"{A}/loyalty/program", headers=as_role("clerk", store_ids=("store-a1",)), json={})
    assert denied.status_code == 403
    doc = {"earn": {"points_per_yuan": 2}, "tiers": [{"name": "gold", "min_growth": 1000}]}
    put = await client.put(f"{A}/loyalty/program", headers=as_role("brand_admin"), json=doc)
    assert put.status_code == 200
    assert put.json()["config"] == doc and put.json()["version"] == 1


async def test_coupon_template_grant_and_redemption(client: httpx.AsyncClient, as_role: AsRole) -> None:
    admin = as_role("brand_admin")
    bad = await client.post(f"{A}/coupon-templates", headers=admin, json={"name": "x", "kind": "cash", "stock": 1,
                                                                         "valid_days": 3})
    assert bad.status_code == 422
    created = await client.post(f"{A}/coupon-templates", headers=admin,
                                json={"name": "5 off", "kind": "cash", "value_fen": 500, "stock": 10, "valid_days": 3})
    assert created.status_code == 201 and created.json()["id"] == "ct-1"
    grant = await client.post(f"{A}/coupon-templates/ct-1/grants", headers={**admin, "Idempotency-Key": "g"},
                              json={"member_id": "m-a1"})
    assert grant.status_code == 201 and grant.json()["code"] == "C1"
    empty = await client.post(f"{A}/coupon-templates/empty/grants", headers={**admin, "Idempotency-Key": "g2"},
                              json={"member_id": "m-a1"})
    assert empty.status_code == 409 and empty.json()["type"].endswith("/out-of-stock")
    used = await client.post(f"{A}/coupons/C1/redemptions", headers=admin, json={})
    assert used.status_code == 409 and used.json()["type"].endswith("/coupon-used")


async def test_wallet_top_up_and_insufficient_payment(client: httpx.AsyncClient, as_role: AsRole) -> None:
    admin = as_role("brand_admin")
    top = await client.post(f"{A}/members/m-a1/wallet/top-ups", headers={**admin, "Idempotency-Key": "t"},
                            json={"amount_fen": 100000})
    assert top.status_code == 201
    assert top.json()["wallet"] == {"principal_fen": 100000, "bonus_fen": 1000, "balance_fen": 101000}
    pay = await client.post(f"{A}/members/m-a1/wallet/payments", headers={**admin, "Idempotency-Key": "p"},
                            json={"amount_fen": 1})
    assert pay.status_code == 409 and pay.json()["type"].endswith("/insufficient-funds")
    zero = await client.post(f"{A}/members/m-a1/wallet/top-ups", headers={**admin, "Idempotency-Key": "z"},
                             json={"amount_fen": 0})
    assert zero.status_code == 422
