"""The shared WeChat app access token, against a local server speaking ``/cgi-bin/token``: one token per app
until shortly before it expires, one fetch however many callers wait, a refused token replaced once; and
httpx's request log with the secret and tokens masked."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crm_common.wechat import AccessTokens, HideQuerySecrets, WeChatTokenError

APPS = {"wx-a": "secret-a", "wx-b": "secret-b"}


class TokenServer:
    def __init__(self) -> None:
        self.calls: list[str] = []  # appids asked for
        self.expires_in: object = 7200
        self.delay = 0.0

    async def token(self, request: Request) -> JSONResponse:
        appid = request.query_params.get("appid", "")
        self.calls.append(appid)
        await asyncio.sleep(self.delay)
        if request.query_params.get("grant_type") != "client_credential" or APPS.get(appid) is None:
            return JSONResponse({"errcode": 40013, "errmsg": "invalid appid"})
        if request.query_params.get("secret") != APPS[appid]:
            return JSONResponse({"errcode": 40125, "errmsg": "invalid appsecret"})
        return JSONResponse({"access_token": f"{appid}-token-{len(self.calls)}", "expires_in": self.expires_in})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def wechat() -> AsyncIterator[tuple[TokenServer, httpx.AsyncClient]]:
    fake = TokenServer()
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/cgi-bin/token", fake.token)]),
                                           host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=2.0)
    try:
        yield fake, http
    finally:
        await http.aclose()
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_token_is_kept_per_app_until_five_minutes_before_it_expires(wechat):
    fake, http = wechat
    now = [1000.0]
    tokens = AccessTokens(http, clock=lambda: now[0])

    first = await tokens.get("wx-a", "secret-a")
    other_app = await tokens.get("wx-b", "secret-b")
    now[0] += 6_899
    still = await tokens.get("wx-a", "secret-a")
    now[0] += 1
    renewed = await tokens.get("wx-a", "secret-a")

    assert first == still == "wx-a-token-1" and other_app == "wx-b-token-2"
    assert renewed == "wx-a-token-3"
    assert fake.calls == ["wx-a", "wx-b", "wx-a"]


async def test_a_short_lived_token_is_renewed_at_half_its_life(wechat):
    fake, http = wechat
    fake.expires_in = "60"  # WeChat's numbers sometimes arrive as text
    now = [0.0]
    tokens = AccessTokens(http, clock=lambda: now[0])

    await tokens.get("wx-a", "secret-a")
    now[0] = 29.9
    await tokens.get("wx-a", "secret-a")
    now[0] = 30.0
    await tokens.get("wx-a", "secret-a")

    assert len(fake.calls) == 2


async def test_callers_waiting_together_share_one_fetch(wechat):
    fake, http = wechat
    fake.delay = 0.1
    tokens = AccessTokens(http)

    got = await asyncio.gather(*(tokens.get("wx-a", "secret-a") for _ in range(10)))

    assert set(got) == {"wx-a-token-1"}
    assert fake.calls == ["wx-a"]


async def test_a_stale_token_is_replaced_once_even_when_many_callers_report_it(wechat):
    fake, http = wechat
    tokens = AccessTokens(http)
    stale = await tokens.get("wx-a", "secret-a")

    fresh = await asyncio.gather(*(tokens.get("wx-a", "secret-a", stale=stale) for _ in range(5)))

    assert set(fresh) == {"wx-a-token-2"}
    assert len(fake.calls) == 2


async def test_a_refused_or_unreachable_token_request_raises_without_the_secret(wechat):
    _, http = wechat
    tokens = AccessTokens(http)

    with pytest.raises(WeChatTokenError) as refused:
        await tokens.get("wx-a", "wrong-secret")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{_free_port()}", timeout=1.0) as nowhere:
        with pytest.raises(WeChatTokenError) as unreachable:
            await AccessTokens(nowhere).get("wx-a", "secret-a")

    assert (refused.value.errcode, unreachable.value.errcode) == (40125, None)
    assert "wrong-secret" not in str(refused.value)


async def test_httpx_logs_the_token_request_with_the_secret_masked(wechat, caplog):
    _, http = wechat
    caplog.set_level(logging.INFO, logger="httpx")

    token = await AccessTokens(http).get("wx-a", "secret-a")
    await http.post("/cgi-bin/anything", params={"access_token": token})

    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert len(lines) == 2
    assert "appid=wx-a" in lines[0] and "secret=***" in lines[0] and "secret-a" not in lines[0]
    assert "access_token=***" in lines[1] and token not in lines[1]


def test_the_mask_covers_every_secret_or_token_parameter_and_nothing_else():
    hide = HideQuerySecrets()
    plain = logging.LogRecord("httpx", logging.INFO, __file__, 1, "GET %s %d", ("/x?appid=wx-a&code=c1", 200), None)
    mixed = logging.LogRecord("httpx", logging.INFO, __file__, 1, "GET %s",
                              ("/t?a=1&secret=s3&refresh_token=r4&component_access_token=c5&AppSecret=s6",), None)

    assert hide.filter(plain) and hide.filter(mixed)
    assert (plain.msg, plain.args) == ("GET %s %d", ("/x?appid=wx-a&code=c1", 200))  # untouched
    assert mixed.getMessage() == "GET /t?a=1&secret=***&refresh_token=***&component_access_token=***&AppSecret=***"
