"""Segments on the real stack: members, tags, stores and orders made through the gateway reach the campaigns
service as events, and rules asked through the gateway select from them."""

from __future__ import annotations

from typing import Any

import httpx


async def _preview(api: httpx.AsyncClient, headers: dict[str, str], brand_id: str, rule: Any) -> dict[str, Any]:
    resp = await api.post(f"/v1/brands/{brand_id}/segments/preview", json={"rule": rule}, headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_segments_select_from_what_the_gateway_recorded(api, admin, kit) -> None:
    brand = await api.post("/v1/brands", json={"code": kit.unique("seg"), "name": "分群"}, headers=admin)
    assert brand.status_code == 201, brand.text
    b = brand.json()["id"]
    stores = {}
    for code, lat, lng in (("WEST", 30.2590, 120.1500), ("XIXI", 30.2700, 120.0800), ("SH", 31.2304, 121.4737)):
        resp = await api.post(f"/v1/brands/{b}/stores", json={"code": code, "name": code, "lat": lat, "lng": lng},
                              headers=admin)
        assert resp.status_code == 201, resp.text
        stores[code] = resp.json()["id"]
    base = int(kit.unique("").split("x")[-1]) * 10 + 60_000_000
    members = {}
    for i, code in enumerate(("WEST", "XIXI", "SH")):
        resp = await api.post(f"/v1/brands/{b}/members", headers=admin, json={
            "phone": kit.phone(base + i), "store_id": stores[code], "consents": {"sms": code != "SH"}})
        assert resp.status_code == 201, resp.text
        members[code] = resp.json()["id"]
    tagged = await api.post(f"/v1/brands/{b}/members/{members['WEST']}/tags", json={"tags": ["vip"]}, headers=admin)
    assert tagged.status_code in (200, 201), tagged.text
    order = await api.post(f"/v1/brands/{b}/orders", headers=admin, json={
        "external_id": kit.unique("POS"), "store_id": stores["XIXI"], "member_id": members["XIXI"],
        "occurred_at": "2026-11-01T02:00:00Z", "total_fen": 8_800,
        "items": [{"sku": "TEA", "quantity": 1, "amount_fen": 8_800}]})
    assert order.status_code == 201, order.text

    vip = {"field": "tags", "op": "contains", "value": "vip"}
    found = await kit.eventually(lambda: _preview(api, admin, b, vip), lambda p: p["count"] == 1)
    assert found["sample"] == [members["WEST"]]
    buyers = await kit.eventually(lambda: _preview(api, admin, b, {"field": "order_count", "op": ">=", "value": 1}),
                                  lambda p: p["count"] == 1)
    assert buyers["sample"] == [members["XIXI"]]
    near_west = {"all": [{"field": "distance_km", "store_id": stores["WEST"], "op": "<=", "value": 10},
                         {"field": "consent.sms", "op": "=", "value": True}]}
    near = await _preview(api, admin, b, near_west)
    assert sorted(near["sample"]) == sorted([members["WEST"], members["XIXI"]])

    saved = await api.post(f"/v1/brands/{b}/segments", json={"name": "西湖周边", "rule": near_west}, headers=admin)
    assert saved.status_code == 201, saved.text
    assert saved.json()["member_count"] == 2 and saved.json()["rule"] == near_west
    got = await api.get(f"/v1/brands/{b}/segments/{saved.json()['id']}", headers=admin)
    assert got.status_code == 200 and got.json()["name"] == "西湖周边"

    bad = await api.post(f"/v1/brands/{b}/segments/preview", headers=admin, json={"rule": {"any": [
        {"field": "tier", "op": ">", "value": "gold"}, {"field": "shoe_size", "op": "=", "value": 42}]}})
    assert bad.status_code == 422, bad.text
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in bad.json()["errors"]] == ["rule.any[0].op", "rule.any[1].field"]
