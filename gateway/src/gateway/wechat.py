"""WeChat mini-program sign-in (``code2session``), phone binding (``getuserphonenumber``) and the member
directory that maps an OpenID to a member.

``GET {base}/sns/jscode2session?appid=&secret=&js_code=&grant_type=authorization_code`` answers
``{openid, session_key, unionid?}`` or ``{errcode, errmsg}`` (WeChat sends it as text/plain). The base URL
is a setting so tests (and a sandbox) can stand in for WeChat. The ``session_key`` is WeChat's secret for
decrypting the member's data on the server; the gateway needs none of that, so it is dropped at once.

Phone binding uses the server-side exchange WeChat recommends (no ``session_key`` decryption): the app's
``getPhoneNumber`` button yields a one-time ``code``; the server takes an app access token
(`crm_common.wechat.AccessTokens`: ``GET {base}/cgi-bin/token``, cached per app until shortly before
``expires_in``, shared with the campaigns service's WeChat channel) and posts ``{"code"}`` to
``POST {base}/wxa/business/getuserphonenumber?access_token=``, which answers
``{errcode, errmsg, phone_info: {phoneNumber, purePhoneNumber, countryCode}}``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from crm.members.v1 import members_pb2
from crm_common.wechat import STALE_TOKEN_ERRCODES, AccessTokens, WeChatTokenError
from gateway.clients import Clients
from gateway.errors import ProblemError, invalid, rpc
from gateway.settings import WeChatApp

log = logging.getLogger(__name__)

# errcodes of jscode2session: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-login/code2Session.html
_BAD_CODE = {40029, 40163, 40226}  # invalid, already used, blocked user
_RATE_LIMITED = 45011
# errcodes of getuserphonenumber: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-info/phone-number/getPhoneNumber.html
_STALE_TOKEN = STALE_TOKEN_ERRCODES  # invalid / malformed / expired access token: refresh once and retry
_BUSY = -1


@dataclass(frozen=True)
class WeChatIdentity:
    """Who WeChat says the user is; ``unionid`` only when the app is bound to an open-platform account."""

    openid: str
    unionid: str | None


class WeChatClient:
    """Calls WeChat's ``code2session`` and ``getuserphonenumber`` (with the app access token it needs, cached)
    and maps their errors to problems the mini-program can act on."""

    def __init__(self, base_url: str, *, timeout: float, transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport)
        self._tokens = AccessTokens(self._http, clock=clock)

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

    async def phone_number(self, app: WeChatApp, code: str) -> str:
        """Exchange a ``getPhoneNumber`` code for the user's number in E.164 (``+8613800138000``).

        A bad or used code is a 422 naming ``code``; a stale access token (40001/42001) is refreshed and
        the call retried once; anything else WeChat cannot answer is a 503.
        """
        token = await self._access_token(app)
        body = await self._get_phone(token, code)
        if int(body.get("errcode") or 0) in _STALE_TOKEN:
            token = await self._access_token(app, stale=token)
            body = await self._get_phone(token, code)
        errcode = int(body.get("errcode") or 0)
        if errcode in _STALE_TOKEN or errcode == _BUSY:
            log.warning("getuserphonenumber refused: errcode=%s", errcode)
            raise _unavailable("WeChat phone binding is unavailable; retry.")
        if errcode == _RATE_LIMITED:
            raise ProblemError(429, "WeChat is limiting phone binding; retry later.", reason="RATE_LIMITED",
                               headers={"Retry-After": "10"})
        if errcode:
            # 40029 invalid code, 40163 used, ...: the code is what the app has to get again.
            raise invalid(("code", "The phone number code is invalid or was already used; ask the user to "
                                   "tap the phone number button again."))
        info = body.get("phone_info")
        pure = info.get("purePhoneNumber") if isinstance(info, dict) else None
        country = str(info.get("countryCode") or "") if isinstance(info, dict) else ""
        if not isinstance(pure, str) or not pure.strip():
            log.warning("getuserphonenumber answered without a phone number")
            raise _unavailable("WeChat phone binding is unavailable; retry.")
        # purePhoneNumber has no country code; the members service stores E.164, and a bare national number
        # would be read as Chinese whatever country WeChat said.
        return f"+{country.lstrip('+')}{pure.strip()}" if country else pure.strip()

    async def _get_phone(self, token: str, code: str) -> dict[str, Any]:
        try:
            response = await self._http.post("/wxa/business/getuserphonenumber", params={"access_token": token},
                                              json={"code": code})
            body = json.loads(response.text)
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("getuserphonenumber failed: %r", exc)  # the URL carries the access token: never log it
            raise _unavailable("WeChat phone binding is unavailable; retry.") from None
        if not isinstance(body, dict) or response.status_code != 200:
            log.warning("getuserphonenumber answered status=%s", response.status_code)
            raise _unavailable("WeChat phone binding is unavailable; retry.")
        return body

    async def _access_token(self, app: WeChatApp, *, stale: str | None = None) -> str:
        """The app's cached access token, fetched when missing, near expiry, or equal to ``stale``."""
        try:
            return await self._tokens.get(app.appid, app.secret, stale=stale)
        except WeChatTokenError:
            # Bad appid/secret or an IP not whitelisted is our configuration, not the member's.
            raise _unavailable("WeChat phone binding is unavailable; retry.") from None

    async def close(self) -> None:
        await self._http.aclose()


def _unavailable(detail: str = "WeChat sign-in is unavailable; retry.") -> ProblemError:
    return ProblemError(503, detail, reason="WECHAT_UNAVAILABLE",
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
