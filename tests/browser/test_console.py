"""A brand admin uses the console: logs in, sees the dashboard chart, finds a member, opens the 360° page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


async def _login(page: Any, seeded: dict[str, str]) -> None:
    await page.goto(seeded["url"] + "/console/")
    await page.fill("input[name=username]", seeded["username"])
    await page.fill("input[name=password]", seeded["password"])
    await page.click("#login-submit")
    await page.wait_for_selector("#chart-daily")


async def test_login_shows_the_dashboard_with_a_rendered_chart(page, seeded):
    await _login(page, seeded)

    await page.wait_for_selector("#chart-daily[data-rendered=true] canvas", timeout=30_000)
    assert await page.locator("html").get_attribute("lang") == "zh-CN"
    assert await page.locator("#nav a.active").inner_text() == "数据看板"
    await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)


async def test_search_a_member_and_open_the_360_page(page, seeded):
    await _login(page, seeded)
    await page.click("#nav a[href='#/members']")

    await page.fill("#member-q", seeded["member_id"])
    await page.click("#member-search")
    await page.click(".member-row")

    await page.wait_for_selector("#member-360")
    await page.wait_for_selector("#m-profile td")
    profile = await page.inner_text("#m-profile")
    assert "李小红" in profile and "+8613800138000" in profile
    await page.wait_for_function("!document.querySelector('#m-points').innerText.includes('加载中')")
    assert "88" in await page.inner_text("#m-points")
    await page.screenshot(path=str(ARTIFACTS / "member-360.png"), full_page=True)


async def test_the_english_toggle_switches_the_console(page, seeded):
    await _login(page, seeded)

    await page.click("#lang")

    await page.wait_for_selector("#nav a:text('Dashboard')")
    assert await page.locator("html").get_attribute("lang") == "en"
    await page.set_viewport_size({"width": 820, "height": 1180})  # a tablet, portrait
    await page.screenshot(path=str(ARTIFACTS / "dashboard-en-tablet.png"), full_page=True)
