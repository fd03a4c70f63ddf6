"""Loyalty through the whole stack (gateway → loyalty → PostgreSQL): idempotent points redemption, refunds
reversing points, and a coupon's life from template to a refused second redemption."""

from __future__ import annotations

import secrets
from typing import Any

import httpx


async def _member_with_order(
    api: httpx.AsyncClient, admin: dict[str, str], brand: dict[str, Any], kit: Any, total_fen: int = 12_345
) -> tuple[str, str]:
    """A new member of ``brand`` and one order of theirs (⌊total/100⌋ points); returns (member id, order id)."""
    b = brand["id"]
    # The brand is shared by the session's tests: a random number keeps this member's phone its own.
    member = await api.post(
        f"/v1/brands/{b}/members", json={"phone": kit.phone(secrets.randbelow(10**8))}, headers=admin
    )
    assert member.status_code == 201, member.text
    member_id = member.json()["id"]
    external_id = kit.unique("POS-")
    order = {
        "external_id": external_id,
        "store_id": brand["store_id"],
        "member_id": member_id,
        "occurred_at": "2026-03-01T02:00:00Z",
        "items": [{"sku": "SKU-1", "category": "apparel", "quantity": 2, "amount_fen": total_fen}],
        "total_fen": total_fen,
    }
    posted = await api.post(f"/v1/brands/{b}/orders", json=order, headers=admin)
    assert posted.status_code == 201, posted.text
    assert posted.json()["points_earned"] == total_fen // 100
    return member_id, external_id


async def _balance(api: httpx.AsyncClient, admin: dict[str, str], b: str, member_id: str) -> int:
    points = await api.get(f"/v1/brands/{b}/members/{member_id}/points", headers=admin)
    assert points.status_code == 200, points.text
    return int(points.json()["balance"])


async def test_redemption_with_the_same_idempotency_key_twice_deducts_once(api, admin, brand, kit) -> None:
    b = brand["id"]
    member_id, _ = await _member_with_order(api, admin, brand, kit)
    url = f"/v1/brands/{b}/members/{member_id}/points/redemptions"
    headers = {**admin, "Idempotency-Key": kit.unique("redeem-")}
    body = {"points": 100, "reason": "gift: tote bag"}
    first = await api.post(url, json=body, headers=headers)
    again = await api.post(url, json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert again.status_code == 201, again.text
    assert first.json()["balance"] == again.json()["balance"] == 23
    assert await _balance(api, admin, b, member_id) == 23
    other = await api.post(url, json={**body, "points": 1}, headers=headers)
    assert other.status_code == 409, other.text
    ledger = await api.get(f"/v1/brands/{b}/members/{member_id}/points/ledger", headers=admin)
    assert [e["reason"] for e in ledger.json()["items"]] == ["REDEMPTION", "ORDER"]


async def test_refund_through_the_api_reverses_points(api, admin, brand, kit) -> None:
    b = brand["id"]
    member_id, external_id = await _member_with_order(api, admin, brand, kit, total_fen=20_000)
    half = await api.post(
        f"/v1/brands/{b}/orders/{external_id}/refunds",
        json={"external_refund_id": kit.unique("R-"), "amount_fen": 10_000},
        headers=admin,
    )
    assert half.status_code == 201, half.text
    assert half.json()["points_reversed"] == 100
    assert await _balance(api, admin, b, member_id) == 100
    orders = await api.get(f"/v1/brands/{b}/members/{member_id}/orders", headers=admin)
    assert orders.status_code == 200, orders.text
    assert [(o["external_id"], o["refunded_fen"]) for o in orders.json()["items"]] == [(external_id, 10_000)]
    too_much = await api.post(
        f"/v1/brands/{b}/orders/{external_id}/refunds",
        json={"external_refund_id": kit.unique("R-"), "amount_fen": 10_001},
        headers=admin,
    )
    assert too_much.status_code == 409, too_much.text


async def test_coupon_template_grant_redeem_and_second_redeem_is_409(api, admin, brand, kit) -> None:
    b = brand["id"]
    member_id, _ = await _member_with_order(api, admin, brand, kit)
    template = await api.post(
        f"/v1/brands/{b}/coupon-templates",
        json={"name": "¥10 off", "kind": "cash", "value_fen": 1000, "stock": 5, "valid_days": 7},
        headers=admin,
    )
    assert template.status_code == 201, template.text
    grant = await api.post(
        f"/v1/brands/{b}/coupon-templates/{template.json()['id']}/grants",
        json={"member_id": member_id},
        headers={**admin, "Idempotency-Key": kit.unique("grant-")},
    )
    assert grant.status_code == 201, grant.text
    code = grant.json()["code"]
    first = await api.post(f"/v1/brands/{b}/coupons/{code}/redemptions", json={}, headers=admin)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "redeemed"
    second = await api.post(f"/v1/brands/{b}/coupons/{code}/redemptions", json={}, headers=admin)
    assert second.status_code == 409, second.text
    assert second.json()["type"].endswith("/coupon-used")
