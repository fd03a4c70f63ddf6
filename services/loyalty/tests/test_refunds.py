"""Refunds against real PostgreSQL: full, partial, after partial spending, after expiry, after a tier upgrade;
idempotency, never more than the order, and the books still reconcile."""

from __future__ import annotations

import json

import asyncpg
import pytest

from crm.loyalty.v1 import loyalty_pb2
from crm_common.errors import RemoteError

from .conftest import Brand, Stack
from .test_concurrency import no_mismatch
from .test_orders import order_request


def refund(brand: Brand, external_id: str, amount: int, rid: str, **kw: object) -> loyalty_pb2.RefundOrderRequest:
    return loyalty_pb2.RefundOrderRequest(
        brand_id=brand.id,
        external_id=external_id,
        external_refund_id=rid,
        amount_fen=amount,
        **kw,  # type: ignore[arg-type]
    )


async def account(stack: Stack, brand: Brand) -> loyalty_pb2.PointsAccount:
    return await stack.loyalty.GetPointsAccount(
        loyalty_pb2.GetPointsAccountRequest(brand_id=brand.id, member_id=brand.member_id)
    )


async def put_program(stack: Stack, brand: Brand, doc: dict[str, object]) -> None:
    await stack.loyalty.PutProgram(
        loyalty_pb2.PutProgramRequest(brand_id=brand.id, config_json=json.dumps(doc), staff_id="staff-1")
    )


async def test_full_refund_reverses_points_and_growth(stack: Stack, brand: Brand) -> None:
    o = order_request(brand)
    await stack.loyalty.RecordOrder(o)
    r = await stack.loyalty.RefundOrder(refund(brand, o.external_id, 12345, "R1"))
    assert (r.points_reversed, r.growth_reversed, r.debt_added) == (123, 123, 0)
    a = await account(stack, brand)
    assert (a.balance, a.growth_value, a.debt) == (0, 0, 0)
    again = await stack.loyalty.RefundOrder(refund(brand, o.external_id, 12345, "R1"))
    assert again.replayed and again.points_reversed == 123
    with pytest.raises(RemoteError) as caught:
        await stack.loyalty.RefundOrder(refund(brand, o.external_id, 1, "R2"))
    assert caught.value.reason == "REFUND_EXCEEDS_ORDER"
    with pytest.raises(RemoteError) as caught:
        await stack.loyalty.RefundOrder(refund(brand, o.external_id, 100, "R1"))
    assert caught.value.reason == "REFUND_CONFLICT"
    await no_mismatch(stack, brand)


async def test_partial_refunds_by_amount_and_items_add_up_to_the_order(stack: Stack, brand: Brand) -> None:
    o = order_request(brand)  # TEA-01 ×2 = 10000, CUP-02 ×1 = 2345; 123 points
    await stack.loyalty.RecordOrder(o)
    first = await stack.loyalty.RefundOrder(
        refund(brand, o.external_id, 5000, "P1", items=[loyalty_pb2.RefundLine(sku="TEA-01", quantity=1)])
    )
    assert first.points_reversed == 123 * 5000 // 12345
    with pytest.raises(RemoteError) as caught:
        await stack.loyalty.RefundOrder(
            refund(brand, o.external_id, 10, "P2", items=[loyalty_pb2.RefundLine(sku="TEA-01", quantity=2)])
        )
    assert caught.value.reason == "REFUND_EXCEEDS_ORDER"
    second = await stack.loyalty.RefundOrder(refund(brand, o.external_id, 7345, "P3"))
    assert first.points_reversed + second.points_reversed == 123
    assert (await account(stack, brand)).balance == 0
    await no_mismatch(stack, brand)


async def test_refund_after_partial_spending_takes_the_balance_and_records_the_rest_as_debt(
    stack: Stack, brand: Brand
) -> None:
    o = order_request(brand)
    await stack.loyalty.RecordOrder(o)
    await stack.loyalty.RedeemPoints(
        loyalty_pb2.RedeemPointsRequest(
            brand_id=brand.id, member_id=brand.member_id, points=100, reason="gift", idempotency_key="spend"
        )
    )
    r = await stack.loyalty.RefundOrder(refund(brand, o.external_id, 12345, "S1"))
    assert (r.points_reversed, r.debt_added) == (123, 100)
    a = await account(stack, brand)
    assert (a.balance, a.debt) == (0, 100)
    # The next order pays the debt first: 123 earned, 100 to the debt, 23 to the balance.
    nxt = await stack.loyalty.RecordOrder(order_request(brand))
    assert nxt.points_earned == 123
    a = await account(stack, brand)
    assert (a.balance, a.debt) == (23, 0)
    await no_mismatch(stack, brand)


async def test_refund_after_expiry_does_not_take_expired_points_twice(stack: Stack, brand: Brand) -> None:
    await put_program(stack, brand, {"expiry": {"policy": "days_after_earning", "days": 60}})
    o = order_request(brand)
    await stack.loyalty.RecordOrder(o)
    a = await account(stack, brand)
    assert [e.points for e in a.expiring] == []  # 60 days away: outside the default 30 days
    soon = await stack.loyalty.GetPointsAccount(
        loyalty_pb2.GetPointsAccountRequest(brand_id=brand.id, member_id=brand.member_id, expiring_within_days=61)
    )
    assert [e.points for e in soon.expiring] == [123]
    # Travel in time: the lot and its job are due now.
    conn = await asyncpg.connect(stack.pg_dsn)
    try:
        await conn.execute(
            "UPDATE points_lots SET expires_at = now() - interval '1 second' WHERE brand_id = $1", brand.id
        )
        await conn.execute(
            "UPDATE jobs SET run_at = now() - interval '1 second' WHERE kind = 'loyalty.points.expire'"
            " AND payload->>'brand_id' = $1",
            brand.id,
        )
    finally:
        await conn.close()
    await stack.run_due_jobs()
    a = await account(stack, brand)
    assert a.balance == 0
    assert (
        await stack.fetchval(
            "SELECT count(*) FROM outbox WHERE brand_id = $1 AND event_type = 'crm.loyalty.v1.PointsExpired'", brand.id
        )
        == 1
    )
    r = await stack.loyalty.RefundOrder(refund(brand, o.external_id, 12345, "E1"))
    assert (r.points_reversed, r.debt_added, r.growth_reversed) == (0, 0, 123)
    a = await account(stack, brand)
    assert (a.balance, a.debt, a.growth_value) == (0, 0, 0)
    await no_mismatch(stack, brand)


async def test_refund_after_a_tier_upgrade_takes_the_tier_back(stack: Stack, brand: Brand) -> None:
    await put_program(
        stack,
        brand,
        {
            "tiers": [{"name": "silver", "min_growth": 100}, {"name": "gold", "min_growth": 200}],
            "tier_period_days": 365,
        },
    )
    first = await stack.loyalty.RecordOrder(order_request(brand))  # growth 123: silver
    assert first.member.tier == "silver"
    o = order_request(brand)
    second = await stack.loyalty.RecordOrder(o)  # growth 246: gold at once
    assert second.member.tier == "gold"
    r = await stack.loyalty.RefundOrder(refund(brand, o.external_id, 12345, "T1"))
    assert r.member.tier == "silver"
    a = await account(stack, brand)
    assert (a.tier, a.growth_value) == ("silver", 123)
    changes = await stack.fetchval(
        "SELECT count(*) FROM outbox WHERE brand_id = $1 AND event_type = 'crm.loyalty.v1.TierChanged'", brand.id
    )
    assert changes == 3  # silver, gold, back to silver
    await no_mismatch(stack, brand)


async def test_refund_of_an_unknown_order_is_not_found(stack: Stack, brand: Brand) -> None:
    with pytest.raises(RemoteError) as caught:
        await stack.loyalty.RefundOrder(refund(brand, "nope", 1, "X"))
    assert caught.value.reason == "ORDER_NOT_FOUND"
