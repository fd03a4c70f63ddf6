"""Local stand-ins for the message providers, speaking their real protocols: the dev stack's SMS sandbox and
the campaigns channel tests' fakes.

- `FakeAliyunSms`: ``SendSms`` (API 2017-05-25) checking the RPC signature with its own canonicalisation, the
  common parameters, the timestamp window and nonce reuse, then the number, sign name, template and its
  parameters, as dysmsapi does. ``GET /messages`` lists what it accepted (JSON). Without a template list it
  takes any template (the dev sandbox), refusing only the ones named in ``refused_templates``.
- `FakeWeChat`: ``/cgi-bin/token`` and ``/cgi-bin/message/subscribe/send`` checking the access token, the
  openid, the template and its data; tokens can be expired and errcodes scripted.
- `smtp_server`: aiosmtpd keeping every message, optionally with STARTTLS, AUTH, and recipients it refuses.
- `ServerThread` serves one of these apps on its own thread and event loop; `SmsSandbox` is what `make dev`
  (and the whole-stack tests) run when no ``CRM_SMS_ACCESS_KEY_ID`` is set.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import socket
import ssl
import string
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp

# Alibaba Cloud SendSms ------------------------------------------------------------------------------------------

_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-_.~")


def rfc3986(text: str) -> str:
    """Aliyun's percent-encoding, written out byte by byte (deliberately not the channel's implementation)."""
    return "".join(ch if ch in _UNRESERVED else "".join(f"%{b:02X}" for b in ch.encode("utf-8")) for ch in text)


def aliyun_signature(method: str, params: dict[str, str], secret: str) -> str:
    canonical = "&".join(f"{rfc3986(k)}={rfc3986(v)}" for k, v in sorted(params.items()) if k != "Signature")
    string_to_sign = method + "&" + rfc3986("/") + "&" + rfc3986(canonical)
    return base64.b64encode(hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1).digest()).decode()


_COMMON = {"Format": "JSON", "Version": "2017-05-25", "Action": "SendSms", "SignatureMethod": "HMAC-SHA1",
           "SignatureVersion": "1.0"}
_TIMESTAMP_WINDOW = 15 * 60  # seconds either side of now, as dysmsapi
# A nonce can only be replayed while its signed timestamp is inside the window: at most twice the window later.
_NONCE_MEMORY = 2 * _TIMESTAMP_WINDOW + 60


class FakeAliyunSms:
    """dysmsapi's SendSms for one AccessKey pair and one approved sign name.

    ``templates`` maps each approved template to the parameters it needs; ``None`` approves any template (a dev
    sandbox records whatever is sent) except those in ``refused_templates``, which answer
    ``isv.SMS_TEMPLATE_ILLEGAL``. ``keep`` bounds how many accepted messages are remembered (oldest dropped).
    """

    def __init__(self, key_id: str, secret: str, sign_name: str, templates: dict[str, set[str]] | None = None,
                 *, refused_templates: frozenset[str] = frozenset(), keep: int | None = None) -> None:
        self.key_id, self.secret, self.sign_name, self.templates = key_id, secret, sign_name, templates
        self.refused_templates = refused_templates
        self.keep = keep
        self.accepted: list[dict[str, str]] = []  # the parameters of every message taken
        self.messages: list[dict[str, Any]] = []  # the same messages as `GET /messages` shows them
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # (method, content type, parameters)
        self.codes: dict[str, str] = {}  # number → Code to answer for it (blacklist, throttling, ...)
        self.status: int | None = None  # answer everything with this HTTP status (a gateway in trouble)
        self.delay = 0.0  # seconds before answering
        self._nonces: dict[str, float] = {}  # nonce → when it was used (monotonic)
        self._taken = 0

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/", self.handle, methods=["GET", "POST"]),
                                 Route("/messages", self.list_messages, methods=["GET"])])

    def _error(self, status: int, code: str, message: str) -> JSONResponse:
        return JSONResponse({"RequestId": f"req-{len(self.requests)}", "HostId": "dysmsapi.aliyuncs.com",
                             "Code": code, "Message": message}, status_code=status)

    def _answer(self, code: str, message: str) -> JSONResponse:
        return JSONResponse({"RequestId": f"req-{len(self.requests)}", "Code": code, "Message": message})

    async def list_messages(self, request: Request) -> JSONResponse:
        """``GET /messages[?phone=13800138000]``: the accepted messages, oldest first."""
        phone = request.query_params.get("phone")
        shown = [m for m in list(self.messages) if phone is None or m["phone"] == phone]
        return JSONResponse(shown)

    def _remember_nonce(self, nonce: str) -> bool:
        """False when ``nonce`` was used already; forgets nonces too old to come with a valid timestamp."""
        now = time.monotonic()
        while self._nonces:
            oldest = next(iter(self._nonces))
            if now - self._nonces[oldest] <= _NONCE_MEMORY:
                break
            del self._nonces[oldest]
        if nonce in self._nonces:
            return False
        self._nonces[nonce] = now
        return True

    def _approved(self, template: str) -> bool:
        if not template or template in self.refused_templates:
            return False
        return self.templates is None or template in self.templates

    async def handle(self, request: Request) -> Response:
        raw = (await request.body()).decode("utf-8")
        params = dict(parse_qsl(request.url.query, keep_blank_values=True))
        if raw:
            params.update(parse_qsl(raw, keep_blank_values=True))
        self.requests.append((request.method, request.headers.get("content-type", ""), params))
        if self.keep is not None and len(self.requests) > self.keep:
            del self.requests[: len(self.requests) - self.keep]
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.status:
            return PlainTextResponse("<html>502 Bad Gateway</html>", status_code=self.status)
        for name in ("AccessKeyId", "Signature", "SignatureNonce", "Timestamp", *_COMMON):
            if not params.get(name):
                return self._error(400, f"Missing{name}", f"{name} is mandatory for this action.")
        for name, value in _COMMON.items():
            if params[name] != value:
                return self._error(400, f"InvalidParameter.{name}", f"{name} is not valid.")
        try:
            stamp = dt.datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        except ValueError:
            return self._error(400, "InvalidTimeStamp.Format", "Specified time stamp is not valid.")
        if abs((dt.datetime.now(dt.UTC) - stamp).total_seconds()) > _TIMESTAMP_WINDOW:
            return self._error(400, "InvalidTimeStamp.Expired", "Specified time stamp or date header is expired.")
        if params["AccessKeyId"] != self.key_id:
            return self._error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        expected = aliyun_signature(request.method, params, self.secret)
        if not hmac.compare_digest(expected, params["Signature"]):
            return self._error(400, "SignatureDoesNotMatch", "Specified signature does not match our calculation.")
        if not self._remember_nonce(params["SignatureNonce"]):
            return self._error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")

        number = params.get("PhoneNumbers", "")
        if not number.isdigit():
            return self._answer("isv.MOBILE_NUMBER_ILLEGAL", "invalid mobile number")
        if params.get("SignName") != self.sign_name:
            return self._answer("isv.SMS_SIGNATURE_ILLEGAL", "the sign name is not approved")
        template = params.get("TemplateCode", "")
        if not self._approved(template):
            return self._answer("isv.SMS_TEMPLATE_ILLEGAL", "the template is not approved")
        required = self.templates.get(template, set()) if self.templates is not None else set()
        try:
            values = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            return self._answer("isv.INVALID_JSON_PARAM", "TemplateParam is not JSON")
        if not isinstance(values, dict) or not required <= set(values):
            return self._answer("isv.TEMPLATE_MISSING_PARAMETERS", "template parameters are missing")
        if number in self.codes:
            return self._answer(self.codes[number], "refused")
        self._taken += 1
        biz_id = f"{self._taken}00000^0"
        self.accepted.append(params)
        self.messages.append({
            "phone": number, "sign_name": params["SignName"], "template": template, "params": values,
            "out_id": params.get("OutId", ""), "biz_id": biz_id,
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        })
        if self.keep is not None and len(self.messages) > self.keep:
            del self.accepted[: len(self.accepted) - self.keep]
            del self.messages[: len(self.messages) - self.keep]
        return JSONResponse({"RequestId": f"req-{len(self.requests)}", "Code": "OK", "Message": "OK",
                             "BizId": biz_id})


# WeChat subscribe messages ---------------------------------------------------------------------------------------

class FakeWeChat:
    """The app access token and ``subscribe/send`` for one mini-program."""

    def __init__(self, appid: str, secret: str, openids: set[str], templates: dict[str, set[str]]) -> None:
        self.appid, self.secret, self.openids, self.templates = appid, secret, openids, templates
        self.token_calls: list[dict[str, str]] = []
        self.send_calls: list[tuple[str, Any]] = []  # (access_token, JSON body)
        self.sent: list[dict[str, Any]] = []  # the bodies of the messages taken
        self.refused: set[str] = set()  # openids that declined (or used up) their subscription: 43101
        self.errcodes: list[int] = []  # answered in order to the next sends that hold a valid token
        self.tokens_work = True  # False: every token it hands out is at once refused as invalid (40001)
        self.status: int | None = None  # answer subscribe/send with this HTTP status
        self._issued: set[str] = set()
        self._valid: set[str] = set()

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/cgi-bin/token", self.token),
                                 Route("/cgi-bin/message/subscribe/send", self.send, methods=["POST"])])

    def expire_tokens(self) -> None:
        """Every token handed out so far now answers 42001, as after ``expires_in``."""
        self._valid.clear()

    async def token(self, request: Request) -> JSONResponse:
        query = dict(request.query_params)
        self.token_calls.append(query)
        if query.get("grant_type") != "client_credential" or query.get("appid") != self.appid:
            return JSONResponse({"errcode": 40013, "errmsg": "invalid appid"})
        if query.get("secret") != self.secret:
            return JSONResponse({"errcode": 40125, "errmsg": "invalid appsecret"})
        token = f"ACCESS{len(self.token_calls)}x{uuid.uuid4().hex[:16]}"
        self._issued.add(token)
        if self.tokens_work:
            self._valid.add(token)
        return JSONResponse({"access_token": token, "expires_in": 7200})

    async def send(self, request: Request) -> Response:
        token = request.query_params.get("access_token", "")
        body = json.loads((await request.body()).decode("utf-8"))
        self.send_calls.append((token, body))
        if self.status:
            return PlainTextResponse("bad gateway", status_code=self.status)
        if token not in self._issued:
            return JSONResponse({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"})
        if token not in self._valid:
            return JSONResponse({"errcode": 42001 if self.tokens_work else 40001,
                                 "errmsg": "access_token expired"})
        if self.errcodes:
            return JSONResponse({"errcode": self.errcodes.pop(0), "errmsg": "scripted"})
        if body.get("touser") not in self.openids:
            return JSONResponse({"errcode": 40003, "errmsg": "invalid openid"})
        keys = self.templates.get(body.get("template_id"))
        if keys is None:
            return JSONResponse({"errcode": 40037, "errmsg": "invalid template_id"})
        data = body.get("data")
        if (not isinstance(data, dict) or set(data) != keys
                or not all(isinstance(v, dict) and isinstance(v.get("value"), str) for v in data.values())
                or any(k.startswith("thing") and len(v["value"]) > 20 for k, v in data.items())):
            return JSONResponse({"errcode": 47003, "errmsg": "argument invalid! data.thing1.value invalid"})
        if body["touser"] in self.refused:
            return JSONResponse({"errcode": 43101, "errmsg": "user refuse to accept the msg"})
        self.sent.append(body)
        # Real msgids pass 2**53: the channel must not round them through a float.
        return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": 1988810812324364291 + len(self.sent)})


# SMTP -------------------------------------------------------------------------------------------------------------

@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    login: str | None


@dataclass
class SmtpInbox:
    """aiosmtpd handler keeping every message; ``refuse`` maps an address to the reply its RCPT gets."""

    messages: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    logins: list[str] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from aiosmtpd.smtp import LoginPassword

        message = message_from_bytes(envelope.content, policy=policy.default)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message,  # type: ignore[arg-type]
                                      tls=session.ssl is not None, login=login))
        return "250 OK queued"


class Accounts:
    """aiosmtpd authenticator accepting one user."""

    def __init__(self, inbox: SmtpInbox, user: str, password: str) -> None:
        self.inbox, self.user, self.password = inbox, user, password

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        self.inbox.logins.append(auth_data.login.decode())
        ok = (auth_data.login.decode(), auth_data.password.decode()) == (self.user, self.password)
        # handled=False on failure: aiosmtpd then answers 535 itself.
        return AuthResult(success=ok, handled=ok, auth_data=auth_data if ok else None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def smtp_server(*, tls: tuple[Path, Path] | None = None, account: tuple[str, str] | None = None,
                auth_require_tls: bool = True) -> Iterator[tuple[SmtpInbox, int]]:
    """aiosmtpd on a free port (its own thread and loop); STARTTLS with ``tls`` (cert, key); AUTH for
    ``account`` (user, password)."""
    from aiosmtpd.controller import Controller

    inbox = SmtpInbox()
    kwargs: dict[str, Any] = {}
    if tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*tls)
        kwargs["tls_context"] = context
    if account:
        kwargs.update(authenticator=Accounts(inbox, *account), auth_required=True,
                      auth_require_tls=auth_require_tls)
    port = _free_port()  # aiosmtpd's readiness probe connects to the given port, so 0 will not do
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


# Serving them -----------------------------------------------------------------------------------------------------

class ServerThread:
    """An ASGI app served by uvicorn on its own thread and event loop, so it answers whatever the caller's
    loop is doing (and installs no signal handlers). The listening socket is bound before the thread starts:
    ``port=0`` takes a free port with no race."""

    def __init__(self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, name: str = "sandbox") -> None:
        self.app, self.host, self.name = app, host, name
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _launch(self) -> None:
        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self._socket = sock
        self.port = int(sock.getsockname()[1])
        # log_config=None: leave the process's logging alone; lifespan off: these apps need no start-up.
        config = uvicorn.Config(self.app, host=self.host, port=self.port, log_config=None, log_level="warning",
                                access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True,
                                        name=self.name)
        self._thread.start()

    def _ready(self) -> bool:
        assert self._server is not None and self._thread is not None
        if self._server.started:
            return True
        if not self._thread.is_alive():
            self.stop()
            raise RuntimeError(f"{self.name} did not start on {self.url}")
        return False

    def start(self, timeout: float = 10.0) -> str:
        """Serve; returns the base URL once it accepts connections."""
        self._launch()
        deadline = time.monotonic() + timeout
        while not self._ready():
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} not serving on {self.url} after {timeout:.0f}s")
            time.sleep(0.01)
        return self.url

    async def astart(self, timeout: float = 10.0) -> str:
        """`start` for async callers: the waiting yields to the loop."""
        self._launch()
        deadline = time.monotonic() + timeout
        while not self._ready():
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} not serving on {self.url} after {timeout:.0f}s")
            await asyncio.sleep(0.01)
        return self.url

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving (idempotent); open connections get ``timeout`` seconds to finish."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._server, self._thread, self._socket = None, None, None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


# The dev stack's SMS sandbox --------------------------------------------------------------------------------------

SMS_SANDBOX_KEY_ID = "LTAIdevSandboxKey"
SMS_SANDBOX_KEY_SECRET = "dev-sandbox-secret-not-for-production"  # a local fake's key, not a secret
SMS_SANDBOX_SIGN_NAME = "CRM开发沙箱"
SMS_SANDBOX_REJECTED_TEMPLATE = "SMS_REJECT"
"""The template the sandbox refuses (``isv.SMS_TEMPLATE_ILLEGAL``), to try a provider's rejection."""
SMS_SANDBOX_KEEP = 10_000
"""Accepted messages the sandbox remembers (the oldest are dropped)."""


class SmsSandbox:
    """A `FakeAliyunSms` that takes any template from the dev key (except `SMS_SANDBOX_REJECTED_TEMPLATE`),
    served on its own thread; ``GET {url}/messages`` lists what was "sent"."""

    def __init__(self, port: int = 0) -> None:
        self.fake = FakeAliyunSms(SMS_SANDBOX_KEY_ID, SMS_SANDBOX_KEY_SECRET, SMS_SANDBOX_SIGN_NAME, None,
                                  refused_templates=frozenset({SMS_SANDBOX_REJECTED_TEMPLATE}),
                                  keep=SMS_SANDBOX_KEEP)
        self.server = ServerThread(self.fake.app(), port=port, name="sms-sandbox")

    @property
    def url(self) -> str:
        """The SendSms endpoint (``CRM_SMS_ENDPOINT``)."""
        return self.server.url

    @property
    def messages_url(self) -> str:
        return f"{self.url}/messages"

    def env(self) -> dict[str, str]:
        """The campaigns service's settings that point its SMS channel here."""
        return {
            "CRM_SMS_ENDPOINT": self.url,
            "CRM_SMS_ACCESS_KEY_ID": SMS_SANDBOX_KEY_ID,
            "CRM_SMS_ACCESS_KEY_SECRET": SMS_SANDBOX_KEY_SECRET,
            "CRM_SMS_SIGN_NAME": SMS_SANDBOX_SIGN_NAME,
        }

    def start(self) -> SmsSandbox:
        self.server.start()
        return self

    async def astart(self) -> SmsSandbox:
        await self.server.astart()
        return self

    def stop(self) -> None:
        self.server.stop()

    @property
    def messages(self) -> list[dict[str, Any]]:
        """What ``GET /messages`` answers, read in this process."""
        return list(self.fake.messages)
