"""Mini-program sign-in against a local server speaking WeChat's code2session, and the member's own routes."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gateway.app import create_app
from gateway.settings import GatewaySettings, WeChatApp
from gateway.wechat import WeChatIdentity, WeChatMember

APP = WeChatApp(appid="wx-brand-a", secret="s3cret-of-brand-a")
# code → what WeChat answers (as JSON text, content type text/plain, as the real one does).
CODES = {
    "good-a1": '{"openid": "o-a1", "session_key": "sk", "unionid": "u-a1"}',
    "good-new": '{"openid": "o-new", "session_key": "sk"}',
    "used": '{"errcode": 40163, "errmsg": "code been used"}',
    "busy": '{"errcode": -1, "errmsg": "system error"}',
    "limited": '{"errcode": 45011, "errmsg": "api minute-quota reach limit"}',
}


class FakeWeChat:
    """The jscode2session endpoint, checking the query exactly as WeChat does."""

    def __init__(self) -> None:
        self.calls: list[dict[str, str]] = []

    async def jscode2session(self, request: Request) -> PlainTextResponse:
        query = dict(request.query_params)
        self.calls.append(query)
        if (query.get("appid"), query.get("secret"), query.get("grant_type")) != (
                APP.appid, APP.secret, "authorization_code"):
            return PlainTextResponse('{"errcode": 40013, "errmsg": "invalid appid"}')
        return PlainTextResponse(CODES.get(query.get("js_code", ""), '{"errcode": 40029, "errmsg": "invalid code"}'))


class FakeDirectory:
    """`MemberDirectory` standing in for the members service's find-or-create RPC."""

    def __init__(self) -> None:
        self.by_openid = {"o-a1": "m-a1"}
        self.created: list[str] = []

    async def find_or_create_by_wechat(self, brand_id: str, identity: WeChatIdentity, *,
                                       store_id: str | None = None) -> WeChatMember:
        created = identity.openid not in self.by_openid
        if created:
            self.by_openid[identity.openid] = f"m-new-{len(self.created)}"
            self.created.append(identity.openid)
        return WeChatMember(self.by_openid[identity.openid], created)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def wechat() -> AsyncIterator[tuple[FakeWeChat, str]]:
    fake = FakeWeChat()
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(
        Starlette(routes=[Route("/sns/jscode2session", fake.jscode2session)]),
        host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # uvicorn has no "started" event to await
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield fake, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
async def app_client(settings: GatewaySettings, wechat) -> AsyncIterator[httpx.AsyncClient]:
    _, base = wechat
    configured = settings.model_copy(update={"wechat_base_url": base, "wechat_apps": {"brand-a": APP}})
    app = create_app(configured, member_directory=FakeDirectory())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
            yield http


async def _session(client: httpx.AsyncClient, code: str = "good-a1", brand: str = "brand-a") -> httpx.Response:
    return await client.post(f"/v1/app/brands/{brand}/session", json={"code": code})


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_wechat_code_signs_the_member_in(app_client, wechat):
    r = await _session(app_client)

    assert r.status_code == 200, r.text
    assert r.json()["member_id"] == "m-a1"
    fake, _ = wechat
    assert fake.calls == [{"appid": APP.appid, "secret": APP.secret, "js_code": "good-a1",
                           "grant_type": "authorization_code"}]


async def test_a_first_time_user_becomes_a_member(app_client):
    r = await _session(app_client, "good-new")

    assert r.status_code == 200
    assert r.json()["member_id"].startswith("m-new-")


async def test_the_member_token_reads_the_members_own_profile_and_points(app_client):
    token = (await _session(app_client)).json()["access_token"]

    me = await app_client.get("/v1/app/me", headers=_bearer(token))
    points = await app_client.get("/v1/app/me/points", headers=_bearer(token))

    assert me.status_code == 200 and me.json()["id"] == "m-a1"
    assert me.json()["phone"] == "138****8000"
    assert points.status_code == 200 and points.json()["balance"] == 120


async def test_the_member_sees_only_their_own_coupons(app_client, backends):
    token = (await _session(app_client)).json()["access_token"]

    r = await app_client.get("/v1/app/me/coupons", headers=_bearer(token))

    assert r.status_code == 200, r.text
    assert [c["code"] for c in r.json()["items"]] == ["CPN-m-a1"]
    assert backends.loyalty.coupon_requests == [("brand-a", "m-a1")]


async def test_the_member_pages_through_their_own_orders(app_client, backends):
    token = (await _session(app_client)).json()["access_token"]

    first = await app_client.get("/v1/app/me/orders", params={"limit": 1}, headers=_bearer(token))
    second = await app_client.get("/v1/app/me/orders", params={"cursor": first.json()["next_cursor"]},
                                  headers=_bearer(token))

    assert first.status_code == 200, first.text
    assert first.json() == {"items": [{
        "order_id": "o-2", "external_id": "POS-2", "store_id": "store-a1", "occurred_at": "2023-11-14T22:13:22Z",
        "total_fen": 20000, "points_earned": 200, "refunded_fen": 0, "item_count": 2}], "next_cursor": "1"}
    assert [o["order_id"] for o in second.json()["items"]] == ["o-1"]
    assert second.json()["next_cursor"] is None
    # Always the token's member and brand, whatever the query says.
    assert {(r.brand_id, r.member_id) for r in backends.loyalty.order_requests} == {("brand-a", "m-a1")}
    assert [r.limit for r in backends.loyalty.order_requests] == [1, 20]


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 101}, {"cursor": "not-a-cursor"}])
async def test_a_bad_order_page_query_is_a_422_naming_the_field(app_client, query):
    token = (await _session(app_client)).json()["access_token"]

    r = await app_client.get("/v1/app/me/orders", params=query, headers=_bearer(token))

    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == list(query)


async def test_a_member_token_opens_nothing_outside_app_me(app_client):
    token = (await _session(app_client)).json()["access_token"]

    own_record_via_staff_route = await app_client.get("/v1/brands/brand-a/members/m-a1", headers=_bearer(token))
    orders = await app_client.post("/v1/brands/brand-a/orders", json={}, headers=_bearer(token))

    assert own_record_via_staff_route.status_code == 403
    assert orders.status_code == 403


async def test_a_staff_token_is_refused_on_app_me(app_client, as_role):
    r = await app_client.get("/v1/app/me", headers=as_role("group_admin", ""))

    assert r.status_code == 403


@pytest.mark.parametrize(("code", "status", "reason"), [
    ("used", 401, "invalid-wechat-code"),
    ("made-up", 401, "invalid-wechat-code"),
    ("busy", 503, "wechat-unavailable"),
    ("limited", 429, "rate-limited"),
])
async def test_wechat_errors_become_problems_the_app_can_act_on(app_client, code, status, reason):
    r = await _session(app_client, code)

    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/" + reason)
    assert APP.secret not in r.text


async def test_a_brand_without_a_mini_program_is_404(app_client):
    r = await _session(app_client, brand="brand-b")

    assert r.status_code == 404


async def test_wechat_down_is_a_503_with_retry_after(settings):
    configured = settings.model_copy(update={"wechat_base_url": f"http://127.0.0.1:{_free_port()}",
                                             "wechat_apps": {"brand-a": APP}})
    app = create_app(configured, member_directory=FakeDirectory())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
            r = await _session(http)

    assert r.status_code == 503
    assert "retry-after" in r.headers


@pytest.fixture
async def real_directory_client(settings: GatewaySettings, wechat) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its real adapter over the (fake) members service's FindOrCreateMemberByWechat."""
    _, base = wechat
    configured = settings.model_copy(update={"wechat_base_url": base, "wechat_apps": {"brand-a": APP}})
    app = create_app(configured)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
            yield http


async def test_the_members_service_finds_the_member_by_unionid(real_directory_client):
    r = await _session(real_directory_client)

    assert r.status_code == 200, r.text
    assert (r.json()["member_id"], r.json()["created"]) == ("m-a1", False)


async def test_a_first_sign_in_registers_at_the_qr_codes_store_and_the_second_finds_that_member(
        real_directory_client, backends):
    first = await real_directory_client.post("/v1/app/brands/brand-a/session",
                                             json={"code": "good-new", "store_id": "store-a2"})
    again = await _session(real_directory_client, "good-new")

    assert first.status_code == 200, first.text
    assert first.json()["created"] is True
    assert backends.members.members[first.json()["member_id"]].store_id == "store-a2"
    assert (again.json()["member_id"], again.json()["created"]) == (first.json()["member_id"], False)


async def test_an_unknown_registration_store_is_a_422_naming_store_id(real_directory_client):
    r = await real_directory_client.post("/v1/app/brands/brand-a/session",
                                         json={"code": "good-new", "store_id": "store-nowhere"})

    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "store_id"


async def test_sign_in_is_audited_without_the_wechat_ids(real_directory_client):
    await _session(real_directory_client)

    app = real_directory_client._transport.app  # type: ignore[attr-defined]
    event = app.state.audit.recent[-1]
    assert (event["action"], event["actor"], event["created"]) == ("member.login", "member:m-a1", 0)
    assert "o-a1" not in str(event) and "u-a1" not in str(event)
