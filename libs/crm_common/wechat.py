"""The WeChat app access token every server-side WeChat API needs, cached per app, and the log filter that
keeps the secrets WeChat puts in query strings out of httpx's request log.

``GET {base}/cgi-bin/token?grant_type=client_credential&appid=&secret=`` answers
``{access_token, expires_in}`` or ``{errcode, errmsg}``. WeChat caps token requests per app and day, and a
new token cuts the previous one's life short, so one token per app is shared until shortly before it expires.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable

import httpx

log = logging.getLogger(__name__)

# An API answering one of these wants a fresh token: 40001 invalid (WeChat revoked it early, or another
# server of ours fetched a new one), 40014 malformed, 42001 expired.
STALE_TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
# Refresh this long before WeChat's expires_in (7200 s): the clocks differ and a request takes time.
TOKEN_MARGIN_SECONDS = 300.0


class WeChatTokenError(Exception):
    """WeChat gave no access token: unreachable (``errcode`` None) or refused (40013 bad appid, 40125 bad
    secret, 40164 IP not whitelisted, -1 busy...). Never carries the secret."""

    def __init__(self, errcode: int | None) -> None:
        super().__init__(f"WeChat gave no access token (errcode={errcode})")
        self.errcode = errcode


class AccessTokens:
    """App access tokens from ``{base}/cgi-bin/token`` over the caller's client, cached per app id."""

    def __init__(self, http: httpx.AsyncClient, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._http = http  # base_url set to WeChat's (or a stand-in's) base
        self._clock = clock
        self._tokens: dict[str, tuple[str, float]] = {}  # appid → (token, refresh after)
        # One fetch per app at a time: concurrent callers after expiry would otherwise each fetch a token, and
        # each new token cuts the previous one's life short.
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, appid: str, secret: str, *, stale: str | None = None) -> str:
        """The app's cached token, fetched when missing, near expiry, or equal to ``stale`` (a token an API
        just refused). Raises `WeChatTokenError`."""
        async with self._locks.setdefault(appid, asyncio.Lock()):
            cached = self._tokens.get(appid)
            # Under the lock another caller may already have replaced the stale token: use that one.
            if cached and cached[0] != stale and self._clock() < cached[1]:
                return cached[0]
            params = {"grant_type": "client_credential", "appid": appid, "secret": secret}
            try:
                response = await self._http.get("/cgi-bin/token", params=params)
                body = json.loads(response.text)
            except (httpx.HTTPError, ValueError) as exc:
                # The URL carries the app secret: name the failure, never the request.
                log.warning("WeChat access token request failed: %s", type(exc).__name__)
                raise WeChatTokenError(None) from None
            token = body.get("access_token") if isinstance(body, dict) else None
            if not isinstance(token, str) or not token:
                errcode = _errcode(body)
                log.error("WeChat access token refused: errcode=%s status=%s", errcode, response.status_code)
                raise WeChatTokenError(errcode)
            try:
                expires_in = float(body.get("expires_in") or 7200)
            except (TypeError, ValueError):
                expires_in = 7200.0
            margin = min(TOKEN_MARGIN_SECONDS, expires_in / 2)
            self._tokens[appid] = (token, self._clock() + expires_in - margin)
            return token


def _errcode(body: object) -> int | None:
    try:
        return int(body.get("errcode"))  # type: ignore[union-attr, arg-type]
    except (AttributeError, TypeError, ValueError):
        return None


class HideQuerySecrets(logging.Filter):
    """Masks the values of query parameters named ``*secret`` or ``*token`` in a record's message.

    httpx logs every request's full URL at INFO, and WeChat takes the app secret and access tokens only in
    the query string; JSON log redaction goes by key and cannot see inside that URL.
    """

    _PATTERN = re.compile(r"((?:secret|token)=)[^&\s\"'<>]+", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's to report; a filter must not break the caller
            return True
        masked = self._PATTERN.sub(r"\1***", message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


# Installed on import: every module that calls WeChat imports this one.
_HIDE = HideQuerySecrets()
logging.getLogger("httpx").addFilter(_HIDE)
