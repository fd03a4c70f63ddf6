"""A campaign sent through the whole stack: members and a segment made through the gateway, an SMS campaign
activated there, the campaigns service taking each contact from the members service and sending signed SendSms
requests to the stack's SMS sandbox (what `make dev` runs without an SMS provider), then an order of a messaged
member attributed in the stats. A campaign on the sandbox's refused template fails its messages."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from campaigns.adapters.channels import sms_out_id
from crm_devstack.runner import Stack

TEMPLATE = "SMS_WELCOME_BACK"
PARAMS = {"gift": "拿铁一杯", "store": "西湖店"}


async def _stats(api: httpx.AsyncClient, admin: dict[str, str], b: str, campaign_id: str) -> dict[str, Any]:
    resp = await api.get(f"/v1/brands/{b}/campaigns/{campaign_id}/stats", headers=admin)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def _sandbox_messages(stack: Stack, campaign_id: str | None = None) -> list[dict[str, Any]]:
    """What the SMS sandbox took for this campaign (the sandbox serves the whole session), or for any."""
    assert stack.sms_messages_url, "the stack runs no SMS sandbox"
    async with httpx.AsyncClient(timeout=10) as client:
        resp = await client.get(stack.sms_messages_url)
    assert resp.status_code == 200, resp.text
    return [m for m in resp.json() if campaign_id is None or m["out_id"].startswith(f"{campaign_id}:")]


async def _create_and_activate(api: httpx.AsyncClient, admin: dict[str, str], b: str, segment_id: str,
                               template: str, params: dict[str, str], kit: Any) -> dict[str, Any]:
    content: dict[str, Any] = {"template_id": template, **({"params": params} if params else {})}
    created = await api.post(f"/v1/brands/{b}/campaigns", headers=admin, json={
        "name": f"回店礼 {kit.unique('c')}", "segment_id": segment_id, "channel": "sms", "content": content})
    assert created.status_code == 201, created.text
    campaign = created.json()
    assert (campaign["status"], campaign["channel"], campaign["cost_per_message_fen"]) == ("draft", "sms", 5)
    activated = await api.post(f"/v1/brands/{b}/campaigns/{campaign['id']}/activation", headers=admin)
    assert activated.status_code == 200, activated.text
    assert activated.json()["status"] == "active"
    return activated.json()


async def test_an_sms_campaign_reaches_consenting_members_and_earns_an_order(api, admin, kit, stack) -> None:
    brand = await api.post("/v1/brands", json={"code": kit.unique("sms"), "name": "短信营销"}, headers=admin)
    assert brand.status_code == 201, brand.text
    b = brand.json()["id"]
    store = await api.post(f"/v1/brands/{b}/stores", json={"code": "WEST", "name": "西湖店"}, headers=admin)
    assert store.status_code == 201, store.text
    store_id = store.json()["id"]

    base = secrets.randbelow(10**7) * 10  # phones of their own: the sandbox's list spans the session
    consents: list[dict[str, bool] | None] = [{"sms": True}, {"sms": True, "wechat": True}, {"sms": False},
                                              {"wechat": True}]
    members: list[tuple[str, str]] = []  # (member id, phone)
    for i, given in enumerate(consents):
        phone = kit.phone(base + i)
        body: dict[str, Any] = {"phone": phone, "store_id": store_id}
        if given is not None:
            body["consents"] = given
        resp = await api.post(f"/v1/brands/{b}/members", json=body, headers=admin)
        assert resp.status_code == 201, resp.text
        members.append((resp.json()["id"], phone))
    consenting = {phone for (_, phone), given in zip(members, consents, strict=True) if given and given.get("sms")}
    assert len(consenting) == 2 and all(len(p) == 11 and p.isdigit() for p in consenting)

    everyone = {"field": "registered_days_ago", "op": ">=", "value": 0}

    async def preview() -> dict[str, Any]:
        resp = await api.post(f"/v1/brands/{b}/segments/preview", json={"rule": everyone}, headers=admin)
        assert resp.status_code == 200, resp.text
        return resp.json()

    # Members reach the campaigns service's audience store as events: wait for all four before activating.
    await kit.eventually(preview, lambda p: p["count"] == len(members))
    segment = await api.post(f"/v1/brands/{b}/segments", json={"name": "全部会员", "rule": everyone}, headers=admin)
    assert segment.status_code == 201, segment.text
    segment_id = segment.json()["id"]

    campaign = await _create_and_activate(api, admin, b, segment_id, TEMPLATE, PARAMS, kit)
    assert campaign["audience"] == len(members)
    c = campaign["id"]
    stats = await kit.eventually(lambda: _stats(api, admin, b, c), lambda s: s["status"] == "completed", timeout=60)
    assert (stats["audience"], stats["pending"], stats["sent"], stats["failed"], stats["suppressed_no_consent"],
            stats["suppressed_frequency_cap"]) == (4, 0, 2, 0, 2, 0), stats
    assert stats["cost_fen"] == 10

    # What the provider "sent": the consenting members' mainland numbers, our template and parameters.
    taken = await _sandbox_messages(stack, c)
    assert sorted(m["phone"] for m in taken) == sorted(consenting)
    assert all((m["template"], m["params"]) == (TEMPLATE, PARAMS) for m in taken)
    by_phone = {phone: member_id for member_id, phone in members}
    # OutId is the idempotency key "campaign:member" (shortened with a hash past 64 characters, as here).
    assert {m["out_id"] for m in taken} == {sms_out_id(f"{c}:{by_phone[p]}") for p in consenting}
    everything = await _sandbox_messages(stack)
    assert not {m["phone"] for m in everything} & (set(by_phone) - consenting)

    # An order of a messaged member, after the message, is the campaign's conversion.
    buyer = by_phone[sorted(consenting)[0]]
    order = await api.post(f"/v1/brands/{b}/orders", headers=admin, json={
        "external_id": kit.unique("POS-"), "store_id": store_id, "member_id": buyer,
        "occurred_at": datetime.now(UTC).isoformat(), "total_fen": 3_200,
        "items": [{"sku": "LATTE", "quantity": 1, "amount_fen": 3_200}]})
    assert order.status_code == 201, order.text
    stats = await kit.eventually(lambda: _stats(api, admin, b, c), lambda s: s["conversions"] == 1, timeout=60)
    assert (stats["revenue_fen"], stats["converted_members"]) == (3_200, 1), stats
    assert stats["roi"] == pytest.approx((3_200 - 10) / 10)
    assert stats["conversion_rate"] == pytest.approx(0.5)

    # The sandbox refuses its rejection template: the provider's "no" fails the messages, none is recorded.
    refused = await _create_and_activate(api, admin, b, segment_id, "SMS_REJECT", {}, kit)
    r = refused["id"]
    stats = await kit.eventually(lambda: _stats(api, admin, b, r), lambda s: s["status"] == "completed", timeout=60)
    assert (stats["sent"], stats["failed"], stats["suppressed_no_consent"], stats["cost_fen"]) == (0, 2, 2, 0), stats
    assert await _sandbox_messages(stack, r) == []
