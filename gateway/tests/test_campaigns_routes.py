"""Campaign creation, reads, activation and stats: what the gateway sends the campaigns service, who may call,
the store scope, the gateway's own validation of a campaign's shape and the service's refusals passed through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from crm.campaigns.v1 import campaigns_pb2
from gateway.auth import ROLE_PERMISSIONS, Permission, Role

from .conftest import BRAND_A, BRAND_B

SEGMENTS = f"/v1/brands/{BRAND_A}/segments"
CAMPAIGNS = f"/v1/brands/{BRAND_A}/campaigns"
PROBLEM = "application/problem+json"
VIP = {"field": "tags", "op": "contains", "value": "vip"}  # brand A: m-a1 (store-a1) and m-a2 (store-a2)
SMS = {"template_id": "SMS_154950909", "params": {"name": "王芳"}}
SHANGHAI = timezone(timedelta(hours=8))
CAMPAIGN_FIELDS = {"id", "name", "segment_id", "channel", "content", "status", "send_at", "attribution_days",
                   "cost_per_message_fen", "store_ids", "created_by", "created_at", "activated_at", "audience"}
STATS_FIELDS = {"campaign_id", "status", "audience", "pending", "sent", "failed", "suppressed_no_consent",
                "suppressed_frequency_cap", "conversions", "converted_members", "revenue_fen", "cost_fen", "roi",
                "conversion_rate"}


def _manager(as_role):
    return as_role("store_manager", store_ids=("store-a1",))  # staff id "staff-store_manager"


def _sent(backends, kind: type) -> list:
    return [r for r in backends.campaigns.requests if isinstance(r, kind)]


def _in(days: float = 0, **delta: float) -> datetime:
    return datetime.now(UTC) + timedelta(days=days, **delta)


def _iso(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).isoformat()


async def _segment(client, headers) -> str:
    r = await client.post(SEGMENTS, json={"name": "VIPs", "rule": VIP}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _body(segment_id: str, **fields) -> dict:
    return {"name": "Spring sale", "segment_id": segment_id, "channel": "sms", "content": SMS, **fields}


async def _create(client, headers, segment_id: str, **fields) -> dict:
    r = await client.post(CAMPAIGNS, json=_body(segment_id, **fields), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
async def segment_id(client, as_role) -> str:
    """A brand-wide segment of brand A (m-a1 and m-a2)."""
    return await _segment(client, as_role("brand_admin"))


# --- create ---------------------------------------------------------------------------------------------------


async def test_create_answers_201_with_the_draft_and_sends_every_field(client, as_role, backends, segment_id):
    send_at = _in(10).replace(microsecond=0)
    content = {"template_id": "tpl-Xh7yQ_01", "params": {"thing1": "春季新品", "time2": "2026-05-02"},
               "text": "  春季新品到店  ", "page": "pages/coupons/index?id=1"}

    r = await client.post(CAMPAIGNS, json={
        "name": "  Spring sale ", "segment_id": segment_id, "channel": "wechat", "content": content,
        "send_at": _iso(send_at), "attribution_days": 14, "cost_per_message_fen": 8,
    }, headers=as_role("brand_admin"))

    assert r.status_code == 201, r.text
    campaign = r.json()
    assert set(campaign) == CAMPAIGN_FIELDS
    assert campaign["id"] and campaign["created_at"].endswith("Z")
    assert {k: v for k, v in campaign.items() if k not in ("id", "created_at")} == {
        "name": "Spring sale", "segment_id": segment_id, "channel": "wechat",
        "content": {"text": "春季新品到店", "subject": None, "template_id": "tpl-Xh7yQ_01",
                    "params": {"thing1": "春季新品", "time2": "2026-05-02"}, "page": "pages/coupons/index?id=1"},
        "status": "draft", "send_at": send_at.isoformat().replace("+00:00", "Z"), "attribution_days": 14,
        "cost_per_message_fen": 8, "store_ids": [], "created_by": "staff-brand_admin", "activated_at": None,
        "audience": 0,
    }
    [sent] = _sent(backends, campaigns_pb2.CreateCampaignRequest)
    assert (sent.brand_id, sent.name, sent.segment_id, sent.channel, sent.created_by) == (
        BRAND_A, "Spring sale", segment_id, "wechat", "staff-brand_admin")
    assert (sent.content.text, sent.content.subject, sent.content.template_id, sent.content.page) == (
        "春季新品到店", "", "tpl-Xh7yQ_01", "pages/coupons/index?id=1")
    assert dict(sent.content.params) == content["params"]
    assert sent.send_at.ToDatetime(tzinfo=UTC) == send_at
    assert (sent.attribution_days, sent.cost_per_message_fen) == (14, 8)
    assert not sent.HasField("scope")  # a brand admin's campaign may reach the whole brand


async def test_a_minimal_campaign_sends_on_activation_with_the_default_window_and_price(
        client, as_role, backends, segment_id):
    campaign = await _create(client, as_role("brand_admin"), segment_id)

    [sent] = _sent(backends, campaigns_pb2.CreateCampaignRequest)
    assert not sent.HasField("send_at")
    assert (sent.attribution_days, sent.cost_per_message_fen) == (7, 0)  # 0: the service's price for the channel
    assert (campaign["send_at"], campaign["attribution_days"], campaign["cost_per_message_fen"]) == (None, 7, 5)
    assert campaign["content"] == {"text": None, "subject": None, "template_id": "SMS_154950909",
                                   "params": {"name": "王芳"}, "page": None}


async def test_an_email_campaign_needs_a_subject_and_a_text(client, as_role, backends, segment_id):
    admin = as_role("brand_admin")

    neither = await client.post(CAMPAIGNS, json=_body(segment_id, channel="email", content={}), headers=admin)
    both = await client.post(CAMPAIGNS, json=_body(segment_id, channel="email", content={
        "subject": "春季新品", "text": "Dear member,\n\tour spring collection is in."}), headers=admin)

    assert neither.status_code == 422 and neither.headers["content-type"] == PROBLEM
    assert neither.json()["errors"] == [{"field": "content.subject", "message": "required for email"},
                                        {"field": "content.text", "message": "required for email"}]
    assert both.status_code == 201, both.text
    assert both.json()["content"]["text"] == "Dear member,\n\tour spring collection is in."
    assert len(_sent(backends, campaigns_pb2.CreateCampaignRequest)) == 1


_LONG = "x" * 501


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": None}, "name"), ({"name": "   "}, "name"), ({"name": "x" * 101}, "name"), ({"name": "a\nb"}, "name"),
        ({"segment_id": None}, "segment_id"), ({"segment_id": " "}, "segment_id"),
        ({"channel": None}, "channel"), ({"channel": "fax"}, "channel"), ({"channel": "SMS"}, "channel"),
        ({"content": None}, "content"), ({"content": "hello"}, "content"),
        ({"content": {**SMS, "text": _LONG}}, "content.text"), ({"content": {**SMS, "text": "a\x00b"}}, "content.text"),
        ({"content": {"params": {"name": "王芳"}}}, "content.template_id"),
        ({"content": {"template_id": "   "}}, "content.template_id"),
        ({"channel": "wechat", "content": {"text": "hi"}}, "content.template_id"),
        ({"content": {"template_id": "SMS 1"}}, "content.template_id"),
        ({"content": {"template_id": "x" * 65}}, "content.template_id"),
        ({"channel": "email", "content": {"subject": "hi\r\nBcc: all@example.com", "text": "hi"}}, "content.subject"),
        ({"channel": "email", "content": {"subject": "x" * 201, "text": "hi"}}, "content.subject"),
        ({"content": {**SMS, "params": {f"p{i}": "v" for i in range(21)}}}, "content.params"),
        ({"content": {**SMS, "params": {"bad name": "v"}}}, "content.params"),
        ({"content": {**SMS, "params": {"p" * 33: "v"}}}, "content.params"),
        ({"content": {**SMS, "params": {"name": "x" * 101}}}, "content.params.name"),
        ({"content": {**SMS, "params": {"name": 3}}}, "content.params.name"),
        ({"content": {**SMS, "params": ["name"]}}, "content.params"),
        ({"content": {**SMS, "page": "pages/index index"}}, "content.page"),
        ({"content": {**SMS, "body": "hi"}}, "content.body"),
        ({"send_at": "2030-01-01T10:00:00"}, "send_at"), ({"send_at": "tomorrow"}, "send_at"),
        ({"send_at": "0001-01-01T00:00:00+05:00"}, "send_at"),
        ({"attribution_days": 0}, "attribution_days"), ({"attribution_days": 91}, "attribution_days"),
        ({"attribution_days": "7"}, "attribution_days"), ({"attribution_days": 7.5}, "attribution_days"),
        ({"cost_per_message_fen": -1}, "cost_per_message_fen"), ({"cost_per_message_fen": "5"}, "cost_per_message_fen"),
        ({"cost_per_message_fen": 100_001}, "cost_per_message_fen"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_a_bad_campaign_is_422_naming_the_field(client, as_role, backends, segment_id, change, field):
    body = {k: v for k, v in {**_body(segment_id), **change}.items() if v is not None}

    r = await client.post(CAMPAIGNS, json=body, headers=as_role("brand_admin"))

    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert _sent(backends, campaigns_pb2.CreateCampaignRequest) == []


@pytest.mark.parametrize(("send_at", "ok"), [
    (lambda: _in(-1), False), (lambda: _in(minutes=-2), True), (lambda: _in(89), True), (lambda: _in(91), False)])
async def test_send_at_is_from_now_to_90_days_ahead(client, as_role, backends, segment_id, send_at, ok):
    moment = send_at().replace(microsecond=0)

    r = await client.post(CAMPAIGNS, json=_body(segment_id, send_at=_iso(moment)), headers=as_role("brand_admin"))

    if ok:
        assert r.status_code == 201, r.text
        assert _sent(backends, campaigns_pb2.CreateCampaignRequest)[0].send_at.ToDatetime(tzinfo=UTC) == moment
    else:
        assert r.status_code == 422
        assert [e["field"] for e in r.json()["errors"]] == ["send_at"]
        assert _sent(backends, campaigns_pb2.CreateCampaignRequest) == []


async def test_a_channel_the_service_does_not_send_on_is_422_naming_channel(client, as_role, backends, segment_id):
    backends.campaigns.channels.discard("email")  # no mail provider in this deployment
    admin = as_role("brand_admin")

    push = await client.post(CAMPAIGNS, json=_body(segment_id, channel="push", content={"text": "hi"}), headers=admin)
    email = await client.post(CAMPAIGNS, json=_body(segment_id, channel="email", content={
        "subject": "hi", "text": "hi"}), headers=admin)

    for r, detail in ((push, "the push channel is not available yet"),
                      (email, "the email channel is not configured in this deployment")):
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == PROBLEM
        assert r.json()["type"].endswith("/invalid-campaign")
        assert r.json()["errors"] == [{"field": "channel", "message": detail}]
    assert [r.channel for r in _sent(backends, campaigns_pb2.CreateCampaignRequest)] == ["push", "email"]
    assert backends.campaigns.campaigns == {}


async def test_a_campaign_for_an_unknown_segment_is_404(client, as_role, backends):
    r = await client.post(CAMPAIGNS, json=_body("no-such-segment"), headers=as_role("brand_admin"))

    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM
    # The gateway's own 404, as for any record the caller may not see (not the service's SEGMENT_NOT_FOUND).
    assert (r.json()["type"], r.json()["detail"]) == ("https://crm.example/problems/not-found", "segment not found")
    assert _sent(backends, campaigns_pb2.CreateCampaignRequest)[0].segment_id == "no-such-segment"


# --- reads ----------------------------------------------------------------------------------------------------


async def test_get_and_list_return_the_brands_campaigns_newest_first(client, as_role, backends, segment_id):
    admin = as_role("brand_admin")
    first = await _create(client, admin, segment_id, name="first")
    second = await _create(client, admin, segment_id, name="second")

    got = await client.get(f"{CAMPAIGNS}/{first['id']}", headers=admin)
    page1 = await client.get(f"{CAMPAIGNS}?limit=1", headers=admin)
    page2 = await client.get(f"{CAMPAIGNS}?limit=1&cursor={page1.json()['next_cursor']}", headers=admin)

    assert got.status_code == 200 and got.json() == first
    assert page1.status_code == page2.status_code == 200
    assert page1.json()["items"] == [second] and page1.json()["next_cursor"]
    assert page2.json() == {"items": [first], "next_cursor": None}
    listed = _sent(backends, campaigns_pb2.ListCampaignsRequest)
    assert [(r.brand_id, r.limit, r.HasField("scope")) for r in listed] == [(BRAND_A, 1, False)] * 2
    assert (listed[0].cursor, listed[1].cursor) == ("", "1")  # the service's own cursor, passed back
    [get] = _sent(backends, campaigns_pb2.GetCampaignRequest)
    assert (get.brand_id, get.campaign_id, get.HasField("scope")) == (BRAND_A, first["id"], False)


async def test_an_unknown_campaign_is_404_on_every_route(client, as_role, backends):
    admin = as_role("brand_admin")

    responses = [await client.get(f"{CAMPAIGNS}/nope", headers=admin),
                 await client.post(f"{CAMPAIGNS}/nope/activation", headers=admin),
                 await client.get(f"{CAMPAIGNS}/nope/stats", headers=admin)]

    assert [r.status_code for r in responses] == [404] * 3
    assert all(r.json()["detail"] == "campaign not found" for r in responses)
    assert [type(r) for r in backends.campaigns.requests] == [
        campaigns_pb2.GetCampaignRequest, campaigns_pb2.ActivateCampaignRequest, campaigns_pb2.GetCampaignStatsRequest]


async def test_list_query_is_validated(client, as_role, backends):
    bad_limit = await client.get(f"{CAMPAIGNS}?limit=0", headers=as_role("brand_admin"))
    bad_cursor = await client.get(f"{CAMPAIGNS}?cursor=not-ours", headers=as_role("brand_admin"))

    assert [e["field"] for e in bad_limit.json()["errors"]] == ["limit"]
    assert [e["field"] for e in bad_cursor.json()["errors"]] == ["cursor"]
    assert backends.campaigns.requests == []


# --- activation -----------------------------------------------------------------------------------------------


async def test_activation_freezes_the_audience_and_a_repeat_answers_the_same_campaign(
        client, as_role, backends, segment_id):
    admin = as_role("brand_admin")
    draft = await _create(client, admin, segment_id)
    url = f"{CAMPAIGNS}/{draft['id']}/activation"

    first = await client.post(url, headers=admin)  # no body
    again = await client.post(url, json={}, headers=admin)  # or an empty object
    got = await client.get(f"{CAMPAIGNS}/{draft['id']}", headers=admin)

    assert first.status_code == again.status_code == 200, first.text
    active = first.json()
    assert (active["status"], active["audience"]) == ("active", 2)  # m-a1 and m-a2
    assert active["activated_at"].endswith("Z")
    assert {k: v for k, v in active.items() if k not in ("status", "audience", "activated_at")} == {
        k: v for k, v in draft.items() if k not in ("status", "audience", "activated_at")}
    assert again.json() == active == got.json()
    # The gateway forwards each activation; the service makes the repeat a no-op.
    sent = _sent(backends, campaigns_pb2.ActivateCampaignRequest)
    assert [(r.brand_id, r.campaign_id, r.activated_by, r.HasField("scope")) for r in sent] == [
        (BRAND_A, draft["id"], "staff-brand_admin", False)] * 2
    assert backends.campaigns.activated_by == {draft["id"]: "staff-brand_admin"}


@pytest.mark.parametrize(("body", "field"), [({"now": True}, "now"), ([], "body"), ("go", "body")])
async def test_an_activation_body_other_than_empty_is_422(client, as_role, backends, segment_id, body, field):
    admin = as_role("brand_admin")
    draft = await _create(client, admin, segment_id)

    r = await client.post(f"{CAMPAIGNS}/{draft['id']}/activation", json=body, headers=admin)

    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert _sent(backends, campaigns_pb2.ActivateCampaignRequest) == []


# --- stats ----------------------------------------------------------------------------------------------------


async def test_stats_forward_the_services_delivery_and_attribution_figures(client, as_role, backends, segment_id):
    admin = as_role("brand_admin")
    draft = await _create(client, admin, segment_id)
    stats_url = f"{CAMPAIGNS}/{draft['id']}/stats"

    before = await client.get(stats_url, headers=admin)
    await client.post(f"{CAMPAIGNS}/{draft['id']}/activation", headers=admin)
    backends.campaigns.outcomes[draft["id"]] = {
        "sent": 1, "suppressed_no_consent": 1, "conversions": 2, "converted_members": 1, "revenue_fen": 12_345}
    after = await client.get(stats_url, headers=admin)

    assert before.status_code == after.status_code == 200, before.text
    assert set(after.json()) == STATS_FIELDS
    assert before.json() == {
        "campaign_id": draft["id"], "status": "draft", "audience": 0, "pending": 0, "sent": 0, "failed": 0,
        "suppressed_no_consent": 0, "suppressed_frequency_cap": 0, "conversions": 0, "converted_members": 0,
        "revenue_fen": 0, "cost_fen": 0, "roi": 0.0, "conversion_rate": 0.0}
    assert after.json() == {
        "campaign_id": draft["id"], "status": "active", "audience": 2, "pending": 0, "sent": 1, "failed": 0,
        "suppressed_no_consent": 1, "suppressed_frequency_cap": 0, "conversions": 2, "converted_members": 1,
        "revenue_fen": 12_345, "cost_fen": 5, "roi": 2468.0, "conversion_rate": 1.0}
    sent = _sent(backends, campaigns_pb2.GetCampaignStatsRequest)
    assert [(r.brand_id, r.campaign_id, r.HasField("scope")) for r in sent] == [(BRAND_A, draft["id"], False)] * 2


async def test_stats_carry_fractions_as_numbers(client, as_role, backends, segment_id):
    admin = as_role("brand_admin")
    draft = await _create(client, admin, segment_id, cost_per_message_fen=3)
    await client.post(f"{CAMPAIGNS}/{draft['id']}/activation", headers=admin)
    backends.campaigns.outcomes[draft["id"]] = {"sent": 2, "converted_members": 1, "conversions": 1, "revenue_fen": 10}

    stats = (await client.get(f"{CAMPAIGNS}/{draft['id']}/stats", headers=admin)).json()

    assert (stats["cost_fen"], stats["roi"], stats["conversion_rate"]) == (6, pytest.approx(4 / 6), 0.5)


# --- who may --------------------------------------------------------------------------------------------------


def test_campaigns_are_created_and_activated_by_admins_and_store_managers_only():
    writers = {role for role, granted in ROLE_PERMISSIONS.items() if Permission.CAMPAIGN_WRITE in granted}
    readers = {role for role, granted in ROLE_PERMISSIONS.items() if Permission.CAMPAIGN_READ in granted}

    assert writers == {Role.GROUP_ADMIN, Role.BRAND_ADMIN, Role.STORE_MANAGER}
    assert readers == writers | {Role.ANALYST}


async def test_a_store_managers_campaign_is_limited_to_their_stores(client, as_role, backends):
    manager = _manager(as_role)
    own_segment = await _segment(client, manager)

    draft = await _create(client, manager, own_segment)
    activated = await client.post(f"{CAMPAIGNS}/{draft['id']}/activation", headers=manager)
    got = await client.get(f"{CAMPAIGNS}/{draft['id']}", headers=manager)
    listed = await client.get(CAMPAIGNS, headers=manager)
    stats = await client.get(f"{CAMPAIGNS}/{draft['id']}/stats", headers=manager)

    assert (draft["store_ids"], draft["created_by"]) == (["store-a1"], "staff-store_manager")
    assert activated.status_code == 200 and activated.json()["audience"] == 1  # m-a1 only, not m-a2 of store-a2
    assert got.json() == activated.json() and listed.json()["items"] == [activated.json()]
    assert stats.status_code == 200 and stats.json()["audience"] == 1
    [create] = _sent(backends, campaigns_pb2.CreateCampaignRequest)
    assert create.created_by == "staff-store_manager"
    [activate] = _sent(backends, campaigns_pb2.ActivateCampaignRequest)
    assert activate.activated_by == "staff-store_manager"
    for kind in (campaigns_pb2.CreateCampaignRequest, campaigns_pb2.ActivateCampaignRequest,
                 campaigns_pb2.GetCampaignRequest, campaigns_pb2.ListCampaignsRequest,
                 campaigns_pb2.GetCampaignStatsRequest):
        [request] = _sent(backends, kind)
        assert request.HasField("scope") and list(request.scope.store_ids) == ["store-a1"], kind.__name__


async def test_a_store_manager_cannot_reach_brand_wide_campaigns_or_segments(client, as_role, backends, segment_id):
    brand_wide = await _create(client, as_role("brand_admin"), segment_id)
    manager = _manager(as_role)

    on_brand_segment = await client.post(CAMPAIGNS, json=_body(segment_id), headers=manager)
    hidden = [await client.get(f"{CAMPAIGNS}/{brand_wide['id']}", headers=manager),
              await client.post(f"{CAMPAIGNS}/{brand_wide['id']}/activation", headers=manager),
              await client.get(f"{CAMPAIGNS}/{brand_wide['id']}/stats", headers=manager)]
    missing = await client.get(f"{CAMPAIGNS}/no-such-campaign", headers=manager)
    listed = await client.get(CAMPAIGNS, headers=manager)

    assert on_brand_segment.status_code == 404 and on_brand_segment.json()["detail"] == "segment not found"
    assert [r.status_code for r in hidden] == [404] * 3
    assert all(r.json() == missing.json() for r in hidden)  # nothing tells "not yours" from "does not exist"
    assert listed.json() == {"items": [], "next_cursor": None}
    assert backends.campaigns.campaigns[brand_wide["id"]].status == "draft"


async def test_an_analyst_reads_campaigns_and_stats_but_creates_and_activates_nothing(
        client, as_role, backends, segment_id):
    campaign = await _create(client, as_role("brand_admin"), segment_id)
    analyst = as_role("analyst")

    got = await client.get(f"{CAMPAIGNS}/{campaign['id']}", headers=analyst)
    listed = await client.get(CAMPAIGNS, headers=analyst)
    stats = await client.get(f"{CAMPAIGNS}/{campaign['id']}/stats", headers=analyst)
    create = await client.post(CAMPAIGNS, json=_body(segment_id), headers=analyst)
    activate = await client.post(f"{CAMPAIGNS}/{campaign['id']}/activation", headers=analyst)

    assert got.json() == campaign and listed.json()["items"] == [campaign]
    assert stats.status_code == 200 and stats.json()["campaign_id"] == campaign["id"]
    assert not _sent(backends, campaigns_pb2.GetCampaignStatsRequest)[0].HasField("scope")
    assert (create.status_code, activate.status_code) == (403, 403)
    assert create.headers["content-type"] == activate.headers["content-type"] == PROBLEM
    assert len(_sent(backends, campaigns_pb2.CreateCampaignRequest)) == 1
    assert _sent(backends, campaigns_pb2.ActivateCampaignRequest) == []


async def test_a_clerk_may_not_use_campaigns(client, as_role, backends, segment_id):
    campaign = await _create(client, as_role("brand_admin"), segment_id)
    backends.campaigns.requests.clear()
    clerk = as_role("clerk", store_ids=("store-a1",))

    responses = [
        await client.post(CAMPAIGNS, json=_body(segment_id), headers=clerk),
        await client.get(CAMPAIGNS, headers=clerk),
        await client.get(f"{CAMPAIGNS}/{campaign['id']}", headers=clerk),
        await client.post(f"{CAMPAIGNS}/{campaign['id']}/activation", headers=clerk),
        await client.get(f"{CAMPAIGNS}/{campaign['id']}/stats", headers=clerk),
    ]

    assert [r.status_code for r in responses] == [403] * 5
    assert all(r.headers["content-type"] == PROBLEM for r in responses)
    assert backends.campaigns.requests == []


async def test_another_brands_staff_get_404(client, as_role, backends, segment_id):
    campaign = await _create(client, as_role("brand_admin"), segment_id)
    backends.campaigns.requests.clear()
    other = as_role("brand_admin", BRAND_B)

    responses = [
        await client.post(CAMPAIGNS, json=_body(segment_id), headers=other),
        await client.get(CAMPAIGNS, headers=other),
        await client.get(f"{CAMPAIGNS}/{campaign['id']}", headers=other),
        await client.post(f"{CAMPAIGNS}/{campaign['id']}/activation", headers=other),
        await client.get(f"{CAMPAIGNS}/{campaign['id']}/stats", headers=other),
    ]
    # Through its own brand's path, brand B's admin asks the service, which finds neither brand A's campaign nor
    # its segment.
    own_brand = f"/v1/brands/{BRAND_B}/campaigns"
    via_own_brand = [
        await client.get(f"{own_brand}/{campaign['id']}", headers=other),
        await client.post(f"{own_brand}/{campaign['id']}/activation", headers=other),
        await client.get(f"{own_brand}/{campaign['id']}/stats", headers=other),
        await client.post(own_brand, json=_body(segment_id), headers=other),
    ]

    assert [r.status_code for r in responses] == [404] * 5
    assert all(r.json()["detail"] == "brand not found" for r in responses)
    assert [(r.status_code, r.json()["detail"]) for r in via_own_brand] == [(404, "campaign not found")] * 3 + [
        (404, "segment not found")]
    assert backends.campaigns.campaigns[campaign["id"]].status == "draft"
    assert {r.brand_id for r in backends.campaigns.requests} == {BRAND_B}
