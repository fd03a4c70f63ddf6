"""Component tests of RecordOrder and GetPointsAccount over real gRPC, PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import grpc
import pytest

from crm.loyalty.v1 import loyalty_pb2
from crm_common.errors import RemoteError

from .conftest import Brand, Stack


def order_request(brand: Brand, **changes: object) -> loyalty_pb2.RecordOrderRequest:
    """A valid order of ``brand``'s member (123 points' worth) unless ``changes`` say otherwise."""
    fields: dict[str, object] = {
        "brand_id": brand.id,
        "external_id": f"POS-{uuid.uuid4().hex[:12]}",
        "store_id": brand.store_id,
        "member_id": brand.member_id,
        "items": [
            loyalty_pb2.OrderItem(sku="TEA-01", name="Oolong", category="tea", quantity=2, amount_fen=10000),
            loyalty_pb2.OrderItem(sku="CUP-02", category="ware", quantity=1, amount_fen=2345),
        ],
        "total_fen": 12345,
    }
    fields.update(changes)
    request = loyalty_pb2.RecordOrderRequest(**fields)  # type: ignore[arg-type]
    request.occurred_at.FromDatetime(datetime(2025, 3, 1, 10, 30, tzinfo=UTC))
    return request


async def rejected(call: object) -> RemoteError:
    with pytest.raises(RemoteError) as caught:
        await call  # type: ignore[misc]
    return caught.value


async def rows_of_brand(stack: Stack, brand: Brand) -> dict[str, int]:
    counts = {}
    for table in ("orders", "order_items", "points_ledger", "points_lots", "points_accounts", "outbox"):
        counts[table] = int(await stack.fetchval(f"SELECT count(*) FROM {table} WHERE brand_id = $1", brand.id))
    return counts


async def test_order_of_a_member_credits_points_shown_by_the_account(stack: Stack, brand: Brand) -> None:
    response = await stack.loyalty.RecordOrder(order_request(brand))

    assert response.order_id
    assert response.points_earned == 123
    assert response.member.member_id == brand.member_id
    assert response.member.points_balance == 123
    assert response.member.tier == ""
    assert not response.replayed
    account = await stack.loyalty.GetPointsAccount(
        loyalty_pb2.GetPointsAccountRequest(brand_id=brand.id, member_id=brand.member_id)
    )
    assert (account.member_id, account.balance, account.growth_value, account.tier) == (
        brand.member_id,
        123,
        123,
        "",
    )
    assert list(account.expiring) == []


async def test_second_order_adds_to_the_balance_and_writes_a_ledger_entry_each(stack: Stack, brand: Brand) -> None:
    await stack.loyalty.RecordOrder(order_request(brand))
    second = await stack.loyalty.RecordOrder(
        order_request(brand, total_fen=99, items=[loyalty_pb2.OrderItem(sku="GUM", quantity=1, amount_fen=99)])
    )

    assert second.points_earned == 0
    assert second.member.points_balance == 123
    third = await stack.loyalty.RecordOrder(order_request(brand, total_fen=1000))
    assert third.member.points_balance == 133
    balances = await stack.fetchval(
        "SELECT array_agg(balance_after ORDER BY id) FROM points_ledger WHERE brand_id = $1", brand.id
    )
    assert balances == [123, 133]  # the 0-point order leaves no ledger entry


async def test_same_order_posted_20_times_concurrently_credits_once(stack: Stack, brand: Brand) -> None:
    request = order_request(brand)

    responses = await asyncio.gather(*(stack.loyalty.RecordOrder(request) for _ in range(20)))

    # Every caller gets the first answer; only the flag says which call made it.
    firsts = [r for r in responses if not r.replayed]
    assert len(firsts) == 1
    for response in responses:
        replay = loyalty_pb2.RecordOrderResponse()
        replay.CopyFrom(response)
        replay.replayed = False
        assert replay == firsts[0]
    assert firsts[0].member.points_balance == 123
    counts = await rows_of_brand(stack, brand)
    assert counts["orders"] == 1
    assert counts["points_ledger"] == 1
    assert counts["points_lots"] == 1
    assert (
        await stack.fetchval(
            "SELECT balance FROM points_accounts WHERE brand_id = $1 AND member_id = $2",
            brand.id,
            brand.member_id,
        )
        == 123
    )


async def test_repeat_after_the_fact_replays_the_first_answer(stack: Stack, brand: Brand) -> None:
    request = order_request(brand)
    first = await stack.loyalty.RecordOrder(request)
    await stack.loyalty.RecordOrder(order_request(brand))  # the balance moves on meanwhile

    again = await stack.loyalty.RecordOrder(request)

    assert again.replayed
    assert (again.order_id, again.points_earned, again.member) == (
        first.order_id,
        first.points_earned,
        first.member,
    )


async def test_same_external_id_with_other_content_is_an_order_conflict(stack: Stack, brand: Brand) -> None:
    request = order_request(brand)
    await stack.loyalty.RecordOrder(request)
    other = order_request(brand, external_id=request.external_id, total_fen=request.total_fen + 100)

    error = await rejected(stack.loyalty.RecordOrder(other))

    assert error.code == grpc.StatusCode.ALREADY_EXISTS
    assert (error.reason, error.field) == ("ORDER_CONFLICT", "external_id")
    assert (await rows_of_brand(stack, brand))["points_ledger"] == 1


async def test_unknown_store_is_invalid_and_writes_nothing(stack: Stack, brand: Brand) -> None:
    error = await rejected(stack.loyalty.RecordOrder(order_request(brand, store_id="store-of-nobody")))

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.reason, error.field) == ("UNKNOWN_STORE", "store_id")
    assert set((await rows_of_brand(stack, brand)).values()) == {0}


async def test_store_of_another_brand_is_unknown(stack: Stack, brand: Brand) -> None:
    other = stack.new_brand()

    error = await rejected(stack.loyalty.RecordOrder(order_request(brand, store_id=other.store_id)))

    assert (error.reason, error.field) == ("UNKNOWN_STORE", "store_id")


async def test_negative_total_is_invalid_and_writes_nothing(stack: Stack, brand: Brand) -> None:
    error = await rejected(stack.loyalty.RecordOrder(order_request(brand, total_fen=-1)))

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.field == "total_fen"
    assert set((await rows_of_brand(stack, brand)).values()) == {0}


async def test_bad_item_is_invalid_naming_the_item_field(stack: Stack, brand: Brand) -> None:
    items = [loyalty_pb2.OrderItem(sku="A", quantity=1, amount_fen=-5)]

    error = await rejected(stack.loyalty.RecordOrder(order_request(brand, items=items)))

    assert (error.code, error.field) == (grpc.StatusCode.INVALID_ARGUMENT, "items[0].amount_fen")


async def test_unknown_member_id_is_invalid(stack: Stack, brand: Brand) -> None:
    error = await rejected(stack.loyalty.RecordOrder(order_request(brand, member_id="member-of-nobody")))

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.reason, error.field) == ("UNKNOWN_MEMBER", "member_id")
    assert set((await rows_of_brand(stack, brand)).values()) == {0}


async def test_order_by_phone_of_a_member_credits_that_member(stack: Stack, brand: Brand) -> None:
    response = await stack.loyalty.RecordOrder(order_request(brand, member_id="", member_phone=brand.member_phone))

    assert response.member.member_id == brand.member_id
    assert response.member.points_balance == 123


async def test_order_by_phone_of_nobody_is_kept_without_member_or_points(stack: Stack, brand: Brand) -> None:
    response = await stack.loyalty.RecordOrder(order_request(brand, member_id="", member_phone="+8613900000000"))

    assert response.order_id
    assert response.points_earned == 0
    assert not response.HasField("member")
    counts = await rows_of_brand(stack, brand)
    assert (counts["orders"], counts["points_ledger"], counts["points_accounts"]) == (1, 0, 0)
    assert await stack.fetchval("SELECT member_id FROM orders WHERE brand_id = $1", brand.id) is None


async def test_zero_value_order_is_recorded(stack: Stack, brand: Brand) -> None:
    items = [loyalty_pb2.OrderItem(sku="GIFT", quantity=1, amount_fen=0)]

    response = await stack.loyalty.RecordOrder(order_request(brand, items=items, total_fen=0))

    assert (response.points_earned, response.member.points_balance) == (0, 0)


async def test_points_account_of_unknown_member_is_not_found(stack: Stack, brand: Brand) -> None:
    error = await rejected(
        stack.loyalty.GetPointsAccount(loyalty_pb2.GetPointsAccountRequest(brand_id=brand.id, member_id="nobody"))
    )

    assert error.code == grpc.StatusCode.NOT_FOUND


async def test_points_account_of_member_without_orders_is_empty(stack: Stack, brand: Brand) -> None:
    account = await stack.loyalty.GetPointsAccount(
        loyalty_pb2.GetPointsAccountRequest(brand_id=brand.id, member_id=brand.member_id)
    )

    assert (account.balance, account.growth_value, account.tier) == (0, 0, "")


async def test_points_account_is_scoped_by_brand(stack: Stack, brand: Brand) -> None:
    await stack.loyalty.RecordOrder(order_request(brand))
    other = stack.new_brand()

    error = await rejected(
        stack.loyalty.GetPointsAccount(
            loyalty_pb2.GetPointsAccountRequest(brand_id=other.id, member_id=brand.member_id)
        )
    )

    assert error.code == grpc.StatusCode.NOT_FOUND


async def test_ledger_entries_cannot_be_changed(stack: Stack, brand: Brand) -> None:
    await stack.loyalty.RecordOrder(order_request(brand))

    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await stack.fetchval("UPDATE points_ledger SET delta = 1000 WHERE brand_id = $1", brand.id)
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await stack.fetchval("DELETE FROM points_ledger WHERE brand_id = $1", brand.id)
