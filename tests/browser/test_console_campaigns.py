"""The campaigns page: a brand admin builds a segment from conditions, previews and saves it, creates a campaign
and activates it; an analyst sees the same page read-only. Data comes from the `campaign_brand` fixture."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import expect

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
VIP = {"field": "tags", "op": "contains", "value": "vip"}
SPENT_50_YUAN = {"field": "total_spend_fen", "op": ">=", "value": 5000}


async def _open_campaigns(page: Any, brand: dict[str, Any], who: str) -> None:
    username, password = brand[who]
    await page.goto(brand["url"] + "/console/")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("#login-submit")
    await page.wait_for_selector("#chart-daily")
    await page.click("#nav a[href='#/campaigns']")
    await page.wait_for_selector("#segment-builder")


async def _condition(page: Any, index: int, field: str, value: str) -> None:
    row = page.locator(f".rule-row[data-index='{index}']")
    await row.locator(".rule-field").select_option(field)
    await row.locator(".rule-value").fill(value)


async def _api(brand: dict[str, Any], method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A call as the brand admin, for what a test starts from (or what happens outside the console)."""
    username, password = brand["boss"]
    async with httpx.AsyncClient(base_url=brand["url"], timeout=30) as api:
        token = (await api.post("/v1/auth/token", json={"username": username, "password": password})).json()
        resp = await api.request(method, f"/v1/brands/{brand['brand_id']}{path}", json=body,
                                 headers={"Authorization": f"Bearer {token['access_token']}"})
        assert resp.is_success, resp.text
        return resp.json()


async def _api_segment(brand: dict[str, Any], name: str, rule: dict[str, Any]) -> dict[str, Any]:
    return await _api(brand, "POST", "/segments", {"name": name, "rule": rule})


async def _refresh_until(page: Any, stat: str, text: str, timeout_s: float = 60) -> None:
    """Press the stats panel's refresh until a card shows ``text`` (sending and attribution run in the background)."""
    card = page.locator(f"#campaign-stats [data-stat={stat}] b")
    for _ in range(int(timeout_s)):
        if await card.count() and await card.inner_text() == text:
            return
        await page.wait_for_timeout(1000)
        await page.click("#stats-refresh")
    await expect(card).to_have_text(text)


async def test_a_segment_built_from_conditions_previews_its_members_and_is_saved(page, campaign_brand):
    members = campaign_brand["members"]
    await _open_campaigns(page, campaign_brand, "boss")
    assert await page.locator("#nav a.active").inner_text() == "营销活动"

    await _condition(page, 0, "tags", "vip")
    await page.click("#rule-add")
    await _condition(page, 1, "total_spend_fen", "50")  # yuan on screen
    await page.click("#segment-preview")

    await expect(page.locator("#segment-count")).to_have_text("2")
    sample = await page.inner_text("#segment-sample")
    assert members["vip_88"] in sample and members["vip_120"] in sample and members["vip_none"] not in sample

    await page.select_option("#rule-join", "any")  # 任一满足
    await page.click("#segment-preview")
    await expect(page.locator("#segment-count")).to_have_text("4")

    await page.select_option("#rule-join", "all")
    await page.click("#rule-mode")  # the advanced JSON shows what is sent: fen
    assert json.loads(await page.input_value("#rule-json")) == {"all": [VIP, SPENT_50_YUAN]}
    await page.click("#rule-mode")
    await expect(page.locator(".rule-row[data-index='1'] .rule-value")).to_have_value("50")

    await page.fill("#segment-name", "高消费 VIP")
    await page.click("#segment-save")

    await expect(page.locator("#segment-result .ok")).to_contain_text("高消费 VIP")
    saved = page.locator("#segment-table .segment-row", has_text="高消费 VIP")
    await expect(saved.locator(".segment-count")).to_have_text("2")
    await page.screenshot(path=str(ARTIFACTS / "campaigns-segment.png"), full_page=True)

    await page.reload()  # a fresh builder; a saved segment loads back into it, its fen shown as yuan
    await page.locator("#segment-table .segment-row", has_text="高消费 VIP").click()
    await expect(page.locator(".rule-row")).to_have_count(2)
    await expect(page.locator(".rule-row[data-index='0'] .rule-value")).to_have_value("vip")
    await expect(page.locator(".rule-row[data-index='1'] .rule-field")).to_have_value("total_spend_fen")
    await expect(page.locator(".rule-row[data-index='1'] .rule-value")).to_have_value("50")


async def test_a_bad_condition_is_shown_next_to_its_row_and_a_bad_json_rule_under_the_json(page, campaign_brand):
    await _open_campaigns(page, campaign_brand, "boss")

    await _condition(page, 0, "tags", "vip")
    await page.click("#rule-add")
    await _condition(page, 1, "tags", "")  # the service: rule.all[1].value must be a tag
    await page.click("#segment-preview")

    await expect(page.locator(".rule-row[data-index='1'] .field-error")).to_contain_text("tag")
    await expect(page.locator(".rule-row[data-index='0'] .field-error")).to_be_empty()
    assert await page.locator("#segment-count").count() == 0

    await page.click("#rule-mode")
    await page.fill("#rule-json", '{"any": [{"field": "tier", "op": ">", "value": "gold"}]}')
    await page.click("#segment-preview")
    await expect(page.locator("[data-error-for='rule-json']")).to_contain_text("rule.any[0].op")

    await page.fill("#rule-json", '{"all": [')
    await page.click("#segment-preview")
    await expect(page.locator("[data-error-for='rule-json']")).to_have_text("不是有效的 JSON")


async def test_a_campaign_is_created_for_a_segment_and_activated_after_a_confirmation(page, campaign_brand):
    segment = await _api_segment(campaign_brand, "活动分群", {"all": [VIP, SPENT_50_YUAN]})
    await _open_campaigns(page, campaign_brand, "boss")

    await page.fill("#campaign-name", "双十二老客回馈")
    await page.select_option("#campaign-segment", segment["id"])
    await page.select_option("#campaign-channel", "sms")
    await expect(page.locator("#campaign-subject")).to_be_hidden()  # email only
    await page.fill("#campaign-template", "SMS_154950909")
    await page.fill(".param-row .param-key", "coupon")
    await page.fill(".param-row .param-value", "¥20")
    await page.click("#campaign-create")

    channel_error = page.locator("#campaign-form [data-error-for='channel']:not(:empty)")
    created = page.locator("#campaign-result .ok")
    await expect(channel_error.or_(created)).to_be_visible()
    if await channel_error.count():
        # A stack without SMS credentials (and without the dev SMS sandbox) refuses the channel: shown next to it.
        await expect(channel_error).to_contain_text("该渠道不可用")
        await expect(channel_error).to_contain_text("not configured")
        await expect(page.locator("#campaign-table .campaign-row", has_text="双十二老客回馈")).to_have_count(0)
        pytest.skip("SMS is not configured in this test stack (the campaigns service answers 422 'not configured' on "
                    "channel, which the console shows next to the channel field); activation and stats need the dev "
                    "stack's SMS sandbox")

    row = page.locator("#campaign-table .campaign-row", has_text="双十二老客回馈")
    await expect(row.locator(".status")).to_have_text("草稿")
    await row.locator(".activate").click()
    confirm = page.locator("#campaign-confirm .confirm")
    await expect(confirm).to_contain_text("确认启动活动“双十二老客回馈”")
    await expect(row).to_have_attribute("data-status", "draft")  # nothing happens before the confirmation
    await page.click("#activate-confirm")

    await expect(row.locator(".status")).to_have_text(re.compile("进行中|已完成"))
    await expect(row.locator(".activate")).to_have_count(0)
    await expect(confirm).to_have_count(0)
    stats = page.locator("#campaign-stats")
    await expect(stats.locator("h2").first).to_contain_text("双十二老客回馈")
    await expect(stats.locator("[data-stat=audience] b")).to_have_text("2")
    await expect(stats.locator("[data-stat=suppressedConsent] b")).to_have_text("0")
    await _refresh_until(page, "sent", "2")  # to the SMS sandbox
    await expect(stats.locator("[data-stat=cost] b")).to_have_text("¥0.10")  # 2 × 5 fen, the SMS default

    buyer = campaign_brand["members"]["vip_88"]
    await _api(campaign_brand, "POST", "/orders", {  # a messaged member buys: last-touch attribution
        "external_id": "CMP-AFTER", "store_id": campaign_brand["store_id"], "member_id": buyer,
        "occurred_at": datetime.now(UTC).isoformat(), "items": [{"sku": "TEA", "quantity": 1, "amount_fen": 6600}],
        "total_fen": 6600})
    await _refresh_until(page, "revenueYuan", "¥66.00")
    await expect(stats.locator("[data-stat=conversions] b")).to_have_text("1")
    await expect(stats.locator("[data-stat=conversionRate] b")).to_have_text("50%")
    await page.wait_for_selector("#chart-campaign[data-rendered=true] canvas", timeout=30_000)
    await page.screenshot(path=str(ARTIFACTS / "campaigns-stats.png"), full_page=True)


async def test_a_refused_campaign_shows_each_error_next_to_the_field_it_names(page, campaign_brand):
    segment = await _api_segment(campaign_brand, "报错用分群", {"all": [VIP]})
    await _open_campaigns(page, campaign_brand, "boss")
    await page.fill("#campaign-name", "缺模板的短信")
    await page.select_option("#campaign-segment", segment["id"])

    await page.click("#campaign-create")  # SMS without the provider's template id

    await expect(page.locator("#campaign-form [data-error-for='content.template_id']")).to_contain_text("required")
    await expect(page.locator("#campaign-form [data-error-for='name']")).to_be_empty()
    await expect(page.locator("#campaign-table .campaign-row", has_text="缺模板的短信")).to_have_count(0)

    await page.select_option("#campaign-channel", "email")
    await expect(page.locator("#campaign-template")).to_be_hidden()
    await page.fill("#campaign-subject", "会员日")
    await page.fill("#campaign-text", "本周六会员日，全场 9 折。")
    await page.click("#campaign-create")

    channel_error = page.locator("#campaign-form [data-error-for='channel']:not(:empty)")
    await expect(channel_error.or_(page.locator("#campaign-result .ok"))).to_be_visible()
    if not await channel_error.count():
        pytest.skip("this stack has an email provider: the 'channel not configured' display is not reachable")
    await expect(channel_error).to_contain_text("该渠道不可用")
    await expect(channel_error).to_contain_text("email channel is not configured")
    await expect(page.locator("#campaign-form [data-error-for='content.template_id']")).to_be_empty()
    await page.screenshot(path=str(ARTIFACTS / "campaigns-channel-error.png"), full_page=True)


async def test_an_analyst_previews_and_reads_but_cannot_save_create_or_activate(page, campaign_brand):
    await _api_segment(campaign_brand, "分析师可见的分群", {"all": [VIP]})
    await _open_campaigns(page, campaign_brand, "analyst")

    await expect(page.locator("#read-only")).to_contain_text("只能查看")
    await expect(page.locator("#segment-table")).to_contain_text("分析师可见的分群")
    assert await page.locator("#segment-save").count() == 0
    assert await page.locator("#campaign-form").count() == 0
    assert await page.locator("#campaigns .activate").count() == 0

    await _condition(page, 0, "tags", "vip")
    await page.click("#segment-preview")  # previewing is reading
    await expect(page.locator("#segment-count")).to_have_text("3")

    await page.click("#lang")
    await expect(page.locator("#read-only")).to_contain_text("can view campaigns")
    await expect(page.locator("#segment-preview")).to_have_text("Preview")
    await page.screenshot(path=str(ARTIFACTS / "campaigns-analyst-en.png"), full_page=True)
