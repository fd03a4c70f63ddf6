"""Exactness under concurrency against real PostgreSQL: redemptions, coupon stock, repeated orders."""

from __future__ import annotations

import asyncio
import json
import uuid

import grpc

from crm.loyalty.v1 import loyalty_pb2
from crm_common.errors import RemoteError
from loyalty.reconcile import reconcile

from .conftest import Brand, Stack
from .test_orders import order_request


async def settle(calls: list) -> tuple[list, list[RemoteError]]:  # type: ignore[type-arg]
    results = await asyncio.gather(*calls, return_exceptions=True)
    errors = [r for r in results if isinstance(r, RemoteError)]
    others = [r for r in results if isinstance(r, BaseException) and not isinstance(r, RemoteError)]
    assert not others, others
    return [r for r in results if not isinstance(r, BaseException)], errors


async def no_mismatch(stack: Stack, brand: Brand) -> None:
    import asyncpg

    conn = await asyncpg.connect(stack.pg_dsn)
    try:
        assert await reconcile(conn, brand.id) == []
    finally:
        await conn.close()


async def test_50_concurrent_redemptions_on_a_balance_for_exactly_k_let_exactly_k_through(
    stack: Stack, brand: Brand
) -> None:
    k, each = 17, 7
    await stack.loyalty.RecordOrder(
        order_request(
            brand,
            total_fen=k * each * 100,
            items=[loyalty_pb2.OrderItem(sku="A", quantity=1, amount_fen=k * each * 100)],
        )
    )
    calls = [
        stack.loyalty.RedeemPoints(
            loyalty_pb2.RedeemPointsRequest(
                brand_id=brand.id, member_id=brand.member_id, points=each, reason="gift", idempotency_key=f"r-{i}"
            )
        )
        for i in range(50)
    ]
    ok, errors = await settle(calls)

    assert len(ok) == k
    assert len(errors) == 50 - k
    assert {e.reason for e in errors} == {"INSUFFICIENT_POINTS"}
    assert {e.code for e in errors} == {grpc.StatusCode.FAILED_PRECONDITION}
    assert sorted(r.balance for r in ok) == [each * i for i in range(k)]
    account = await stack.loyalty.GetPointsAccount(
        loyalty_pb2.GetPointsAccountRequest(brand_id=brand.id, member_id=brand.member_id)
    )
    assert account.balance == 0
    await no_mismatch(stack, brand)


async def test_a_repeated_redemption_key_returns_the_first_result_and_other_content_conflicts(
    stack: Stack, brand: Brand
) -> None:
    await stack.loyalty.RecordOrder(order_request(brand))  # 123 points
    request = loyalty_pb2.RedeemPointsRequest(
        brand_id=brand.id, member_id=brand.member_id, points=100, reason="gift", idempotency_key="k1"
    )
    results = await asyncio.gather(*(stack.loyalty.RedeemPoints(request) for _ in range(10)))

    assert {r.balance for r in results} == {23}
    assert sum(not r.replayed for r in results) == 1
    other = loyalty_pb2.RedeemPointsRequest(
        brand_id=brand.id, member_id=brand.member_id, points=5, reason="gift", idempotency_key="k1"
    )
    _, errors = await settle([stack.loyalty.RedeemPoints(other)])
    assert errors[0].code == grpc.StatusCode.ALREADY_EXISTS
    assert errors[0].reason == "IDEMPOTENCY_CONFLICT"


async def test_coupon_stock_of_10_grabbed_by_100_concurrent_members_grants_exactly_10(
    stack: Stack, brand: Brand
) -> None:
    template = await stack.loyalty.CreateCouponTemplate(
        loyalty_pb2.CreateCouponTemplateRequest(
            brand_id=brand.id,
            template=loyalty_pb2.CouponTemplate(
                name="10 off", kind="cash", value_fen=1000, stock=10, valid_days=7, per_member_limit=1
            ),
        )
    )
    members = [stack.new_member(brand) for _ in range(100)]
    calls = [
        stack.loyalty.GrantCoupon(
            loyalty_pb2.GrantCouponRequest(
                brand_id=brand.id, template_id=template.id, member_id=m, idempotency_key=f"g-{m}"
            )
        )
        for m in members
    ]
    ok, errors = await settle(calls)

    assert len(ok) == 10
    assert len({c.code for c in ok}) == 10
    assert {e.reason for e in errors} == {"OUT_OF_STOCK"}
    assert await stack.fetchval("SELECT count(*) FROM coupons WHERE template_id = $1", template.id) == 10
    after = await stack.loyalty.GetCouponTemplate(
        loyalty_pb2.GetCouponTemplateRequest(brand_id=brand.id, template_id=template.id)
    )
    assert after.issued == 10


async def test_per_member_limit_holds_under_concurrent_grants_to_one_member(stack: Stack, brand: Brand) -> None:
    template = await stack.loyalty.CreateCouponTemplate(
        loyalty_pb2.CreateCouponTemplateRequest(
            brand_id=brand.id,
            template=loyalty_pb2.CouponTemplate(name="gift", kind="gift", stock=100, valid_days=1, per_member_limit=2),
        )
    )
    calls = [
        stack.loyalty.GrantCoupon(
            loyalty_pb2.GrantCouponRequest(
                brand_id=brand.id, template_id=template.id, member_id=brand.member_id, idempotency_key=f"g{i}"
            )
        )
        for i in range(20)
    ]
    ok, errors = await settle(calls)
    assert len(ok) == 2
    assert {e.reason for e in errors} == {"PER_MEMBER_LIMIT"}


async def test_one_coupon_redeemed_by_five_concurrent_orders_is_used_once(stack: Stack, brand: Brand) -> None:
    template = await stack.loyalty.CreateCouponTemplate(
        loyalty_pb2.CreateCouponTemplateRequest(
            brand_id=brand.id,
            template=loyalty_pb2.CouponTemplate(name="5%", kind="percent", percent_off=5, stock=1, valid_days=1),
        )
    )
    coupon = await stack.loyalty.GrantCoupon(
        loyalty_pb2.GrantCouponRequest(
            brand_id=brand.id, template_id=template.id, member_id=brand.member_id, idempotency_key="once"
        )
    )
    calls = [
        stack.loyalty.RedeemCoupon(loyalty_pb2.RedeemCouponRequest(brand_id=brand.id, code=coupon.code))
        for _ in range(5)
    ]
    ok, errors = await settle(calls)
    assert len(ok) == 1
    assert {e.reason for e in errors} == {"COUPON_USED"}


async def test_same_order_posted_20_times_concurrently_credits_once(stack: Stack, brand: Brand) -> None:
    request = order_request(brand, external_id=f"POS-{uuid.uuid4().hex[:8]}")
    results = await asyncio.gather(*(stack.loyalty.RecordOrder(request) for _ in range(20)))
    assert len({r.order_id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert (
        await stack.fetchval("SELECT count(*) FROM points_ledger WHERE brand_id = $1 AND reason = 'ORDER'", brand.id)
        == 1
    )
    rows = await stack.fetchval("SELECT json_agg(balance) FROM points_accounts WHERE brand_id = $1", brand.id)
    assert json.loads(str(rows)) == [123]


async def test_30_concurrent_orders_of_a_member_without_an_account_each_credit_once_in_turn(
    stack: Stack, brand: Brand
) -> None:
    # The first claims race to open the account; each order then credits it under the lock, one after another.
    requests = [order_request(brand, external_id=f"POS-{uuid.uuid4().hex[:8]}") for _ in range(30)]
    results = await asyncio.gather(*(stack.loyalty.RecordOrder(r) for r in requests))
    assert sorted(r.member.points_balance for r in results) == [123 * n for n in range(1, 31)]
    assert await stack.fetchval(
        "SELECT balance FROM points_accounts WHERE brand_id = $1 AND member_id = $2", brand.id, brand.member_id
    ) == 123 * 30
    assert await stack.fetchval(
        "SELECT count(*) FROM points_ledger WHERE brand_id = $1 AND reason = 'ORDER'", brand.id
    ) == 30
    await no_mismatch(stack, brand)
