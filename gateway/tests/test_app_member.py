"""Mini-program sign-in and phone binding against a local server speaking WeChat's protocol (code2session,
the app access token, getuserphonenumber), and the member's own routes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from crm.members.v1 import members_pb2, members_pb2_grpc
from crm_common.errors import AlreadyExists, NotFound
from crm_common.grpc_server import Service, serving
from crm_common.settings import ServiceSettings
from gateway.app import create_app
from gateway.errors import ProblemError
from gateway.settings import GatewaySettings, WeChatApp
from gateway.wechat import WeChatClient, WeChatIdentity, WeChatMember

APP = WeChatApp(appid="wx-brand-a", secret="s3cret-of-brand-a")
# code → what WeChat answers (as JSON text, content type text/plain, as the real one does).
CODES = {
    "good-a1": '{"openid": "o-a1", "session_key": "sk", "unionid": "u-a1"}',
    "good-new": '{"openid": "o-new", "session_key": "sk"}',
    "used": '{"errcode": 40163, "errmsg": "code been used"}',
    "busy": '{"errcode": -1, "errmsg": "system error"}',
    "limited": '{"errcode": 45011, "errmsg": "api minute-quota reach limit"}',
}
# getPhoneNumber code → (purePhoneNumber, countryCode). m-a2 of the fake members service has +8613900139000.
PHONE_CODES = {
    "phone-new": ("13600136000", "86"),
    "phone-hk": ("51234567", "852"),
    "phone-of-m-a2": ("13900139000", "86"),
}


class FakeWeChat:
    """jscode2session, cgi-bin/token and getuserphonenumber, checking requests as WeChat does."""

    def __init__(self) -> None:
        self.calls: list[dict[str, str]] = []
        self.token_calls: list[dict[str, str]] = []
        self.phone_calls: list[tuple[str, Any]] = []  # (access_token, JSON body)
        self.valid_tokens: set[str] = set()
        self.tokens_work = True  # False: every token is refused as revoked (40001), even a fresh one

    def revoke_tokens(self) -> None:
        """What WeChat does when another server of the app fetches a token, or a token times out."""
        self.valid_tokens.clear()

    async def token(self, request: Request) -> JSONResponse:
        query = dict(request.query_params)
        self.token_calls.append(query)
        if (query.get("appid"), query.get("secret"), query.get("grant_type")) != (
                APP.appid, APP.secret, "client_credential"):
            return JSONResponse({"errcode": 40125, "errmsg": "invalid appsecret"})
        token = f"tok-{len(self.token_calls)}"
        if self.tokens_work:
            self.valid_tokens.add(token)
        return JSONResponse({"access_token": token, "expires_in": 7200})

    async def getuserphonenumber(self, request: Request) -> JSONResponse:
        token = request.query_params.get("access_token", "")
        body = json.loads(await request.body())
        self.phone_calls.append((token, body))
        if token not in self.valid_tokens:
            return JSONResponse({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"})
        if not isinstance(body, dict) or body.get("code") not in PHONE_CODES:
            return JSONResponse({"errcode": 40029, "errmsg": "invalid code"})
        pure, country = PHONE_CODES[body["code"]]
        return JSONResponse({"errcode": 0, "errmsg": "ok", "phone_info": {
            "phoneNumber": f"+{country} {pure}" if country != "86" else pure, "purePhoneNumber": pure,
            "countryCode": country, "watermark": {"timestamp": 1_700_000_000, "appid": APP.appid}}})

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
        Starlette(routes=[Route("/sns/jscode2session", fake.jscode2session),
                          Route("/cgi-bin/token", fake.token),
                          Route("/wxa/business/getuserphonenumber", fake.getuserphonenumber, methods=["POST"])]),
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
    assert me.json()["phone"] == "+8613800138000"  # their own number, in full
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


# --- phone binding and consents ------------------------------------------------------------------------


@pytest.fixture
async def backends(backends) -> AsyncIterator[Any]:
    """The shared fakes, with a members service that also answers UpdateMember and SetConsents.

    It runs on its own gRPC server (the shared one registered its handlers already) and takes the
    ``members`` slot, so the ``settings`` fixture points the gateway at it.
    """

    class AppMembers(type(backends.members)):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.updates: list[members_pb2.UpdateMemberRequest] = []
            self.consent_requests: list[members_pb2.SetConsentsRequest] = []

        def _own(self, brand_id: str, member_id: str) -> members_pb2.Member:
            member = self.members.get(member_id)
            if member is None or member.brand_id != brand_id:
                raise NotFound(f"member {member_id} not found", reason="MEMBER_NOT_FOUND")
            return member

        async def UpdateMember(self, request, context):
            self.updates.append(request)
            member = self._own(request.brand_id, request.member_id)
            if request.HasField("phone"):
                for other in self.members.values():
                    if other.id != member.id and other.brand_id == member.brand_id and other.phone == request.phone:
                        # As the real service: the owner's id in details, for staff to open the duplicate.
                        raise AlreadyExists("a member with this phone exists in the brand", reason="DUPLICATE_PHONE",
                                            field="phone", details={"member_id": other.id})
                member.phone = request.phone
            return member

        async def SetConsents(self, request, context):
            self.consent_requests.append(request)
            member = self._own(request.brand_id, request.member_id)
            wanted = dict(request.consents)
            if request.opt_out_all:
                wanted = {k: False for k in {*member.consents, *wanted}}
            member.consents.update(wanted)
            return member

    members = AppMembers()
    wiring = (members_pb2_grpc.add_MembersServiceServicer_to_server, members,
              members_pb2.DESCRIPTOR.services_by_name["MembersService"].full_name)
    async with serving(Service("members", [wiring]),
                       ServiceSettings(service_name="members", grpc_port=0, shutdown_grace_seconds=0.1)) as addr:
        backends.members, backends.addrs["members"] = members, addr
        yield backends


async def _member_token(client: httpx.AsyncClient, code: str = "good-a1") -> dict[str, str]:
    return _bearer((await _session(client, code)).json()["access_token"])


async def test_a_phone_code_binds_the_number_wechat_vouches_for(app_client, wechat, backends):
    me = await _member_token(app_client)

    r = await app_client.post("/v1/app/me/phone", json={"code": "phone-new"}, headers=me)

    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["phone"]) == ("m-a1", "+8613600136000")
    update = backends.members.updates[-1]
    assert (update.brand_id, update.member_id, update.phone, update.actor_id) == (
        "brand-a", "m-a1", "+8613600136000", "member:m-a1")
    fake, _ = wechat
    assert fake.token_calls == [{"grant_type": "client_credential", "appid": APP.appid, "secret": APP.secret}]
    assert fake.phone_calls == [("tok-1", {"code": "phone-new"})]
    assert (await app_client.get("/v1/app/me", headers=me)).json()["phone"] == "+8613600136000"


async def test_the_country_code_comes_from_wechat_and_the_access_token_is_reused(app_client, wechat, backends):
    me = await _member_token(app_client)

    first = await app_client.post("/v1/app/me/phone", json={"code": "phone-hk"}, headers=me)
    second = await app_client.post("/v1/app/me/phone", json={"code": "phone-new"}, headers=me)

    assert first.status_code == 200, first.text
    assert [u.phone for u in backends.members.updates] == ["+85251234567", "+8613600136000"]
    assert second.json()["phone"] == "+8613600136000"
    fake, _ = wechat
    assert len(fake.token_calls) == 1  # cached: WeChat caps token requests per day


async def test_an_invalid_phone_code_is_a_422_naming_code(app_client, backends):
    me = await _member_token(app_client)

    r = await app_client.post("/v1/app/me/phone", json={"code": "made-up"}, headers=me)

    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in r.json()["errors"]] == ["code"]
    assert backends.members.updates == []


async def test_a_revoked_access_token_is_refreshed_once_and_the_bind_retried(app_client, wechat, backends):
    me = await _member_token(app_client)
    fake, _ = wechat
    await app_client.post("/v1/app/me/phone", json={"code": "phone-hk"}, headers=me)
    fake.revoke_tokens()  # the cached tok-1 now answers 40001

    r = await app_client.post("/v1/app/me/phone", json={"code": "phone-new"}, headers=me)

    assert r.status_code == 200, r.text
    assert r.json()["phone"] == "+8613600136000"
    assert len(fake.token_calls) == 2
    assert fake.phone_calls[1:] == [("tok-1", {"code": "phone-new"}), ("tok-2", {"code": "phone-new"})]


async def test_a_token_wechat_keeps_refusing_is_a_503_not_a_loop(app_client, wechat, backends):
    me = await _member_token(app_client)
    fake, _ = wechat
    fake.tokens_work = False

    r = await app_client.post("/v1/app/me/phone", json={"code": "phone-new"}, headers=me)

    assert r.status_code == 503, r.text
    assert r.json()["type"].endswith("/wechat-unavailable")
    assert (len(fake.token_calls), len(fake.phone_calls)) == (2, 2)  # the first try and the one retry
    assert APP.secret not in r.text and "tok-" not in r.text
    assert backends.members.updates == []


async def test_a_phone_another_member_has_is_a_409_that_does_not_name_them(app_client, backends):
    me = await _member_token(app_client)

    r = await app_client.post("/v1/app/me/phone", json={"code": "phone-of-m-a2"}, headers=me)

    assert r.status_code == 409, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/duplicate-phone")
    assert "手机号" in r.json()["detail"] and "another member" in r.json()["detail"]
    assert "m-a2" not in r.text and "member_id" not in r.json()
    assert backends.members.members["m-a1"].phone == "+8613800138000"  # unchanged


@pytest.mark.parametrize("body", [{}, {"code": ""}, {"code": "phone-new", "member_id": "m-a2"}])
async def test_a_bad_bind_body_is_a_422(app_client, body, backends):
    r = await app_client.post("/v1/app/me/phone", json=body, headers=await _member_token(app_client))

    assert r.status_code == 422, r.text
    assert backends.members.updates == []


async def test_the_member_grants_then_opts_out_of_everything(app_client, backends):
    me = await _member_token(app_client)

    granted = await app_client.put("/v1/app/me/consents", json={"sms": True, "wechat": True}, headers=me)
    out = await app_client.put("/v1/app/me/consents", json={"opt_out_all": True}, headers=me)

    assert granted.status_code == 200, granted.text
    assert granted.json() == {"consents": {"sms": True, "wechat": True}}
    assert out.status_code == 200, out.text
    assert out.json() == {"consents": {"sms": False, "wechat": False}}
    sent = backends.members.consent_requests
    assert [(r.brand_id, r.member_id, r.source) for r in sent] == [("brand-a", "m-a1", "mini_program")] * 2
    assert (dict(sent[0].consents), sent[0].opt_out_all) == ({"sms": True, "wechat": True}, False)
    assert (dict(sent[1].consents), sent[1].opt_out_all) == ({}, True)


@pytest.mark.parametrize("body", [{}, {"opt_out_all": True, "sms": True}, {"fax": True}, {"sms": "maybe"}])
async def test_a_bad_consents_body_is_a_422(app_client, body, backends):
    r = await app_client.put("/v1/app/me/consents", json=body, headers=await _member_token(app_client))

    assert r.status_code == 422, r.text
    assert backends.members.consent_requests == []


async def test_the_access_token_is_renewed_shortly_before_it_expires(wechat):
    _, base = wechat
    fake, _ = wechat
    now = [1000.0]
    client = WeChatClient(base, timeout=2.0, clock=lambda: now[0])
    try:
        assert await client.phone_number(APP, "phone-new") == "+8613600136000"
        now[0] += 6_800  # within expires_in minus the margin: still cached
        await client.phone_number(APP, "phone-new")
        assert len(fake.token_calls) == 1
        now[0] += 200  # 7000 s in: past the refresh point, though WeChat would still accept it
        await client.phone_number(APP, "phone-new")
        assert len(fake.token_calls) == 2
        with pytest.raises(ProblemError) as bad:
            await client.phone_number(WeChatApp(appid="wx-unknown", secret="wrong"), "phone-new")
        assert bad.value.status == 503  # a configuration error, not the member's
    finally:
        await client.close()
