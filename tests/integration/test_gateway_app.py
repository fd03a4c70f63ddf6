"""The mini-program end to end: a local server speaking WeChat's code2session, access token and
getuserphonenumber, the gateway app in process,
and the real members and loyalty services on the session's embedded MongoDB, PostgreSQL and NATS.

In process rather than through the `stack` fixture: the stack's gateway would need CRM_WECHAT_* pointing
at a test server, and its environment is the lead's (tests/conftest.py). Everything behind the gateway
here is the real thing — the WeChat identity mapping, registration, orders and points.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from google.protobuf.timestamp_pb2 import Timestamp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from crm.loyalty.v1 import loyalty_pb2
from crm.loyalty.v1.loyalty_pb2_grpc import LoyaltyServiceStub
from crm.members.v1 import members_pb2
from crm.members.v1.members_pb2_grpc import MembersServiceStub
from crm_common import grpc_client
from crm_common.grpc_server import serving
from gateway.app import create_app
from gateway.settings import GatewaySettings, WeChatApp
from loyalty import bootstrap as loyalty_bootstrap
from members import bootstrap as members_bootstrap

APP = WeChatApp(appid="wx-integration", secret="integration-app-secret")
JWT_SECRET = "integration-jwt-secret-0123456789abcdef0123"


class WeChat:
    """``/sns/jscode2session``: each code names one user; codes work once, as on WeChat."""

    def __init__(self) -> None:
        self.users: dict[str, tuple[str, str | None]] = {}  # code → (openid, unionid)
        self.used: set[str] = set()
        self.phones: dict[str, str] = {}  # getPhoneNumber code → purePhoneNumber (+86)

    def phone_code_for(self, pure_phone: str) -> str:
        code = uuid.uuid4().hex
        self.phones[code] = pure_phone
        return code

    async def token(self, request: Request) -> JSONResponse:
        q = request.query_params
        if (q.get("appid"), q.get("secret"), q.get("grant_type")) != (APP.appid, APP.secret, "client_credential"):
            return JSONResponse({"errcode": 40125, "errmsg": "invalid appsecret"})
        return JSONResponse({"access_token": "integration-token", "expires_in": 7200})

    async def getuserphonenumber(self, request: Request) -> JSONResponse:
        if request.query_params.get("access_token") != "integration-token":
            return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
        pure = self.phones.pop((await request.json()).get("code", ""), None)  # one use, as on WeChat
        if pure is None:
            return JSONResponse({"errcode": 40029, "errmsg": "invalid code"})
        return JSONResponse({"errcode": 0, "errmsg": "ok", "phone_info": {
            "phoneNumber": pure, "purePhoneNumber": pure, "countryCode": "86"}})

    def code_for(self, openid: str, unionid: str | None = None) -> str:
        code = uuid.uuid4().hex
        self.users[code] = (openid, unionid)
        return code

    async def jscode2session(self, request: Request) -> PlainTextResponse:
        q = request.query_params
        if (q.get("appid"), q.get("secret"), q.get("grant_type")) != (APP.appid, APP.secret, "authorization_code"):
            return PlainTextResponse('{"errcode": 40013, "errmsg": "invalid appid"}')
        code = q.get("js_code", "")
        if code in self.used:
            return PlainTextResponse('{"errcode": 40163, "errmsg": "code been used"}')
        if code not in self.users:
            return PlainTextResponse('{"errcode": 40029, "errmsg": "invalid code"}')
        self.used.add(code)
        openid, unionid = self.users[code]
        union = f', "unionid": "{unionid}"' if unionid else ""
        return PlainTextResponse(f'{{"openid": "{openid}", "session_key": "sk"{union}}}')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class World:
    http: httpx.AsyncClient
    wechat: WeChat
    members: MembersServiceStub
    loyalty: LoyaltyServiceStub
    brand_id: str
    store_id: str


@pytest.fixture(scope="module")
async def world(mongo_uri_factory: Callable[[str], str], pg_dsn_factory: Callable[[str], str],
                nats_url: str) -> AsyncIterator[World]:
    async with contextlib.AsyncExitStack() as stack:
        wechat = WeChat()
        port = _free_port()
        routes = [Route("/sns/jscode2session", wechat.jscode2session), Route("/cgi-bin/token", wechat.token),
                  Route("/wxa/business/getuserphonenumber", wechat.getuserphonenumber, methods=["POST"])]
        server = uvicorn.Server(uvicorn.Config(Starlette(routes=routes), host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="off"))
        task = asyncio.create_task(server.serve())
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)

        async def stop_wechat() -> None:
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await task

        stack.push_async_callback(stop_wechat)

        m_settings = members_bootstrap.Settings(
            mongo_uri=mongo_uri_factory("gateway_app_members"), nats_url=nats_url, env="test", grpc_port=0,
            pii_key="integration-pii-key", admin_password="integration-admin", shutdown_grace_seconds=0.5)
        members_addr = await stack.enter_async_context(serving(await members_bootstrap.build(m_settings), m_settings))
        l_settings = loyalty_bootstrap.Settings(
            pg_dsn=pg_dsn_factory("gateway_app_loyalty"), nats_url=nats_url, members_addr=members_addr,
            env="test", grpc_port=0, shutdown_grace_seconds=0.5)
        await loyalty_bootstrap.migrate(l_settings)
        loyalty_addr = await stack.enter_async_context(serving(await loyalty_bootstrap.build(l_settings), l_settings))

        members, m_channel = grpc_client.stub(MembersServiceStub, members_addr, service="members", timeout=30)
        loyalty, l_channel = grpc_client.stub(LoyaltyServiceStub, loyalty_addr, service="loyalty", timeout=30)
        stack.push_async_callback(grpc_client.close_all, m_channel, l_channel)
        brand = await members.CreateBrand(
            members_pb2.CreateBrandRequest(code=f"wx{uuid.uuid4().hex[:8]}", name="小程序"))
        store = await members.CreateStore(members_pb2.CreateStoreRequest(brand_id=brand.id, code="S1", name="一店"))

        settings = GatewaySettings(
            env="test", jwt_secret=JWT_SECRET, members_addr=members_addr, loyalty_addr=loyalty_addr,
            wechat_base_url=f"http://127.0.0.1:{port}", wechat_apps={brand.id: APP}, rpc_timeout_seconds=30,
            # Every sign-in of the module comes from one client address: its burst of 10 would run out.
            login_rate_limit_per_minute=6000)
        app = create_app(settings)
        await stack.enter_async_context(app.router.lifespan_context(app))
        http = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway", timeout=60))
        yield World(http, wechat, members, loyalty, brand.id, store.id)


async def _sign_in(w: World, openid: str, unionid: str | None = None, **body: Any) -> httpx.Response:
    return await w.http.post(f"/v1/app/brands/{w.brand_id}/session",
                             json={"code": w.wechat.code_for(openid, unionid), **body})


def _bearer(r: httpx.Response) -> dict[str, str]:
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_a_first_sign_in_registers_the_member_at_the_qr_codes_store(world):
    r = await _sign_in(world, f"o-{uuid.uuid4().hex}", store_id=world.store_id)

    assert r.status_code == 200, r.text
    assert r.json()["created"] is True
    me = await world.http.get("/v1/app/me", headers=_bearer(r))
    assert me.status_code == 200, me.text
    assert (me.json()["id"], me.json()["store_id"], me.json()["phone"]) == (r.json()["member_id"], world.store_id, None)


async def test_the_same_person_signs_in_as_the_same_member_and_unionid_wins_over_openid(world):
    union = f"u-{uuid.uuid4().hex}"
    first = await _sign_in(world, f"o-{uuid.uuid4().hex}", union)
    # The same person through another of the brand's apps: another OpenID, the same UnionID.
    other_app = await _sign_in(world, f"o-{uuid.uuid4().hex}", union)

    assert first.json()["created"] is True
    assert (other_app.json()["member_id"], other_app.json()["created"]) == (first.json()["member_id"], False)


async def test_an_existing_member_found_by_wechat_sees_their_orders_and_points(world):
    signed_in = await _sign_in(world, f"o-{uuid.uuid4().hex}")
    member_id = signed_in.json()["member_id"]
    for n, total in ((1, 12_800), (2, 5_000)):
        await world.loyalty.RecordOrder(loyalty_pb2.RecordOrderRequest(
            brand_id=world.brand_id, external_id=f"POS-{member_id}-{n}", store_id=world.store_id, member_id=member_id,
            occurred_at=Timestamp(seconds=int(datetime(2026, 3, n, 2, tzinfo=UTC).timestamp())),
            items=[loyalty_pb2.OrderItem(sku=f"SKU-{n}", name="连衣裙", quantity=n, amount_fen=total)],
            total_fen=total))

    orders = await world.http.get("/v1/app/me/orders", params={"limit": 1}, headers=_bearer(signed_in))
    rest = await world.http.get("/v1/app/me/orders", params={"cursor": orders.json()["next_cursor"]},
                                headers=_bearer(signed_in))
    points = await world.http.get("/v1/app/me/points", headers=_bearer(signed_in))

    assert orders.status_code == 200, orders.text
    newest = orders.json()["items"][0]
    assert (newest["external_id"], newest["total_fen"], newest["item_count"]) == (f"POS-{member_id}-2", 5_000, 2)
    assert [o["external_id"] for o in rest.json()["items"]] == [f"POS-{member_id}-1"]
    assert points.status_code == 200, points.text
    assert points.json()["balance"] > 0


async def test_a_member_token_never_reaches_another_member(world):
    mine = await _sign_in(world, f"o-{uuid.uuid4().hex}")
    theirs = await _sign_in(world, f"o-{uuid.uuid4().hex}")

    staff_route = await world.http.get(f"/v1/brands/{world.brand_id}/members/{theirs.json()['member_id']}",
                                       headers=_bearer(mine))
    me = await world.http.get("/v1/app/me", headers=_bearer(mine))

    assert staff_route.status_code == 403
    assert me.json()["id"] == mine.json()["member_id"]


async def test_a_used_code_and_an_unknown_store_are_refused(world):
    code = world.wechat.code_for(f"o-{uuid.uuid4().hex}")
    first = await world.http.post(f"/v1/app/brands/{world.brand_id}/session", json={"code": code})
    replay = await world.http.post(f"/v1/app/brands/{world.brand_id}/session", json={"code": code})
    bad_store = await _sign_in(world, f"o-{uuid.uuid4().hex}", store_id="no-such-store")

    assert first.status_code == 200
    assert replay.status_code == 401
    assert replay.json()["type"].endswith("/invalid-wechat-code")
    assert bad_store.status_code == 422, bad_store.text
    assert bad_store.json()["errors"][0]["field"] == "store_id"


async def test_a_bound_phone_shows_on_the_profile_and_cannot_be_bound_twice_in_the_brand(world):
    mine = await _sign_in(world, f"o-{uuid.uuid4().hex}", store_id=world.store_id)
    theirs = await _sign_in(world, f"o-{uuid.uuid4().hex}", store_id=world.store_id)
    pure = f"139{uuid.uuid4().int % 10**8:08d}"

    bound = await world.http.post("/v1/app/me/phone", json={"code": world.wechat.phone_code_for(pure)},
                                  headers=_bearer(mine))
    me = await world.http.get("/v1/app/me", headers=_bearer(mine))
    taken = await world.http.post("/v1/app/me/phone", json={"code": world.wechat.phone_code_for(pure)},
                                  headers=_bearer(theirs))

    assert bound.status_code == 200, bound.text
    assert me.json()["phone"] == f"+86{pure}"
    # The members service's own unique phone index decides; the member token learns nothing about the owner.
    assert taken.status_code == 409, taken.text
    assert taken.json()["type"].endswith("/duplicate-phone")
    assert mine.json()["member_id"] not in taken.text
    assert (await world.http.get("/v1/app/me", headers=_bearer(theirs))).json()["phone"] is None


async def test_the_member_opts_out_of_every_channel(world):
    signed_in = await _sign_in(world, f"o-{uuid.uuid4().hex}", store_id=world.store_id)

    granted = await world.http.put("/v1/app/me/consents", json={"sms": True, "wechat": True},
                                   headers=_bearer(signed_in))
    out = await world.http.put("/v1/app/me/consents", json={"opt_out_all": True}, headers=_bearer(signed_in))

    assert granted.status_code == 200, granted.text
    assert granted.json()["consents"] == {"sms": True, "wechat": True}
    assert out.status_code == 200, out.text
    assert out.json()["consents"] == {"sms": False, "wechat": False}
