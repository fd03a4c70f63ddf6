"""Browser tests: Playwright driving Debian's Chromium against the whole stack, as `make dev` runs it."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crm_common.testing import eventually
from crm_devstack.runner import Stack

CHROMIUM = os.environ.get("CRM_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling Google, which a closed network refuses.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    missing = not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM))
    for item in items:
        if "tests/browser" in str(item.path):
            item.add_marker(pytest.mark.integration)
            if missing:
                item.add_marker(pytest.mark.skip(
                    reason=f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)"))


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        page = await context.new_page()
        try:
            yield page
        finally:
            await context.close()
            await browser.close()


@pytest.fixture(scope="session")
async def seeded(stack: Stack, stack_admin_password: str) -> dict[str, str]:
    """A brand with a store, a brand admin to log in as, and a member with one order — through the API."""
    import httpx

    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as api:
        token = (await api.post("/v1/auth/token", json={"username": "admin", "password": stack_admin_password})).json()
        admin = {"Authorization": f"Bearer {token['access_token']}"}
        brand = (await api.post("/v1/brands", json={"code": "browser", "name": "浏览器测试品牌"}, headers=admin)).json()
        b = brand["id"]
        store = (await api.post(f"/v1/brands/{b}/stores", json={"code": "S1", "name": "南京西路店"},
                                headers=admin)).json()
        staff = await api.post(f"/v1/brands/{b}/staff", headers=admin, json={
            "username": "brand.boss", "password": "boss-password-1", "display_name": "王经理", "role": "brand_admin"})
        assert staff.status_code == 201, staff.text
        member = (await api.post(f"/v1/brands/{b}/members", headers=admin, json={
            "phone": "13800138000", "name": "李小红", "store_id": store["id"]})).json()
        order = await api.post(f"/v1/brands/{b}/orders", headers=admin, json={
            "external_id": "B-1", "store_id": store["id"], "member_id": member["id"],
            "occurred_at": "2026-01-01T02:00:00Z", "items": [{"sku": "X", "quantity": 1, "amount_fen": 8800}],
            "total_fen": 8800})
        assert order.status_code == 201, order.text
    return {"url": stack.gateway_url, "brand_id": b, "member_id": member["id"],
            "username": "brand.boss", "password": "boss-password-1"}


VIP = {"field": "tags", "op": "contains", "value": "vip"}
BIG_SPENDERS = {"field": "total_spend_fen", "op": ">=", "value": 5000}


@pytest.fixture(scope="session")
async def campaign_brand(stack: Stack, stack_admin_password: str) -> dict[str, Any]:
    """A brand for the campaigns page: a brand admin, an analyst, and four members — three tagged `vip`, of whom
    two spent ¥88 and ¥120 (SMS consent given), one never bought (no consent), and an untagged one who spent
    ¥300. Returned once the campaigns service selects them, so the console's previews have settled data."""
    import httpx

    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as api:
        token = (await api.post("/v1/auth/token", json={"username": "admin", "password": stack_admin_password})).json()
        admin = {"Authorization": f"Bearer {token['access_token']}"}
        brand = await api.post("/v1/brands", json={"code": "browsercmp", "name": "营销测试品牌"}, headers=admin)
        assert brand.status_code == 201, brand.text
        b = brand.json()["id"]
        store = (await api.post(f"/v1/brands/{b}/stores", json={"code": "S1", "name": "静安店"}, headers=admin)).json()
        for username, role in (("cmp.boss", "brand_admin"), ("cmp.analyst", "analyst")):
            staff = await api.post(f"/v1/brands/{b}/staff", headers=admin, json={
                "username": username, "password": f"{username}-password", "display_name": username, "role": role})
            assert staff.status_code == 201, staff.text
        when = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        members: dict[str, str] = {}
        people = (("vip_88", True, 8800, True), ("vip_120", True, 12000, True), ("vip_none", True, 0, False),
                  ("plain_300", False, 30000, True))
        for i, (key, vip, spend_fen, sms) in enumerate(people):
            resp = await api.post(f"/v1/brands/{b}/members", headers=admin, json={
                "phone": f"139770000{i:02d}", "name": key, "store_id": store["id"], "consents": {"sms": sms}})
            assert resp.status_code == 201, resp.text
            members[key] = resp.json()["id"]
            if vip:
                tagged = await api.post(f"/v1/brands/{b}/members/{members[key]}/tags", json={"tags": ["vip"]},
                                        headers=admin)
                assert tagged.status_code in (200, 201), tagged.text
            if spend_fen:
                order = await api.post(f"/v1/brands/{b}/orders", headers=admin, json={
                    "external_id": f"CMP-{i}", "store_id": store["id"], "member_id": members[key], "occurred_at": when,
                    "items": [{"sku": "TEA", "quantity": 1, "amount_fen": spend_fen}], "total_fen": spend_fen})
                assert order.status_code == 201, order.text

        async def count(rule: dict[str, Any]) -> int:
            resp = await api.post(f"/v1/brands/{b}/segments/preview", json={"rule": rule}, headers=admin)
            assert resp.status_code == 200, resp.text
            return resp.json()["count"]

        await eventually(lambda: count({"all": [VIP, BIG_SPENDERS]}), lambda n: n == 2, timeout=60)
        await eventually(lambda: count({"any": [VIP, BIG_SPENDERS]}), lambda n: n == 4, timeout=60)
    return {"url": stack.gateway_url, "brand_id": b, "store_id": store["id"], "members": members,
            "boss": ("cmp.boss", "cmp.boss-password"), "analyst": ("cmp.analyst", "cmp.analyst-password")}
