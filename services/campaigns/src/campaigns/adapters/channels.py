"""Outbound message channels: Alibaba Cloud SMS (``SendSms``), WeChat mini-program subscribe messages and
SMTP email. Each sends one message and says whether the provider took it, refused it for good, or may take
it later; none of them keeps state beyond a WeChat access token.

A retried send is not deduplicated by any of these providers (Aliyun documents SendSms as not idempotent), so
each request carries the idempotency key where the provider keeps it — SMS ``OutId``, email ``Message-ID`` —
and a duplicate after a crash or timeout can be recognised. WeChat's subscribe message has no such field.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
import logging
import re
import smtplib
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from campaigns.domain.campaign import Content
from crm_common import mail
from crm_common.wechat import STALE_TOKEN_ERRCODES, AccessTokens, WeChatTokenError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipient:
    member_id: str
    phone: str | None = None          # E.164, e.g. +8613800138000
    wechat_open_id: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class OutgoingMessage:
    idempotency_key: str   # "<campaign_id>:<member_id>"; the same key may be sent again after a crash
    recipient: Recipient
    content: Content


class Outcome(enum.Enum):
    SENT = "sent"            # the provider accepted it
    # permanent: no address for this channel, invalid number, template refused, user refused/unsubscribed...
    # never retry
    REJECTED = "rejected"
    # transient: network error, timeout, 5xx, throttling, expired access token after one refresh attempt
    RETRY = "retry"


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    provider_message_id: str = ""
    detail: str = ""        # short reason, never containing the phone/email/openid or secrets


class Channel(Protocol):
    name: str  # "sms" | "wechat" | "email"

    async def send(self, message: OutgoingMessage) -> Delivery: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class ChannelConfig:
    sms_endpoint: str = "https://dysmsapi.aliyuncs.com"
    sms_access_key_id: str = ""
    sms_access_key_secret: str = field(default="", repr=False)
    sms_sign_name: str = ""
    wechat_base_url: str = "https://api.weixin.qq.com"
    wechat_app_id: str = ""
    wechat_app_secret: str = field(default="", repr=False)
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_from: str = ""
    smtp_starttls: bool = True
    timeout_seconds: float = 5.0


def build_channels(config: ChannelConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> dict[str, Channel]:
    """Only the channels whose credentials are configured."""
    channels: dict[str, Channel] = {}
    sms = {"sms_access_key_id": config.sms_access_key_id, "sms_access_key_secret": config.sms_access_key_secret,
           "sms_sign_name": config.sms_sign_name}
    wechat = {"wechat_app_id": config.wechat_app_id, "wechat_app_secret": config.wechat_app_secret}
    email = {"smtp_host": config.smtp_host, "smtp_from": config.smtp_from}
    if _complete("sms", sms):
        channels["sms"] = SmsChannel(config, transport=transport)
    if _complete("wechat", wechat):
        channels["wechat"] = WeChatChannel(config, transport=transport)
    if _complete("email", email):
        channels["email"] = EmailChannel(config)
    return channels


def _complete(channel: str, settings: dict[str, str]) -> bool:
    missing = [name for name, value in settings.items() if not value]
    if missing and len(missing) < len(settings):
        # Half a configuration is a mistake worth a line in the log, not a channel that fails every send.
        log.warning("%s channel not configured: %s missing", channel, ", ".join(missing))
    return not missing


def _rejected(detail: str) -> Delivery:
    return Delivery(Outcome.REJECTED, detail=detail)


def _retry(detail: str) -> Delivery:
    return Delivery(Outcome.RETRY, detail=detail)


# SMS: Alibaba Cloud SendSms ------------------------------------------------------------------------------------

# SendSms (https://help.aliyun.com/document_detail/55284.html) with the RPC-style signature, SignatureVersion
# 1.0 (Aliyun's "Signature mechanism" page); codes from https://help.aliyun.com/document_detail/101346.html
_SMS_API_VERSION = "2017-05-25"
_SMS_REGION = "cn-hangzhou"
# Codes about this one message (its number, template, signature or content): retrying cannot help.
_SMS_PERMANENT = frozenset({
    "isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT", "isv.TEMPLATE_MISSING_PARAMETERS",
    "isv.TEMPLATE_PARAMS_ILLEGAL", "isv.INVALID_PARAMETERS", "isv.INVALID_JSON_PARAM", "isv.PARAM_LENGTH_LIMIT",
    "isv.SMS_TEMPLATE_ILLEGAL", "isv.SMS_SIGNATURE_ILLEGAL", "isv.SMS_SIGN_ILLEGAL", "isv.SIGN_STATE_ILLEGAL",
    "isv.SMS_SIGNATURE_SCENE_ILLEGAL", "isv.SMS_CONTENT_ILLEGAL", "isv.BLACK_KEY_CONTROL_LIMIT",
    "isv.DOMESTIC_NUMBER_NOT_SUPPORTED", "isv.EXTEND_CODE_ERROR",
})
# isv.* codes that are about the whole account or its limits, not the message: the operator can fix them
# (top up, raise a limit, grant a RAM permission), so the message waits instead of being dropped.
_SMS_TRANSIENT = frozenset({
    "isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "isv.MONTH_LIMIT_CONTROL", "isv.OUT_OF_SERVICE",
    "isv.AMOUNT_NOT_ENOUGH", "isv.ACCOUNT_ABNORMAL", "isv.ACCOUNT_NOT_EXISTS", "isv.PRODUCT_UN_SUBSCRIPT",
    "isv.PRODUCT_UNSUBSCRIBE", "isv.DENY_IP_RANGE",
})
# No length limit for OutId is documented; 64 characters is what we trust every endpoint to keep intact.
_OUT_ID_MAX = 64
_MAINLAND = re.compile(r"\+?86(1\d{10})")
_E164 = re.compile(r"\+([1-9]\d{6,14})")
_CODE_SHAPE = re.compile(r"[A-Za-z0-9._-]{1,80}")


def percent_encode(value: str) -> str:
    """RFC 3986 percent-encoding of the UTF-8 bytes: only ``A-Z a-z 0-9 - _ . ~`` stay; space is ``%20``."""
    return quote(value, safe="-_.~")


def rpc_signature(method: str, params: Mapping[str, str], secret: str) -> str:
    """Base64 HMAC-SHA1, keyed ``secret + "&"``, of ``METHOD&%2F&encode(canonical query)``, where the
    canonical query is the parameters (all but ``Signature``) sorted by name, each ``encode(k)=encode(v)``,
    joined by ``&``."""
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items())
                         if k != "Signature")
    string_to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def sms_phone_number(phone: str) -> str | None:
    """The number as SendSms takes it: mainland numbers as their 11 digits, any other E.164 number as country
    code and number without ``+`` (Aliyun's form for international messages); None when not a number."""
    compact = re.sub(r"[\s-]", "", phone)
    if mainland := _MAINLAND.fullmatch(compact) or re.fullmatch(r"(1\d{10})", compact):
        return mainland.group(1)
    if international := _E164.fullmatch(compact):
        return international.group(1)
    return None


def sms_out_id(idempotency_key: str) -> str:
    """The key itself when short and plain; otherwise a readable prefix (a UUID campaign id fits) and 96 bits
    of a hash of the whole key."""
    if len(idempotency_key) <= _OUT_ID_MAX and idempotency_key.isascii() and idempotency_key.isprintable():
        return idempotency_key
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
    prefix = re.sub(r"[^A-Za-z0-9:_-]", "", idempotency_key)[: _OUT_ID_MAX - len(digest) - 1]
    return f"{prefix}~{digest}"


class SmsChannel:
    """``SendSms`` as an HTTP POST with the signed parameters in a form body (the number stays out of URLs
    and request logs)."""

    name = "sms"

    def __init__(self, config: ChannelConfig, *, transport: httpx.AsyncBaseTransport | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._url = config.sms_endpoint.rstrip("/") + "/"
        self._key_id = config.sms_access_key_id
        self._secret = config.sms_access_key_secret
        self._sign_name = config.sms_sign_name
        self._now = now
        self._http = httpx.AsyncClient(timeout=config.timeout_seconds, transport=transport)

    async def send(self, message: OutgoingMessage) -> Delivery:
        if not message.recipient.phone:
            return _rejected("no phone number")
        number = sms_phone_number(message.recipient.phone)
        if number is None:
            return _rejected("phone number is not E.164")
        if not message.content.template_id:
            return _rejected("no SMS template")
        params = {
            "AccessKeyId": self._key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "RegionId": _SMS_REGION,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "Timestamp": self._now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": _SMS_API_VERSION,
            "PhoneNumbers": number,
            "SignName": self._sign_name,
            "TemplateCode": message.content.template_id,
            "OutId": sms_out_id(message.idempotency_key),
        }
        if message.content.params:
            params["TemplateParam"] = json.dumps(dict(message.content.params), ensure_ascii=False,
                                                 separators=(",", ":"))
        signature = rpc_signature("POST", params, self._secret)
        body = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
        body += f"&Signature={percent_encode(signature)}"
        try:
            response = await self._http.post(
                self._url, content=body.encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                         "Accept": "application/json"})
        except httpx.HTTPError as exc:
            log.warning("SendSms failed: %s", type(exc).__name__)
            return _retry(f"sms provider unreachable: {type(exc).__name__}")
        if response.status_code >= 500:
            log.warning("SendSms answered HTTP %s", response.status_code)
            return _retry(f"sms provider HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            log.warning("SendSms answered HTTP %s without JSON", response.status_code)
            return _retry(f"sms provider HTTP {response.status_code} without JSON")
        code = str(answer.get("Code") or "")
        code = code if _CODE_SHAPE.fullmatch(code) else "unknown"
        if code == "OK" and response.status_code == 200:
            return Delivery(Outcome.SENT, provider_message_id=str(answer.get("BizId") or ""))
        if code in _SMS_PERMANENT or (code.startswith("isv.") and code not in _SMS_TRANSIENT):
            log.info("SendSms refused the message: %s", code)
            return _rejected(f"aliyun {code}")
        # isp.* (Aliyun's side), throttling, and what is about our request or account rather than the
        # message: a bad signature or key, a stale timestamp, a reused nonce.
        log.warning("SendSms did not send: %s (HTTP %s)", code, response.status_code)
        return _retry(f"aliyun {code}")

    async def close(self) -> None:
        await self._http.aclose()


# WeChat: mini-program subscribe message ------------------------------------------------------------------------

# https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/subscribe-message/sendMessage.html
_WECHAT_REJECTED = {
    40003: "invalid openid",
    40037: "template refused",
    41030: "page refused",
    43101: "user refused or has no subscription",
    47003: "template data refused",
}
_WECHAT_RETRY = {-1: "wechat busy", 45009: "wechat quota reached"}
_THING_MAX = 20  # WeChat's limit for a ``thing`` value


class WeChatChannel:
    """``POST {base}/cgi-bin/message/subscribe/send?access_token=`` with the app's cached access token,
    refreshed and retried once when WeChat calls it stale."""

    name = "wechat"

    def __init__(self, config: ChannelConfig, *, transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._app_id = config.wechat_app_id
        self._secret = config.wechat_app_secret
        self._http = httpx.AsyncClient(base_url=config.wechat_base_url.rstrip("/"), timeout=config.timeout_seconds,
                                       transport=transport)
        self._tokens = AccessTokens(self._http, clock=clock)

    async def send(self, message: OutgoingMessage) -> Delivery:
        openid = message.recipient.wechat_open_id
        if not openid:
            return _rejected("no WeChat openid")
        content = message.content
        if not content.template_id:
            return _rejected("no WeChat template")
        data = ({key: {"value": value} for key, value in content.params.items()} if content.params
                else {"thing1": {"value": content.text[:_THING_MAX]}})
        payload: dict[str, Any] = {"touser": openid, "template_id": content.template_id, "data": data}
        if content.page:
            payload["page"] = content.page
        try:
            token = await self._tokens.get(self._app_id, self._secret)
            answer = await self._post(token, payload)
            if _errcode(answer) in STALE_TOKEN_ERRCODES:
                token = await self._tokens.get(self._app_id, self._secret, stale=token)
                answer = await self._post(token, payload)
        except WeChatTokenError as exc:
            return _retry(f"no WeChat access token (errcode {exc.errcode})")
        except _Unanswered as exc:
            return _retry(str(exc))
        errcode = _errcode(answer)
        if errcode == 0:
            return Delivery(Outcome.SENT, provider_message_id=str(answer.get("msgid") or ""))
        if errcode in STALE_TOKEN_ERRCODES:
            log.warning("WeChat refused a fresh access token: errcode=%s", errcode)
            return _retry(f"wechat errcode {errcode}: access token refused after a refresh")
        if errcode in _WECHAT_RETRY:
            log.warning("WeChat subscribe send deferred: errcode=%s", errcode)
            return _retry(f"wechat errcode {errcode}: {_WECHAT_RETRY[errcode]}")
        # Known refusals and any other errcode: about this message (its openid, template, data or page).
        log.info("WeChat refused a subscribe message: errcode=%s", errcode)
        reason = _WECHAT_REJECTED.get(errcode, "refused")
        return _rejected(f"wechat errcode {errcode}: {reason}")

    async def _post(self, token: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._http.post("/cgi-bin/message/subscribe/send", params={"access_token": token},
                                              content=json.dumps(payload, ensure_ascii=False).encode(),
                                              headers={"Content-Type": "application/json; charset=utf-8"})
        except httpx.HTTPError as exc:
            # The URL carries the access token: name the failure, never the request.
            log.warning("WeChat subscribe send failed: %s", type(exc).__name__)
            raise _Unanswered(f"wechat unreachable: {type(exc).__name__}") from None
        try:
            answer = json.loads(response.text)
        except ValueError:
            answer = None
        if response.status_code != 200 or not isinstance(answer, dict):
            log.warning("WeChat subscribe send answered HTTP %s", response.status_code)
            raise _Unanswered(f"wechat HTTP {response.status_code}")
        return answer

    async def close(self) -> None:
        await self._http.aclose()


class _Unanswered(Exception):
    """WeChat could not be reached or gave no JSON answer."""


def _errcode(answer: Mapping[str, Any]) -> int:
    try:
        return int(answer.get("errcode") or 0)
    except (TypeError, ValueError):
        return -1  # an answer we cannot read is WeChat's trouble, like its own -1


# Email: SMTP --------------------------------------------------------------------------------------------------

_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"\\]+@[^@\s<>()\[\],;:\"\\]+")
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+(?::[A-Za-z0-9_-]+)*")


class EmailChannel:
    """One message per SMTP connection through `crm_common.mail` (STARTTLS when configured and offered;
    login when a user is set). The Message-ID is made from the idempotency key, so a resend is the same
    message to the receiving side."""

    name = "email"

    def __init__(self, config: ChannelConfig) -> None:
        self._smtp = mail.SmtpSettings(
            host=config.smtp_host, port=config.smtp_port, sender=config.smtp_from, user=config.smtp_user,
            password=config.smtp_password, starttls=config.smtp_starttls, timeout=config.timeout_seconds)
        sender_address = parseaddr(config.smtp_from)[1]
        self._domain = sender_address.rpartition("@")[2] or "crm.invalid"

    async def send(self, message: OutgoingMessage) -> Delivery:
        address = (message.recipient.email or "").strip()
        if not address:
            return _rejected("no email address")
        if not _ADDRESS.fullmatch(address):
            return _rejected("email address is not valid")
        if not address.isascii():
            # Would need the server's SMTPUTF8; IDN domains arrive punycoded from sign-up forms anyway.
            return _rejected("internationalised email addresses are not supported")
        email = EmailMessage()
        email["From"] = self._smtp.sender
        email["To"] = address
        # A subject is one line: a line break in campaign content must not start a header of its own.
        email["Subject"] = " ".join(message.content.subject.split())
        email["Date"] = formatdate(usegmt=True)
        email["Message-ID"] = self.message_id(message.idempotency_key)
        email.set_content(message.content.text)
        try:
            await mail.send(self._smtp, email)
        except smtplib.SMTPRecipientsRefused as exc:
            code = max((c for c, _ in exc.recipients.values()), default=0)  # never the address itself
            return self._refused("recipient refused", code)
        except smtplib.SMTPDataError as exc:
            return self._refused("message refused", exc.smtp_code)
        except smtplib.SMTPAuthenticationError as exc:
            log.error("SMTP login refused: %s", exc.smtp_code)
            return _retry(f"smtp login refused ({exc.smtp_code})")
        except mail.StartTlsUnavailable:
            log.error("SMTP server does not offer STARTTLS; the password is not sent in clear")
            return _retry("smtp server offers no STARTTLS")
        except smtplib.SMTPResponseException as exc:  # sender refused, or a 4xx/5xx to another command
            log.warning("SMTP server answered %s", exc.smtp_code)
            return _retry(f"smtp {exc.smtp_code}")
        except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timed out, TLS failure, no AUTH
            log.warning("SMTP send failed: %s", type(exc).__name__)
            return _retry(f"smtp unreachable: {type(exc).__name__}")
        return Delivery(Outcome.SENT, provider_message_id=str(email["Message-ID"]))

    def message_id(self, idempotency_key: str) -> str:
        """``<campaign.member@domain>`` from a plain ``campaign:member`` key; a hash of any other key."""
        if _PLAIN_KEY.fullmatch(idempotency_key) and len(idempotency_key) <= 128:
            local = idempotency_key.replace(":", ".")
        else:
            local = "k" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
        return f"<{local}@{self._domain}>"

    @staticmethod
    def _refused(what: str, code: int) -> Delivery:
        if 500 <= code < 600:
            log.info("SMTP %s: %s", what, code)
            return _rejected(f"smtp {what} ({code})")
        log.warning("SMTP %s for now: %s", what, code)  # 4xx: greylisting, mailbox busy, over quota
        return _retry(f"smtp {what} ({code})")

    async def close(self) -> None:
        return None
