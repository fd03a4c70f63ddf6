"""Rate limits per principal and per POS key (429 + Retry-After), body size limits (413), idempotency keys."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import GatewaySettings


@pytest.fixture
async def tight(settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    limited = settings.model_copy(update={"rate_limit_per_minute": 60, "rate_limit_burst": 3,
                                          "api_key_rate_limit_per_minute": 60, "max_body_bytes": 2048})
    app = create_app(limited)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
            yield http


async def test_a_principal_over_its_burst_gets_429_with_retry_after(tight, as_role):
    alice = as_role("brand_admin")
    statuses = [(await tight.get("/v1/brands/brand-a/members/m-a1", headers=alice)).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    r = await tight.get("/v1/brands/brand-a/members/m-a1", headers=alice)
    assert r.headers["content-type"] == "application/problem+json"
    assert int(r.headers["retry-after"]) >= 1


async def test_one_principals_limit_does_not_slow_another(tight, as_role):
    for _ in range(4):
        await tight.get("/v1/brands/brand-a/members/m-a1", headers=as_role("brand_admin"))

    other = as_role("group_admin", "")
    assert (await tight.get("/v1/brands/brand-a/members/m-a1", headers=other)).status_code == 200


async def test_a_pos_key_has_its_own_bucket(tight):
    app = tight._transport.app  # type: ignore[attr-defined]
    _, key = await app.state.api_keys.create(brand_id="brand-a", store_id="store-a1", name="t", created_by="t")
    statuses = [(await tight.post("/v1/brands/brand-a/orders", json={}, headers={"X-API-Key": key})).status_code
                for _ in range(4)]

    assert statuses == [422, 422, 422, 429]


async def test_a_body_over_the_limit_is_413_problem(tight, as_role):
    r = await tight.post("/v1/brands/brand-a/members", json={"phone": "13800138000", "name": "x" * 4000},
                         headers=as_role("brand_admin"))

    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/payload-too-large")


async def test_a_chunked_body_without_content_length_is_counted_too(tight, as_role):
    async def chunks():
        for _ in range(10):
            yield b"x" * 1024

    r = await tight.post("/v1/brands/brand-a/members", content=chunks(),
                         headers={**as_role("brand_admin"), "content-type": "application/json"})

    assert r.status_code == 413


async def test_idempotency_key_helpers_validate_and_forward():
    from gateway.auth import idempotency_key, idempotency_metadata, required_idempotency_key
    from gateway.errors import ProblemError

    assert await idempotency_key("3f1c-9a4e") == "3f1c-9a4e"
    assert idempotency_metadata("k1") == (("idempotency-key", "k1"),)
    with pytest.raises(ProblemError) as missing:
        await required_idempotency_key(None)
    assert missing.value.status == 422 and missing.value.errors[0].field == "Idempotency-Key"
    with pytest.raises(ProblemError):
        await idempotency_key("has space")
