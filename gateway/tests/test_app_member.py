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
from gateway.wechat import WeChatIdentity

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

    async def find_or_create_by_wechat(self, brand_id: str, identity: WeChatIdentity, *, appid: str) -> str:
        if identity.openid not in self.by_openid:
            self.by_openid[identity.openid] = f"m-new-{len(self.created)}"
            self.created.append(identity.openid)
        return self.by_openid[identity.openid]


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


async def test_orders_say_they_are_missing_instead_of_inventing_an_empty_list(app_client):
    token = (await _session(app_client)).json()["access_token"]

    r = await app_client.get("/v1/app/me/orders", headers=_bearer(token))

    assert r.status_code == 503
    assert r.json()["type"].endswith("/feature-unavailable")


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


async def test_without_the_members_rpc_sign_in_is_an_honest_503(settings, wechat):
    _, base = wechat
    configured = settings.model_copy(update={"wechat_base_url": base, "wechat_apps": {"brand-a": APP}})
    app = create_app(configured)  # the real adapter over the members service
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
            r = await _session(http)

    assert r.status_code == 503
    assert r.json()["type"].endswith("/feature-unavailable")
