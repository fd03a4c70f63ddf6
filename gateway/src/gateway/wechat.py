"""WeChat mini-program sign-in: ``code2session`` and the member directory that maps an OpenID to a member.

``GET {base}/sns/jscode2session?appid=&secret=&js_code=&grant_type=authorization_code`` answers
``{openid, session_key, unionid?}`` or ``{errcode, errmsg}`` (WeChat sends it as text/plain). The base URL
is a setting so tests (and a sandbox) can stand in for WeChat. The ``session_key`` is WeChat's secret for
decrypting the member's data on the server; the gateway needs none of that, so it is dropped at once.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from crm.members.v1 import members_pb2
from gateway.clients import Clients
from gateway.errors import ProblemError, rpc
from gateway.settings import WeChatApp

log = logging.getLogger(__name__)

# errcodes of jscode2session: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-login/code2Session.html
_BAD_CODE = {40029, 40163, 40226}  # invalid, already used, blocked user
_RATE_LIMITED = 45011


@dataclass(frozen=True)
class WeChatIdentity:
    """Who WeChat says the user is; ``unionid`` only when the app is bound to an open-platform account."""

    openid: str
    unionid: str | None


class WeChatClient:
    """Calls WeChat's ``code2session`` and maps its errors to problems the mini-program can act on."""

    def __init__(self, base_url: str, *, timeout: float, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport)

    async def code2session(self, app: WeChatApp, code: str) -> WeChatIdentity:
        """Exchange a ``wx.login`` code; 401 for a bad or used code, 429/503 when WeChat refuses."""
        params = {"appid": app.appid, "secret": app.secret, "js_code": code, "grant_type": "authorization_code"}
        try:
            response = await self._http.get("/sns/jscode2session", params=params)
            body: dict[str, Any] = json.loads(response.text)
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("code2session failed: %r", exc)  # the URL carries the app secret: never log it
            raise _unavailable() from None
        errcode = int(body.get("errcode") or 0)
        if errcode in _BAD_CODE:
            raise ProblemError(401, "The WeChat login code is invalid or was already used; call wx.login "
                               "again.", reason="INVALID_WECHAT_CODE", headers={"WWW-Authenticate": "Bearer"})
        if errcode == _RATE_LIMITED:
            raise ProblemError(429, "WeChat is limiting sign-ins; retry later.", reason="RATE_LIMITED",
                               headers={"Retry-After": "10"})
        openid = body.get("openid")
        if errcode or response.status_code != 200 or not isinstance(openid, str) or not openid:
            log.warning("code2session refused: errcode=%s status=%s", errcode, response.status_code)
            raise _unavailable()
        unionid = body.get("unionid")
        return WeChatIdentity(openid=openid, unionid=unionid if isinstance(unionid, str) and unionid else None)

    async def close(self) -> None:
        await self._http.aclose()


def _unavailable() -> ProblemError:
    return ProblemError(503, "WeChat sign-in is unavailable; retry.", reason="WECHAT_UNAVAILABLE",
                        headers={"Retry-After": "5"})


@dataclass(frozen=True)
class WeChatMember:
    """The member a WeChat identity signed in as; ``created`` on the first sign-in."""

    member_id: str
    created: bool


class MemberDirectory(Protocol):
    """Finds the member of a WeChat identity in a brand, registering a new one the first time."""

    async def find_or_create_by_wechat(self, brand_id: str, identity: WeChatIdentity, *,
                                       store_id: str | None = None) -> WeChatMember:
        """The member (UnionID first, as it spans a brand's apps; then the app's OpenID)."""


class GrpcMemberDirectory:
    """`MemberDirectory` over the members service's ``FindOrCreateMemberByWechat`` RPC.

    The members service owns the UnionID/OpenID → member mapping (and its uniqueness under concurrent
    first logins); the gateway only forwards what WeChat vouched for.
    """

    def __init__(self, clients: Clients) -> None:
        self._clients = clients

    async def find_or_create_by_wechat(self, brand_id: str, identity: WeChatIdentity, *,
                                       store_id: str | None = None) -> WeChatMember:
        reply = await rpc(
            self._clients.members.FindOrCreateMemberByWechat(members_pb2.FindOrCreateMemberByWechatRequest(
                brand_id=brand_id, union_id=identity.unionid or "", open_id=identity.openid,
                store_id=store_id or "")),
            # An unknown registration store is the service's 422 naming `store_id` (the body's name too).
            not_found_as="brand",
        )
        return WeChatMember(member_id=reply.member.id, created=reply.created)
