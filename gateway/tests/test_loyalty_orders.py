"""GET /v1/brands/{b}/members/{id}/orders: a member's purchase history over ListMemberOrders (fake service)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from crm.loyalty.v1 import loyalty_pb2
from crm_common.errors import InvalidArgument, NotFound

from .conftest import BRAND_A, Backends, FakeLoyalty

A = f"/v1/brands/{BRAND_A}"
AsRole = Callable[..., dict[str, str]]


class OrdersFakeLoyalty(FakeLoyalty):
    """Answers ListMemberOrders with one page of one order, or errors like the real service."""

    def __init__(self) -> None:
        super().__init__()
        self.last: loyalty_pb2.ListMemberOrdersRequest | None = None

    async def ListMemberOrders(self, request, context):
        self.last = request
        if request.member_id == "nobody":
            raise NotFound("no such member", reason="MEMBER_NOT_FOUND", field="member_id")
        if request.cursor == "bad":
            raise InvalidArgument("cursor is not valid", field="cursor")
        order = loyalty_pb2.MemberOrder(
            order_id="o-1", external_id="POS-1", store_id="store-a1", total_fen=12345, points_earned=123,
            refunded_fen=2345, item_count=3, occurred_at=Timestamp(seconds=1_700_000_000),
        )
        return loyalty_pb2.ListMemberOrdersResponse(orders=[order], next_cursor="" if request.cursor else "c2")


@pytest.fixture
async def backends() -> AsyncIterator[Backends]:
    fakes = Backends()
    fakes.loyalty = OrdersFakeLoyalty()
    await fakes.start()
    try:
        yield fakes
    finally:
        await fakes.stop_all()


async def test_member_orders_page_translates_and_forwards_cursor_and_limit(
    client: httpx.AsyncClient, as_role: AsRole, backends: Backends
) -> None:
    admin = as_role("brand_admin")
    first = await client.get(f"{A}/members/m-a1/orders", headers=admin, params={"limit": 5})
    assert first.status_code == 200
    assert first.json() == {
        "items": [
            {
                "order_id": "o-1", "external_id": "POS-1", "store_id": "store-a1",
                "occurred_at": "2023-11-14T22:13:20Z", "total_fen": 12345, "points_earned": 123,
                "refunded_fen": 2345, "item_count": 3,
            }
        ],
        "next_cursor": "c2",
    }
    assert backends.loyalty.last.limit == 5 and backends.loyalty.last.brand_id == BRAND_A
    last = await client.get(f"{A}/members/m-a1/orders", headers=admin, params={"cursor": "c2"})
    assert last.status_code == 200 and last.json()["next_cursor"] is None
    assert backends.loyalty.last.cursor == "c2" and backends.loyalty.last.limit == 20


async def test_member_orders_errors_and_scoping(client: httpx.AsyncClient, as_role: AsRole) -> None:
    admin = as_role("brand_admin")
    assert (await client.get(f"{A}/members/nobody/orders", headers=admin)).status_code == 404
    assert (await client.get(f"{A}/members/m-a1/orders", headers=admin, params={"cursor": "bad"})).status_code == 422
    assert (await client.get(f"{A}/members/m-a1/orders", headers=admin, params={"limit": 0})).status_code == 422
    assert (await client.get(f"{A}/members/m-a1/orders")).status_code == 401
    clerk = as_role("clerk", store_ids=("store-a1",))
    assert (await client.get(f"{A}/members/m-a1/orders", headers=clerk)).status_code == 200
    assert (await client.get(f"{A}/members/m-a2/orders", headers=clerk)).status_code == 404
