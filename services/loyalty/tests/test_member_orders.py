"""ListMemberOrders (the member's purchase history) and GetOrderTotals (reporting's reconciliation)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm.loyalty.v1 import loyalty_pb2

from .conftest import Brand, Stack
from .test_orders import order_request, rejected


def _at(request: loyalty_pb2.RecordOrderRequest, when: datetime) -> loyalty_pb2.RecordOrderRequest:
    request.occurred_at.FromDatetime(when)
    return request


async def test_member_orders_are_listed_newest_first_and_paged_without_gaps(stack: Stack, brand: Brand) -> None:
    base = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)
    ids = []
    for n in range(5):
        # Two orders share a moment, so the id tie-break is exercised across a page boundary.
        when = base + timedelta(hours=min(n, 3))
        ids.append((await stack.loyalty.RecordOrder(_at(order_request(brand), when))).order_id)
    other_member = stack.new_member(brand)
    await stack.loyalty.RecordOrder(order_request(brand, member_id=other_member))

    seen: list[loyalty_pb2.MemberOrder] = []
    cursor = ""
    pages = 0
    while True:
        page = await stack.loyalty.ListMemberOrders(
            loyalty_pb2.ListMemberOrdersRequest(brand_id=brand.id, member_id=brand.member_id, cursor=cursor, limit=2)
        )
        pages += 1
        seen.extend(page.orders)
        cursor = page.next_cursor
        if not cursor:
            break
    assert pages == 3
    assert sorted(o.order_id for o in seen) == sorted(ids)  # every order once, none of the other member's
    keys = [(o.occurred_at.ToDatetime(), o.order_id) for o in seen]
    assert keys == sorted(keys, reverse=True)
    first = seen[-1]
    assert (first.total_fen, first.points_earned, first.refunded_fen, first.item_count) == (12345, 123, 0, 3)
    assert first.store_id == brand.store_id and first.external_id.startswith("POS-")


async def test_member_orders_show_refunds_and_reject_bad_input(stack: Stack, brand: Brand) -> None:
    request = order_request(brand)
    await stack.loyalty.RecordOrder(request)
    await stack.loyalty.RefundOrder(
        loyalty_pb2.RefundOrderRequest(
            brand_id=brand.id, external_id=request.external_id, external_refund_id="R-1", amount_fen=2345
        )
    )
    page = await stack.loyalty.ListMemberOrders(
        loyalty_pb2.ListMemberOrdersRequest(brand_id=brand.id, member_id=brand.member_id)
    )
    assert [o.refunded_fen for o in page.orders] == [2345] and page.next_cursor == ""

    empty = await stack.loyalty.ListMemberOrders(
        loyalty_pb2.ListMemberOrdersRequest(brand_id=brand.id, member_id=stack.new_member(brand))
    )
    assert list(empty.orders) == []
    unknown = await rejected(
        stack.loyalty.ListMemberOrders(loyalty_pb2.ListMemberOrdersRequest(brand_id=brand.id, member_id="nobody"))
    )
    assert unknown.reason == "MEMBER_NOT_FOUND"
    bad = await rejected(
        stack.loyalty.ListMemberOrders(
            loyalty_pb2.ListMemberOrdersRequest(brand_id=brand.id, member_id=brand.member_id, cursor="%%%")
        )
    )
    assert bad.field == "cursor"


async def test_order_totals_count_all_orders_and_refunds_of_the_brand_only(stack: Stack, brand: Brand) -> None:
    empty = await stack.loyalty.GetOrderTotals(loyalty_pb2.GetOrderTotalsRequest(brand_id=brand.id))
    assert (empty.orders, empty.total_fen, empty.refunds, empty.refunded_fen) == (0, 0, 0, 0)

    first = order_request(brand)
    await stack.loyalty.RecordOrder(first)
    await stack.loyalty.RecordOrder(first)  # a replay is not a second order
    await stack.loyalty.RecordOrder(order_request(brand, member_id="", member_phone="+8613700000000", total_fen=500))
    for refund_id, amount in (("R-a", 1000), ("R-b", 345)):
        await stack.loyalty.RefundOrder(
            loyalty_pb2.RefundOrderRequest(
                brand_id=brand.id, external_id=first.external_id, external_refund_id=refund_id, amount_fen=amount
            )
        )
    await stack.loyalty.RecordOrder(order_request(stack.new_brand()))  # another brand's order

    totals = await stack.loyalty.GetOrderTotals(loyalty_pb2.GetOrderTotalsRequest(brand_id=brand.id))
    assert (totals.orders, totals.total_fen, totals.refunds, totals.refunded_fen) == (2, 12845, 2, 1345)
