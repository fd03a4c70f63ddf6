"""Local servers speaking the message providers' real protocols, for the channel tests.

- `FakeAliyunSms`: ``SendSms`` (API 2017-05-25) checking the RPC signature with its own canonicalisation, the
  common parameters, the timestamp window and nonce reuse, then the number, sign name, template and its
  parameters, as dysmsapi does.
- `FakeWeChat`: ``/cgi-bin/token`` and ``/cgi-bin/message/subscribe/send`` checking the access token, the
  openid, the template and its data; tokens can be expired and errcodes scripted.
- `smtp_server`: aiosmtpd keeping every message, optionally with STARTTLS (a self-signed certificate), AUTH,
  and recipients it refuses.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import socket
import ssl
import string
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def http_server(app: Starlette) -> AsyncIterator[str]:
    """Serve ``app`` on a free local port in this event loop; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # uvicorn has no "started" event to await
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task


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


class FakeAliyunSms:
    """dysmsapi's SendSms for one AccessKey pair, one approved sign name and a few approved templates."""

    def __init__(self, key_id: str, secret: str, sign_name: str, templates: dict[str, set[str]]) -> None:
        self.key_id, self.secret, self.sign_name, self.templates = key_id, secret, sign_name, templates
        self.accepted: list[dict[str, str]] = []  # the parameters of every message taken
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # (method, content type, parameters)
        self.codes: dict[str, str] = {}  # number → Code to answer for it (blacklist, throttling, ...)
        self.status: int | None = None  # answer everything with this HTTP status (a gateway in trouble)
        self.delay = 0.0  # seconds before answering
        self._nonces: set[str] = set()

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/", self.handle, methods=["GET", "POST"])])

    def _error(self, status: int, code: str, message: str) -> JSONResponse:
        return JSONResponse({"RequestId": f"req-{len(self.requests)}", "HostId": "dysmsapi.aliyuncs.com",
                             "Code": code, "Message": message}, status_code=status)

    def _answer(self, code: str, message: str) -> JSONResponse:
        return JSONResponse({"RequestId": f"req-{len(self.requests)}", "Code": code, "Message": message})

    async def handle(self, request: Request) -> Response:
        raw = (await request.body()).decode("utf-8")
        params = dict(parse_qsl(request.url.query, keep_blank_values=True))
        if raw:
            params.update(parse_qsl(raw, keep_blank_values=True))
        self.requests.append((request.method, request.headers.get("content-type", ""), params))
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
        if abs((dt.datetime.now(dt.UTC) - stamp).total_seconds()) > 15 * 60:
            return self._error(400, "InvalidTimeStamp.Expired", "Specified time stamp or date header is expired.")
        if params["AccessKeyId"] != self.key_id:
            return self._error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        expected = aliyun_signature(request.method, params, self.secret)
        if not hmac.compare_digest(expected, params["Signature"]):
            return self._error(400, "SignatureDoesNotMatch", "Specified signature does not match our calculation.")
        if params["SignatureNonce"] in self._nonces:
            return self._error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
        self._nonces.add(params["SignatureNonce"])

        number = params.get("PhoneNumbers", "")
        if not number.isdigit():
            return self._answer("isv.MOBILE_NUMBER_ILLEGAL", "invalid mobile number")
        if params.get("SignName") != self.sign_name:
            return self._answer("isv.SMS_SIGNATURE_ILLEGAL", "the sign name is not approved")
        required = self.templates.get(params.get("TemplateCode", ""))
        if required is None:
            return self._answer("isv.SMS_TEMPLATE_ILLEGAL", "the template is not approved")
        try:
            values = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            return self._answer("isv.INVALID_JSON_PARAM", "TemplateParam is not JSON")
        if not isinstance(values, dict) or not required <= set(values):
            return self._answer("isv.TEMPLATE_MISSING_PARAMETERS", "template parameters are missing")
        if number in self.codes:
            return self._answer(self.codes[number], "refused")
        self.accepted.append(params)
        return JSONResponse({"RequestId": f"req-{len(self.requests)}", "Code": "OK", "Message": "OK",
                             "BizId": f"{len(self.accepted)}00000^0"})


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
        message = message_from_bytes(envelope.content, policy=policy.default)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message,  # type: ignore[arg-type]
                                      tls=session.ssl is not None, login=login))
        return "250 OK queued"


class Accounts:
    """aiosmtpd authenticator accepting one user."""

    def __init__(self, inbox: SmtpInbox, user: str, password: str) -> None:
        self.inbox, self.user, self.password = inbox, user, password

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        self.inbox.logins.append(auth_data.login.decode())
        ok = (auth_data.login.decode(), auth_data.password.decode()) == (self.user, self.password)
        # handled=False on failure: aiosmtpd then answers 535 itself.
        return AuthResult(success=ok, handled=ok, auth_data=auth_data if ok else None)


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and localhost) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@contextlib.contextmanager
def smtp_server(*, tls: tuple[Path, Path] | None = None, account: tuple[str, str] | None = None,
                auth_require_tls: bool = True) -> Iterator[tuple[SmtpInbox, int]]:
    """aiosmtpd on a free port (its own thread and loop); STARTTLS with ``tls`` (cert, key); AUTH for
    ``account`` (user, password)."""
    inbox = SmtpInbox()
    kwargs: dict[str, Any] = {}
    if tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*tls)
        kwargs["tls_context"] = context
    if account:
        kwargs.update(authenticator=Accounts(inbox, *account), auth_required=True,
                      auth_require_tls=auth_require_tls)
    port = free_port()  # aiosmtpd's readiness probe connects to the given port, so 0 will not do
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@contextlib.contextmanager
def silent_tcp_server() -> Iterator[int]:
    """Accepts connections and never says a word: an SMTP server that hangs before its greeting."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()
