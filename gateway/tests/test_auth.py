"""Tokens and scope: who the caller is, and what a caller outside a brand or store can learn (nothing)."""

from __future__ import annotations

import time

import jwt

PROBLEM = "application/problem+json"


async def test_valid_credentials_issue_a_bearer_token_that_opens_the_api(client):
    r = await client.post("/v1/auth/token", json={"username": "admin", "password": "admin-pass"})

    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900  # short-lived: the refresh token renews it
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert (await client.get("/v1/brands/brand-b/members/m-b1", headers=headers)).status_code == 200


async def test_token_carries_the_staff_scope_claims(client):
    r = await client.post("/v1/auth/token", json={"username": "clerk.a", "password": "clerk-pass"})

    claims = jwt.decode(r.json()["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "staff-clerk-a"
    assert claims["role"] == "clerk"
    assert claims["brand_id"] == "brand-a"
    assert claims["store_ids"] == ["store-a1"]
    assert {"exp", "iat", "jti"} <= claims.keys()


async def test_wrong_password_is_a_401_problem(client):
    r = await client.post("/v1/auth/token", json={"username": "admin", "password": "nope"})

    assert r.status_code == 401
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["type"] == "https://crm.example/problems/invalid-credentials"


async def test_disabled_account_gets_the_same_401_as_a_wrong_password(client):
    disabled = await client.post("/v1/auth/token", json={"username": "gone", "password": "gone-pass"})
    wrong = await client.post("/v1/auth/token", json={"username": "admin", "password": "nope"})

    assert disabled.status_code == wrong.status_code == 401
    assert disabled.json()["detail"] == wrong.json()["detail"]


def _claims(**override: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": "crm-gateway", "aud": "crm:staff", "sub": "staff-x", "role": "group_admin", "brand_id": "",
        "store_ids": [], "iat": now, "exp": now + 600, "jti": "j1",
    }
    claims.update(override)
    return claims


async def test_token_signed_with_another_key_is_401(client):
    forged = jwt.encode(_claims(), "another-secret-0123456789abcdef0123456789", algorithm="HS256")

    r = await client.get("/v1/brands/brand-a/members/m-a1", headers={"Authorization": f"Bearer {forged}"})

    assert r.status_code == 401
    assert r.headers["content-type"] == PROBLEM
    assert r.headers["www-authenticate"] == "Bearer"


async def test_unsigned_alg_none_token_is_401(client):
    unsigned = jwt.encode(_claims(), None, algorithm="none")

    r = await client.get("/v1/brands/brand-a/members/m-a1", headers={"Authorization": f"Bearer {unsigned}"})

    assert r.status_code == 401


async def test_expired_token_is_401(client, issuer):
    expired = jwt.encode(_claims(exp=int(time.time()) - 60), "test-secret-0123456789abcdef0123456789abcdef")

    r = await client.get("/v1/brands/brand-a/members/m-a1", headers={"Authorization": f"Bearer {expired}"})

    assert r.status_code == 401


async def test_missing_authorization_is_401(client):
    r = await client.get("/v1/brands/brand-a/members/m-a1")

    assert r.status_code == 401
    assert r.headers["content-type"] == PROBLEM


async def test_brand_a_token_gets_404_on_brand_b_member_and_learns_nothing(client, as_role):
    brand_a = as_role("brand_admin", "brand-a")

    existing = await client.get("/v1/brands/brand-b/members/m-b1", headers=brand_a)
    missing_brand = await client.get("/v1/brands/no-such-brand/members/m-b1", headers=brand_a)

    assert existing.status_code == missing_brand.status_code == 404
    assert existing.json() == missing_brand.json()  # an existing brand looks exactly like a missing one


async def test_group_admin_spans_brands(client, as_role):
    r = await client.get("/v1/brands/brand-b/members/m-b1", headers=as_role("group_admin", ""))

    assert r.status_code == 200


async def test_only_a_group_admin_creates_brands(client, as_role):
    body = {"code": "new", "name": "New Brand"}

    denied = await client.post("/v1/brands", json=body, headers=as_role("brand_admin"))
    created = await client.post("/v1/brands", json=body, headers=as_role("group_admin", ""))

    assert denied.status_code == 403
    assert denied.headers["content-type"] == PROBLEM
    assert created.status_code == 201


async def test_analyst_may_not_post_orders(client, as_role, backends):
    order = {"external_id": "x", "store_id": "store-a1", "member_id": "m-a1",
             "occurred_at": "2024-05-01T10:00:00+08:00",
             "items": [{"sku": "s", "quantity": 1, "amount_fen": 1}], "total_fen": 1}

    r = await client.post("/v1/brands/brand-a/orders", json=order, headers=as_role("analyst"))

    assert r.status_code == 403
    assert backends.loyalty.calls == 0
