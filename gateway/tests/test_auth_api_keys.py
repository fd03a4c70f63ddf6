"""POS API keys: shown once, stored hashed, revocable, and opening only a store's till routes."""

from __future__ import annotations

ORDER = {"external_id": "POS-1", "store_id": "store-a1", "member_id": "m-a1",
         "occurred_at": "2024-05-01T10:00:00+08:00", "items": [{"sku": "s", "quantity": 1, "amount_fen": 500}],
         "total_fen": 500}


async def _new_key(client, as_role, store: str = "store-a1") -> dict:
    r = await client.post(f"/v1/brands/brand-a/stores/{store}/api-keys", json={"name": "Till 1"},
                          headers=as_role("brand_admin"))
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_new_key_is_shown_once_and_stored_only_as_a_hash(client, as_role):
    created = await _new_key(client, as_role)

    assert created["key"].startswith("crmpos_") and created["prefix"] == created["key"][:13]
    listed = await client.get("/v1/brands/brand-a/stores/store-a1/api-keys", headers=as_role("brand_admin"))
    assert listed.status_code == 200
    assert [k["id"] for k in listed.json()["items"]] == [created["id"]]
    assert "key" not in listed.json()["items"][0]
    kv = client._transport.app.state.api_keys._kv  # type: ignore[attr-defined]
    assert created["key"] not in repr(kv._data)


async def test_a_key_posts_orders_of_its_own_store(client, as_role, backends):
    key = (await _new_key(client, as_role))["key"]

    r = await client.post("/v1/brands/brand-a/orders", json=ORDER, headers={"X-API-Key": key})

    assert r.status_code == 201, r.text
    assert backends.loyalty.calls == 1


async def test_a_key_may_not_post_orders_of_another_store_or_brand(client, as_role, backends):
    key = (await _new_key(client, as_role))["key"]

    other_store = await client.post("/v1/brands/brand-a/orders", json={**ORDER, "store_id": "store-a2"},
                                    headers={"X-API-Key": key})
    other_brand = await client.post("/v1/brands/brand-b/orders", json={**ORDER, "store_id": "store-b1"},
                                    headers={"X-API-Key": key})

    assert other_store.status_code == other_brand.status_code == 404
    assert backends.loyalty.calls == 0


async def test_a_key_opens_no_route_outside_the_till_list(client, as_role):
    key = (await _new_key(client, as_role))["key"]

    member = await client.get("/v1/brands/brand-a/members/m-a1", headers={"X-API-Key": key})
    keys = await client.get("/v1/brands/brand-a/stores/store-a1/api-keys", headers={"X-API-Key": key})

    assert member.status_code == keys.status_code == 403


async def test_a_revoked_key_stops_working_at_once(client, as_role):
    created = await _new_key(client, as_role)

    gone = await client.delete(f"/v1/brands/brand-a/stores/store-a1/api-keys/{created['id']}",
                               headers=as_role("brand_admin"))
    r = await client.post("/v1/brands/brand-a/orders", json=ORDER, headers={"X-API-Key": created["key"]})

    assert gone.status_code == 204
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


async def test_a_made_up_key_is_401(client):
    r = await client.post("/v1/brands/brand-a/orders", json=ORDER, headers={"X-API-Key": "crmpos_guess"})

    assert r.status_code == 401


async def test_only_admins_of_the_brand_manage_keys(client, as_role):
    clerk = await client.post("/v1/brands/brand-a/stores/store-a1/api-keys", json={"name": "x"},
                              headers=as_role("clerk", store_ids=("store-a1",)))
    other_brand = await client.post("/v1/brands/brand-a/stores/store-a1/api-keys", json={"name": "x"},
                                    headers=as_role("brand_admin", "brand-b"))
    foreign_store = await client.post("/v1/brands/brand-a/stores/store-b1/api-keys", json={"name": "x"},
                                      headers=as_role("brand_admin"))

    assert clerk.status_code == 403
    assert other_brand.status_code == 404
    assert foreign_store.status_code == 404


async def test_key_creation_and_revocation_are_audited(client, as_role):
    created = await _new_key(client, as_role)
    await client.delete(f"/v1/brands/brand-a/stores/store-a1/api-keys/{created['id']}",
                        headers=as_role("brand_admin"))

    events = client._transport.app.state.audit.recent  # type: ignore[attr-defined]
    assert [e["action"] for e in events][-2:] == ["api_key.create", "api_key.revoke"]
    assert created["key"] not in repr(events)
