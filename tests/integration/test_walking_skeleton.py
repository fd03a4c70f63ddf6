"""The suite end to end, through the gateway only, as a POS integrator and a brand admin would use it."""

from __future__ import annotations

from typing import Any

import httpx


async def _kpis(api: httpx.AsyncClient, headers: dict[str, str], brand_id: str, day: str) -> dict[str, Any]:
    resp = await api.get(f"/v1/brands/{brand_id}/reports/kpis", params={"from": day, "to": day}, headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_order_credits_points_and_kpis_once_even_when_posted_twice(api, admin, kit) -> None:
    brand = (await api.post("/v1/brands", json={"code": kit.unique("skel"), "name": "骨架"}, headers=admin)).json()
    b = brand["id"]
    store = await api.post(f"/v1/brands/{b}/stores", json={"code": "S001", "name": "南京西路店"}, headers=admin)
    assert store.status_code == 201, store.text
    store_id = store.json()["id"]

    member = await api.post(
        f"/v1/brands/{b}/members",
        json={"phone": "138 0013 8000", "name": "王小明", "store_id": store_id, "consents": {"sms": True}},
        headers=admin,
    )
    assert member.status_code == 201, member.text
    member_id = member.json()["id"]

    order = {
        "external_id": "POS-0001",
        "store_id": store_id,
        "member_id": member_id,
        "occurred_at": "2026-03-01T02:00:00Z",  # 10:00 in Shanghai, 2026-03-01
        "items": [{"sku": "SKU-1", "name": "连衣裙", "category": "apparel", "quantity": 1, "amount_fen": 12_345}],
        "total_fen": 12_345,
    }
    first = await api.post(f"/v1/brands/{b}/orders", json=order, headers=admin)
    assert first.status_code == 201, first.text
    assert first.json()["points_earned"] == 123
    assert first.json()["member"]["points_balance"] == 123

    points = await api.get(f"/v1/brands/{b}/members/{member_id}/points", headers=admin)
    assert points.status_code == 200, points.text
    assert points.json()["balance"] == 123

    kpis = await kit.eventually(
        lambda: _kpis(api, admin, b, "2026-03-01"), lambda k: k["orders"] == 1
    )
    assert kpis["revenue_fen"] == 12_345
    assert kpis["aov_fen"] == 12_345
    assert kpis["buyers"] == 1

    # A POS retry of the same order: same body, no second credit, no second fact.
    again = await api.post(f"/v1/brands/{b}/orders", json=order, headers=admin)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    points = await api.get(f"/v1/brands/{b}/members/{member_id}/points", headers=admin)
    assert points.json()["balance"] == 123

    # A later order on another day acts as a sentinel: events are applied in order, so once it shows,
    # anything the retry might have emitted would show too.
    sentinel = {**order, "external_id": "POS-0002", "occurred_at": "2026-03-02T02:00:00Z", "total_fen": 100,
                "items": [{"sku": "SKU-2", "quantity": 1, "amount_fen": 100}]}
    assert (await api.post(f"/v1/brands/{b}/orders", json=sentinel, headers=admin)).status_code == 201
    await kit.eventually(lambda: _kpis(api, admin, b, "2026-03-02"), lambda k: k["orders"] == 1)
    kpis = await _kpis(api, admin, b, "2026-03-01")
    assert (kpis["orders"], kpis["revenue_fen"]) == (1, 12_345)
    both = await api.get(f"/v1/brands/{b}/reports/kpis", params={"from": "2026-03-01", "to": "2026-03-02"},
                         headers=admin)
    assert both.json()["orders"] == 2
    assert both.json()["repeat_buyers"] == 1
    assert both.json()["repurchase_rate"] == 1.0

    # Same external id, different content: a conflict, not a silent overwrite.
    conflict = await api.post(f"/v1/brands/{b}/orders", json={**order, "total_fen": 1}, headers=admin)
    assert conflict.status_code == 409, conflict.text
    assert conflict.headers["content-type"].startswith("application/problem+json")


async def test_staff_login_is_scoped_to_its_brand(api, admin, brand, kit) -> None:
    other = (await api.post("/v1/brands", json={"code": kit.unique("o"), "name": "别的品牌"}, headers=admin)).json()
    username = kit.unique("boss")
    created = await api.post(
        f"/v1/brands/{other['id']}/staff",
        json={"username": username, "password": "S3cret-pass!", "display_name": "老板", "role": "brand_admin",
              "store_ids": []},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert "password" not in created.json()
    other_admin = await kit.login(api, username, "S3cret-pass!")

    member = await api.post(f"/v1/brands/{brand['id']}/members", json={"phone": kit.phone(1)}, headers=admin)
    assert member.status_code == 201, member.text
    member_id = member.json()["id"]

    # Another brand's token sees nothing of this brand: 404, as if it did not exist.
    denied = await api.get(f"/v1/brands/{brand['id']}/members/{member_id}", headers=other_admin)
    assert denied.status_code == 404, denied.text
    assert denied.headers["content-type"].startswith("application/problem+json")
    also = await api.get(f"/v1/brands/{other['id']}/members/{member_id}", headers=other_admin)
    assert also.status_code == 404
    own = await api.get(f"/v1/brands/{brand['id']}/members/{member_id}", headers=admin)
    assert own.status_code == 200

    wrong = await api.post("/v1/auth/token", json={"username": username, "password": "nope"})
    assert wrong.status_code == 401


async def test_second_registration_of_a_phone_returns_the_existing_member(api, admin, brand, kit) -> None:
    first = await api.post(f"/v1/brands/{brand['id']}/members", json={"phone": kit.phone(2)}, headers=admin)
    assert first.status_code == 201, first.text
    again = await api.post(
        f"/v1/brands/{brand['id']}/members", json={"phone": "+86 " + kit.phone(2)}, headers=admin
    )
    assert again.status_code == 409, again.text
    assert again.json()["member_id"] == first.json()["id"]


def _fields(resp: httpx.Response) -> set[str]:
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.text
    return {e["field"] for e in resp.json().get("errors", [])}


async def test_bad_input_names_the_field_and_writes_nothing(api, admin, brand, kit) -> None:
    b, store_id = brand["id"], brand["store_id"]

    bad_phone = await api.post(f"/v1/brands/{b}/members", json={"phone": "12345"}, headers=admin)
    assert bad_phone.status_code == 422
    assert "phone" in _fields(bad_phone)

    missing = await api.post(f"/v1/brands/{b}/members", json={}, headers=admin)
    assert missing.status_code == 422
    assert "phone" in _fields(missing)

    member = (await api.post(f"/v1/brands/{b}/members", json={"phone": kit.phone(3)}, headers=admin)).json()
    order = {
        "external_id": kit.unique("bad"),
        "store_id": store_id,
        "member_id": member["id"],
        "occurred_at": "2026-03-05T02:00:00Z",
        "items": [{"sku": "A", "quantity": 1, "amount_fen": -5}],
        "total_fen": -5,
    }
    negative = await api.post(f"/v1/brands/{b}/orders", json=order, headers=admin)
    assert negative.status_code == 422
    assert {"total_fen", "items[0].amount_fen"} <= _fields(negative)

    unknown_store = await api.post(
        f"/v1/brands/{b}/orders",
        json={**order, "store_id": "no-such-store", "total_fen": 500,
              "items": [{"sku": "A", "quantity": 1, "amount_fen": 500}]},
        headers=admin,
    )
    assert unknown_store.status_code == 422, unknown_store.text
    assert "store_id" in _fields(unknown_store)

    no_fields = await api.post(f"/v1/brands/{b}/orders", json={"total_fen": 1}, headers=admin)
    assert no_fields.status_code == 422
    assert {"external_id", "store_id", "items", "occurred_at"} <= _fields(no_fields)

    # Nothing was written: no points, and the external id is still free for a valid order.
    points = await api.get(f"/v1/brands/{b}/members/{member['id']}/points", headers=admin)
    assert points.status_code == 200, points.text
    assert points.json()["balance"] == 0
    good = await api.post(
        f"/v1/brands/{b}/orders",
        json={**order, "total_fen": 500, "items": [{"sku": "A", "quantity": 1, "amount_fen": 500}]},
        headers=admin,
    )
    assert good.status_code == 201, good.text
    assert good.json()["points_earned"] == 5


async def test_health_readiness_metrics_and_docs(api, stack) -> None:
    assert (await api.get("/healthz")).status_code == 200
    ready = await api.get("/readyz")
    assert ready.status_code == 200, ready.text
    metrics = await api.get("/metrics")
    assert metrics.status_code == 200
    assert "http_request" in metrics.text or "crm_" in metrics.text
    assert (await api.get("/openapi.json")).json()["paths"]["/v1/brands/{brand_id}/orders"]
    async with httpx.AsyncClient() as raw:
        for name, url in stack.metrics_urls.items():
            resp = await raw.get(url)
            assert resp.status_code == 200, name
            assert "crm_grpc_server_handling_seconds" in resp.text or name == "gateway", name
