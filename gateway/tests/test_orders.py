"""Orders and points: idempotent replays, validation before any service call, hidden internals."""

from __future__ import annotations

from typing import Any


def _order(**override: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "external_id": "POS-1", "store_id": "store-a1", "member_id": "m-a1",
        "occurred_at": "2024-05-01T10:30:00+08:00",
        "items": [{"sku": "LATTE", "quantity": 2, "amount_fen": 6400}], "total_fen": 6400,
    }
    order.update(override)
    return order


async def test_order_is_201_with_points_and_the_members_account(client, as_role):
    r = await client.post("/v1/brands/brand-a/orders", json=_order(), headers=as_role("brand_admin"))

    assert r.status_code == 201
    body = r.json()
    assert body["points_earned"] == 64
    assert body["member"] == {"points_balance": 64, "tier": "silver"}
    assert body["order_id"]


async def test_replayed_order_is_200_with_the_first_body(client, as_role, backends):
    headers = as_role("brand_admin")
    first = await client.post("/v1/brands/brand-a/orders", json=_order(), headers=headers)

    again = await client.post("/v1/brands/brand-a/orders", json=_order(), headers=headers)

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert backends.loyalty.balances["m-a1"] == 64  # credited once


async def test_same_external_id_with_other_content_is_409(client, as_role):
    headers = as_role("brand_admin")
    await client.post("/v1/brands/brand-a/orders", json=_order(), headers=headers)

    r = await client.post("/v1/brands/brand-a/orders", json=_order(total_fen=1), headers=headers)

    assert r.status_code == 409
    assert r.json()["type"] == "https://crm.example/problems/order-conflict"


async def test_zero_value_order_is_valid(client, as_role):
    order = _order(external_id="gift", items=[{"sku": "GIFT", "quantity": 1, "amount_fen": 0}], total_fen=0)

    r = await client.post("/v1/brands/brand-a/orders", json=order, headers=as_role("brand_admin"))

    assert r.status_code == 201


async def test_invalid_order_is_422_naming_each_field_and_never_reaches_loyalty(client, as_role, backends):
    order = _order(total_fen=-1, items=[{"sku": "LATTE", "quantity": 0, "amount_fen": -5}])

    r = await client.post("/v1/brands/brand-a/orders", json=order, headers=as_role("brand_admin"))

    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"] == "https://crm.example/problems/invalid-argument"
    fields = {e["field"] for e in problem["errors"]}
    assert fields == {"total_fen", "items[0].amount_fen", "items[0].quantity"}
    assert backends.loyalty.calls == 0


async def test_money_must_be_an_integer_not_a_string_or_fraction(client, as_role):
    order = _order(total_fen="6400", items=[{"sku": "LATTE", "quantity": 1, "amount_fen": 64.5}])

    r = await client.post("/v1/brands/brand-a/orders", json=order, headers=as_role("brand_admin"))

    assert {e["field"] for e in r.json()["errors"]} == {"total_fen", "items[0].amount_fen"}


async def test_missing_fields_and_naive_time_are_named(client, as_role):
    order = _order(occurred_at="2024-05-01T10:30:00")
    del order["store_id"]

    r = await client.post("/v1/brands/brand-a/orders", json=order, headers=as_role("brand_admin"))

    assert {e["field"] for e in r.json()["errors"]} == {"store_id", "occurred_at"}


async def test_order_needs_exactly_one_of_member_id_and_member_phone(client, as_role):
    both = _order(member_phone="13800138000")

    r = await client.post("/v1/brands/brand-a/orders", json=both, headers=as_role("brand_admin"))

    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "member_id"


async def test_clerk_cannot_post_orders_for_another_store(client, as_role, backends):
    r = await client.post("/v1/brands/brand-a/orders", json=_order(store_id="store-a2"),
                          headers=as_role("clerk", store_ids=("store-a1",)))

    assert r.status_code == 404
    assert backends.loyalty.calls == 0


async def test_unexpected_service_failure_is_a_generic_500(client, as_role):
    r = await client.post("/v1/brands/brand-a/orders", json=_order(store_id="store-crash"),
                          headers=as_role("brand_admin"))

    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert "hunter2" not in r.text and "postgres" not in r.text
    assert r.json()["type"] == "https://crm.example/problems/internal"


async def test_points_account(client, as_role):
    r = await client.get("/v1/brands/brand-a/members/m-a1/points", headers=as_role("brand_admin"))

    assert r.status_code == 200
    assert r.json() == {"balance": 120, "tier": "silver", "growth_value": 340,
                        "expiring": [{"points": 20, "expires_at": "2026-01-01T00:00:00Z"}]}


async def test_clerk_cannot_read_points_of_another_stores_member(client, as_role):
    clerk = as_role("clerk", store_ids=("store-a1",))

    r = await client.get("/v1/brands/brand-a/members/m-a2/points", headers=clerk)

    assert r.status_code == 404
