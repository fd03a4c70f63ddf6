"""Browser tests: Playwright driving Debian's Chromium against the whole stack, as `make dev` runs it."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

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
