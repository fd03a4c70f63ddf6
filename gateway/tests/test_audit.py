"""``record_pii_read``: what other routers call after showing a member's personal data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, Request

from gateway.app import create_app
from gateway.audit import PII_READ_IDS_MAX, AuditLog, record_pii_read
from gateway.auth import Permission, Principal, brand_access
from gateway.settings import GatewaySettings


@pytest.fixture
async def audited(settings: GatewaySettings) -> AsyncIterator[tuple[httpx.AsyncClient, AuditLog]]:
    """The app plus a throwaway route that reads ``n`` members, as a members route would."""
    app = create_app(settings)

    @app.get("/v1/brands/{brand_id}/test-pii-read")
    async def read(request: Request, brand_id: str, n: int,
                   _: Annotated[Principal, Depends(brand_access(Permission.MEMBER_READ))]) -> dict[str, int]:
        record_pii_read(request, [f"m-{i}" for i in range(n)], "member.search")
        return {"n": n}

    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
            yield http, app.state.audit


async def test_a_staff_read_is_recorded_with_the_caller_brand_and_purpose(audited, as_role):
    client, audit = audited

    r = await client.get("/v1/brands/brand-a/test-pii-read", params={"n": 1}, headers=as_role("brand_admin"))

    assert r.status_code == 200
    event = audit.recent[-1]
    assert {k: event[k] for k in ("action", "actor", "brand_id", "target", "purpose", "member_ids",
                                  "member_count", "masked")} == {
        "action": "pii.read", "actor": "staff:staff-brand_admin", "brand_id": "brand-a", "target": "member:m-0",
        "purpose": "member.search", "member_ids": ["m-0"], "member_count": 1, "masked": 0}
    assert event["route"] == "/v1/brands/{brand_id}/test-pii-read"


async def test_a_masked_read_says_so_and_a_group_admin_is_recorded_under_the_paths_brand(audited, as_role):
    client, audit = audited

    await client.get("/v1/brands/brand-a/test-pii-read", params={"n": 2},
                     headers=as_role("analyst"))
    analyst = audit.recent[-1]
    await client.get("/v1/brands/brand-b/test-pii-read", params={"n": 2}, headers=as_role("group_admin", ""))
    group = audit.recent[-1]

    assert (analyst["masked"], analyst["target"], analyst["member_count"]) == (1, None, 2)
    assert (group["brand_id"], group["masked"]) == ("brand-b", 0)


async def test_an_export_sized_read_keeps_the_count_and_caps_the_ids(audited, as_role):
    client, audit = audited

    await client.get("/v1/brands/brand-a/test-pii-read", params={"n": PII_READ_IDS_MAX + 10},
                     headers=as_role("brand_admin"))

    assert audit.recent[-1]["member_count"] == PII_READ_IDS_MAX + 10
    assert len(audit.recent[-1]["member_ids"]) == PII_READ_IDS_MAX


async def test_reading_nobody_records_nothing(audited, as_role):
    client, audit = audited
    before = len(audit.recent)

    await client.get("/v1/brands/brand-a/test-pii-read", params={"n": 0}, headers=as_role("brand_admin"))

    assert len(audit.recent) == before
