"""The campaigns service's message channels against local servers that speak each provider's protocol:
Alibaba Cloud SendSms (which checks the request signature), WeChat's token and subscribe-message APIs, and
SMTP (aiosmtpd, with STARTTLS and AUTH where a test needs them)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from email.utils import parseaddr
from pathlib import Path

import httpx
import pytest

from campaigns.adapters.channels import (
    ChannelConfig,
    Content,
    Delivery,
    EmailChannel,
    Outcome,
    OutgoingMessage,
    Recipient,
    SmsChannel,
    WeChatChannel,
    build_channels,
    percent_encode,
    rpc_signature,
)
from crm_devstack.sandbox import SMS_SANDBOX_REJECTED_TEMPLATE, FakeAliyunSms, FakeWeChat, SmsSandbox, smtp_server

from .fake_providers import free_port, http_server, self_signed_certificate, silent_tcp_server

KEY_ID, KEY_SECRET, SIGN_NAME = "LTAI5tTestKeyId", "sms-s3cret/Zq9+=", "会员中心"
SMS_TEMPLATES = {"SMS_100": {"name", "coupon"}, "SMS_200": set()}
APP_ID, APP_SECRET = "wx0a1b2c3d4e", "wx-s3cret-Kp2"
OPENIDS = {"oMember1xyz", "oMember2xyz"}
WX_TEMPLATES = {"TPL-coupon": {"thing1", "time2"}, "TPL-text": {"thing1"}}
SMTP_USER, SMTP_PASSWORD, SENDER = "mailer", "smtp-s3cret-Wm7", "会员中心 <news@brand.example>"
PHONE, EMAIL = "+8613800138000", "li.lei@member.example"


def msg(key: str = "camp-1:m-1", *, phone: str | None = None, openid: str | None = None, email: str | None = None,
        **content: object) -> OutgoingMessage:
    return OutgoingMessage(idempotency_key=key,
                           recipient=Recipient(member_id=key.split(":")[-1], phone=phone, wechat_open_id=openid,
                                               email=email),
                           content=Content(**content))  # type: ignore[arg-type]


def sms_config(endpoint: str, **overrides: object) -> ChannelConfig:
    values: dict[str, object] = {"sms_endpoint": endpoint, "sms_access_key_id": KEY_ID,
                                 "sms_access_key_secret": KEY_SECRET, "sms_sign_name": SIGN_NAME,
                                 "timeout_seconds": 2.0}
    return ChannelConfig(**{**values, **overrides})  # type: ignore[arg-type]


def wechat_config(base: str, **overrides: object) -> ChannelConfig:
    values: dict[str, object] = {"wechat_base_url": base, "wechat_app_id": APP_ID,
                                 "wechat_app_secret": APP_SECRET, "timeout_seconds": 2.0}
    return ChannelConfig(**{**values, **overrides})  # type: ignore[arg-type]


def email_config(port: int, **overrides: object) -> ChannelConfig:
    values: dict[str, object] = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_from": SENDER,
                                 "timeout_seconds": 2.0}
    return ChannelConfig(**{**values, **overrides})  # type: ignore[arg-type]


@pytest.fixture
async def aliyun() -> AsyncIterator[tuple[FakeAliyunSms, str]]:
    fake = FakeAliyunSms(KEY_ID, KEY_SECRET, SIGN_NAME, SMS_TEMPLATES)
    async with http_server(fake.app()) as base:
        yield fake, base


@pytest.fixture
async def sms(aliyun: tuple[FakeAliyunSms, str]) -> AsyncIterator[SmsChannel]:
    channel = SmsChannel(sms_config(aliyun[1]))
    yield channel
    await channel.close()


@pytest.fixture
async def weixin() -> AsyncIterator[tuple[FakeWeChat, str]]:
    fake = FakeWeChat(APP_ID, APP_SECRET, set(OPENIDS), WX_TEMPLATES)
    async with http_server(fake.app()) as base:
        yield fake, base


@pytest.fixture
async def wechat(weixin: tuple[FakeWeChat, str]) -> AsyncIterator[WeChatChannel]:
    channel = WeChatChannel(wechat_config(weixin[1]))
    yield channel
    await channel.close()


@pytest.fixture
def certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that the default TLS context trusts (``SSL_CERT_FILE``)."""
    cert, key = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return cert, key


# SMS: the signature ------------------------------------------------------------------------------------------------

def test_the_signature_matches_aliyuns_documented_example():
    # The worked example of Aliyun's "Signature mechanism" page: DescribeRegions signed with testid/testsecret.
    params = {"TimeStamp": "2016-02-23T12:46:24Z", "Format": "XML", "AccessKeyId": "testid",
              "Action": "DescribeRegions", "SignatureMethod": "HMAC-SHA1",
              "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", "Version": "2014-05-26",
              "SignatureVersion": "1.0"}

    assert rpc_signature("GET", params, "testsecret") == "CT9X0VtwR86fNWSnsc6v8YGOjuE="


def test_percent_encoding_keeps_only_unreserved_characters():
    assert percent_encode("a b*c~d/e+f=g&h") == "a%20b%2Ac~d%2Fe%2Bf%3Dg%26h"
    assert percent_encode("会员") == "%E4%BC%9A%E5%91%98"


# SMS: SendSms -------------------------------------------------------------------------------------------------------

async def test_an_sms_goes_out_signed_with_its_template_params_and_the_key_as_out_id(sms, aliyun):
    fake, _ = aliyun

    delivery = await sms.send(msg("camp-1:m-1", phone=PHONE, template_id="SMS_100",
                                  params={"name": "李雷 & 韩梅梅", "coupon": "满100减20 ~50%"}))

    assert delivery == Delivery(Outcome.SENT, provider_message_id="100000^0")
    [sent] = fake.accepted
    assert (sent["PhoneNumbers"], sent["SignName"], sent["TemplateCode"], sent["OutId"]) == (
        "13800138000", SIGN_NAME, "SMS_100", "camp-1:m-1")
    assert json.loads(sent["TemplateParam"]) == {"name": "李雷 & 韩梅梅", "coupon": "满100减20 ~50%"}
    assert (sent["Action"], sent["Version"], sent["Format"], sent["SignatureMethod"], sent["SignatureVersion"]) == (
        "SendSms", "2017-05-25", "JSON", "HMAC-SHA1", "1.0")
    [(method, content_type, _)] = fake.requests
    # The number travels in the body, never in a URL that proxies and request logs keep.
    assert (method, content_type.split(";")[0]) == ("POST", "application/x-www-form-urlencoded")


async def test_a_resend_after_a_crash_carries_the_same_out_id_with_a_fresh_nonce(sms, aliyun):
    fake, _ = aliyun

    first = await sms.send(msg("camp-1:m-1", phone=PHONE, template_id="SMS_200"))
    again = await sms.send(msg("camp-1:m-1", phone=PHONE, template_id="SMS_200"))

    assert (first.outcome, again.outcome) == (Outcome.SENT, Outcome.SENT)  # a reused nonce would be refused
    assert [p["OutId"] for p in fake.accepted] == ["camp-1:m-1", "camp-1:m-1"]
    assert "TemplateParam" not in fake.accepted[0]


async def test_a_long_idempotency_key_becomes_a_stable_out_id_of_at_most_64_characters(sms, aliyun):
    fake, _ = aliyun
    campaign = "0b6f3d7e-8c1a-4c55-9a58-1f2e3d4c5b6a"
    keys = [f"{campaign}:9d8c7b6a-5f4e-4d3c-8b2a-1a2b3c4d5e6f", f"{campaign}:9d8c7b6a-5f4e-4d3c-8b2a-1a2b3c4d5e70"]

    for key in [keys[0], keys[0], keys[1]]:
        assert (await sms.send(msg(key, phone=PHONE, template_id="SMS_200"))).outcome is Outcome.SENT

    out_ids = [p["OutId"] for p in fake.accepted]
    assert all(len(o) <= 64 for o in out_ids)
    assert out_ids[0] == out_ids[1] != out_ids[2]
    assert out_ids[0].startswith(campaign)


async def test_an_international_number_is_sent_with_its_country_code_and_no_plus(sms, aliyun):
    fake, _ = aliyun

    delivery = await sms.send(msg(phone="+852 5123 4567", template_id="SMS_200"))

    assert delivery.outcome is Outcome.SENT
    assert fake.accepted[0]["PhoneNumbers"] == "85251234567"


async def test_a_wrong_secret_fails_the_providers_signature_check_and_waits_for_the_operator(aliyun):
    fake, base = aliyun
    channel = SmsChannel(sms_config(base, sms_access_key_secret="not-the-secret"))
    try:
        delivery = await channel.send(msg(phone=PHONE, template_id="SMS_200"))
    finally:
        await channel.close()

    assert delivery == Delivery(Outcome.RETRY, detail="aliyun SignatureDoesNotMatch")
    assert fake.accepted == []


@pytest.mark.parametrize(("scenario", "code"), [
    ("blacklisted", "isv.BLACK_KEY_CONTROL_LIMIT"),
    ("number the provider calls illegal", "isv.MOBILE_NUMBER_ILLEGAL"),
    ("unapproved template", "isv.SMS_TEMPLATE_ILLEGAL"),
    ("missing template params", "isv.TEMPLATE_MISSING_PARAMETERS"),
    ("unapproved sign name", "isv.SMS_SIGNATURE_ILLEGAL"),
])
async def test_a_message_the_provider_refuses_for_good_is_rejected(aliyun, scenario, code):
    fake, base = aliyun
    message = msg(phone=PHONE, template_id="SMS_100", params={"name": "李雷", "coupon": "C1"})
    config = sms_config(base)
    if scenario == "blacklisted":
        fake.codes["13800138000"] = code
    elif scenario == "number the provider calls illegal":
        fake.codes["13800138000"] = code
    elif scenario == "unapproved template":
        message = msg(phone=PHONE, template_id="SMS_999")
    elif scenario == "missing template params":
        message = msg(phone=PHONE, template_id="SMS_100", params={"name": "李雷"})
    else:
        config = sms_config(base, sms_sign_name="别的签名")
    channel = SmsChannel(config)
    try:
        delivery = await channel.send(message)
    finally:
        await channel.close()

    assert delivery == Delivery(Outcome.REJECTED, detail=f"aliyun {code}")
    assert fake.accepted == []


@pytest.mark.parametrize("code", ["isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "isv.OUT_OF_SERVICE",
                                  "isp.SYSTEM_ERROR"])
async def test_throttling_and_account_trouble_are_retried(sms, aliyun, code):
    fake, _ = aliyun
    fake.codes["13800138000"] = code

    delivery = await sms.send(msg(phone=PHONE, template_id="SMS_200"))

    assert delivery == Delivery(Outcome.RETRY, detail=f"aliyun {code}")


async def test_a_5xx_from_the_sms_provider_is_retried(sms, aliyun):
    fake, _ = aliyun
    fake.status = 502

    assert await sms.send(msg(phone=PHONE, template_id="SMS_200")) == Delivery(Outcome.RETRY,
                                                                               detail="sms provider HTTP 502")


async def test_an_sms_provider_that_does_not_answer_in_time_is_retried(aliyun):
    fake, base = aliyun
    fake.delay = 1.0
    channel = SmsChannel(sms_config(base, timeout_seconds=0.2))
    try:
        delivery = await channel.send(msg(phone=PHONE, template_id="SMS_200"))
    finally:
        await channel.close()

    assert delivery == Delivery(Outcome.RETRY, detail="sms provider unreachable: ReadTimeout")


async def test_an_unreachable_sms_provider_is_retried():
    channel = SmsChannel(sms_config(f"http://127.0.0.1:{free_port()}"))
    try:
        delivery = await channel.send(msg(phone=PHONE, template_id="SMS_200"))
    finally:
        await channel.close()

    assert delivery == Delivery(Outcome.RETRY, detail="sms provider unreachable: ConnectError")


@pytest.mark.parametrize(("phone", "template", "detail"), [
    (None, "SMS_200", "no phone number"),
    ("", "SMS_200", "no phone number"),
    ("call me maybe", "SMS_200", "phone number is not E.164"),
    (PHONE, "", "no SMS template"),
])
async def test_an_sms_without_a_number_or_template_is_rejected_without_calling(sms, aliyun, phone, template, detail):
    fake, _ = aliyun

    delivery = await sms.send(msg(phone=phone, template_id=template))

    assert delivery == Delivery(Outcome.REJECTED, detail=detail)
    assert fake.requests == []


async def test_the_dev_sms_sandbox_takes_any_template_from_the_channel_and_lists_it():
    sandbox = SmsSandbox()
    await sandbox.astart()
    channel = SmsChannel(sms_config(sandbox.url, **{k.removeprefix("CRM_").lower(): v for k, v in sandbox.env().items()
                                                     if k != "CRM_SMS_ENDPOINT"}))
    try:
        sent = await channel.send(msg("camp-9:m-1", phone=PHONE, template_id="SMS_ANY", params={"gift": "拿铁"}))
        refused = await channel.send(msg("camp-9:m-2", phone=PHONE, template_id=SMS_SANDBOX_REJECTED_TEMPLATE))
        async with httpx.AsyncClient() as client:
            listed = (await client.get(sandbox.messages_url)).json()
    finally:
        await channel.close()
        sandbox.stop()

    assert sent.outcome is Outcome.SENT
    assert refused == Delivery(Outcome.REJECTED, detail="aliyun isv.SMS_TEMPLATE_ILLEGAL")
    assert [(m["phone"], m["template"], m["params"], m["out_id"]) for m in listed] == [
        ("13800138000", "SMS_ANY", {"gift": "拿铁"}, "camp-9:m-1")]


# WeChat subscribe messages ------------------------------------------------------------------------------------------

async def test_a_subscribe_message_goes_out_with_params_as_data_and_the_token_is_reused(wechat, weixin):
    fake, _ = weixin

    first = await wechat.send(msg("camp-1:m-1", openid="oMember1xyz", template_id="TPL-coupon",
                                  params={"thing1": "会员日满减券", "time2": "2026-06-18 10:00"}, page="pages/coupon"))
    second = await wechat.send(msg("camp-1:m-2", openid="oMember2xyz", template_id="TPL-text", text="到店有礼"))

    assert first == Delivery(Outcome.SENT, provider_message_id="1988810812324364292")  # not rounded via a float
    assert second.outcome is Outcome.SENT
    assert fake.sent[0] == {"touser": "oMember1xyz", "template_id": "TPL-coupon", "page": "pages/coupon",
                            "data": {"thing1": {"value": "会员日满减券"}, "time2": {"value": "2026-06-18 10:00"}}}
    assert "page" not in fake.sent[1]
    assert fake.token_calls == [{"grant_type": "client_credential", "appid": APP_ID, "secret": APP_SECRET}]


async def test_without_params_the_text_fills_thing1_cut_to_wechats_20_characters(wechat, weixin):
    fake, _ = weixin
    text = "尊敬的会员您好本周六全场商品八折优惠欢迎光临附近门店选购"  # 28 characters

    delivery = await wechat.send(msg(openid="oMember1xyz", template_id="TPL-text", text=text))

    assert delivery.outcome is Outcome.SENT
    assert fake.sent[0]["data"] == {"thing1": {"value": text[:20]}}


async def test_an_expired_access_token_is_refreshed_once_and_the_send_retried(wechat, weixin):
    fake, _ = weixin
    await wechat.send(msg(openid="oMember1xyz", template_id="TPL-text", text="一"))
    fake.expire_tokens()

    delivery = await wechat.send(msg(openid="oMember2xyz", template_id="TPL-text", text="二"))

    assert delivery.outcome is Outcome.SENT
    assert len(fake.token_calls) == 2
    stale, fresh = fake.send_calls[1][0], fake.send_calls[2][0]
    assert [token for token, _ in fake.send_calls] == [stale, stale, fresh] and stale != fresh


async def test_a_token_wechat_keeps_refusing_is_retried_later_not_looped(wechat, weixin):
    fake, _ = weixin
    fake.tokens_work = False

    delivery = await wechat.send(msg(openid="oMember1xyz", template_id="TPL-text", text="一"))

    assert delivery.outcome is Outcome.RETRY
    assert delivery.detail == "wechat errcode 40001: access token refused after a refresh"
    assert (len(fake.token_calls), len(fake.send_calls)) == (2, 2)  # the first try and the one retry


async def test_a_token_wechat_will_not_issue_is_retried_without_sending(weixin):
    fake, base = weixin
    channel = WeChatChannel(wechat_config(base, wechat_app_secret="wrong-secret"))
    try:
        delivery = await channel.send(msg(openid="oMember1xyz", template_id="TPL-text", text="一"))
    finally:
        await channel.close()

    assert delivery == Delivery(Outcome.RETRY, detail="no WeChat access token (errcode 40125)")
    assert fake.send_calls == []


@pytest.mark.parametrize(("scenario", "errcode", "reason"), [
    ("member declined the subscription", 43101, "user refused or has no subscription"),
    ("openid of another app", 40003, "invalid openid"),
    ("data keys the template lacks", 47003, "template data refused"),
    ("unknown template", 40037, "template refused"),
])
async def test_a_subscribe_message_wechat_refuses_for_good_is_rejected(wechat, weixin, scenario, errcode, reason):
    fake, _ = weixin
    message = msg(openid="oMember1xyz", template_id="TPL-text", text="一")
    if errcode == 43101:
        fake.refused.add("oMember1xyz")
    elif errcode == 40003:
        message = msg(openid="oSomeoneElse", template_id="TPL-text", text="一")
    elif errcode == 47003:
        message = msg(openid="oMember1xyz", template_id="TPL-text", params={"name1": "李雷"})
    else:
        message = msg(openid="oMember1xyz", template_id="TPL-gone", text="一")

    delivery = await wechat.send(message)

    assert delivery == Delivery(Outcome.REJECTED, detail=f"wechat errcode {errcode}: {reason}")
    assert fake.sent == []


@pytest.mark.parametrize(("errcode", "reason"), [(-1, "wechat busy"), (45009, "wechat quota reached")])
async def test_a_busy_or_over_quota_wechat_is_retried(wechat, weixin, errcode, reason):
    fake, _ = weixin
    fake.errcodes.append(errcode)

    delivery = await wechat.send(msg(openid="oMember1xyz", template_id="TPL-text", text="一"))

    assert delivery == Delivery(Outcome.RETRY, detail=f"wechat errcode {errcode}: {reason}")


async def test_a_5xx_from_wechat_is_retried(wechat, weixin):
    fake, _ = weixin
    fake.status = 502

    delivery = await wechat.send(msg(openid="oMember1xyz", template_id="TPL-text", text="一"))

    assert delivery == Delivery(Outcome.RETRY, detail="wechat HTTP 502")


async def test_an_unreachable_wechat_is_retried():
    channel = WeChatChannel(wechat_config(f"http://127.0.0.1:{free_port()}"))
    try:
        delivery = await channel.send(msg(openid="oMember1xyz", template_id="TPL-text", text="一"))
    finally:
        await channel.close()

    assert delivery == Delivery(Outcome.RETRY, detail="no WeChat access token (errcode None)")


@pytest.mark.parametrize(("openid", "template", "detail"), [
    (None, "TPL-text", "no WeChat openid"), ("", "TPL-text", "no WeChat openid"),
    ("oMember1xyz", "", "no WeChat template"),
])
async def test_a_member_without_an_openid_is_rejected_without_calling(wechat, weixin, openid, template, detail):
    fake, _ = weixin

    delivery = await wechat.send(msg(openid=openid, template_id=template, text="一"))

    assert delivery == Delivery(Outcome.REJECTED, detail=detail)
    assert (fake.token_calls, fake.send_calls) == ([], [])


# Email ---------------------------------------------------------------------------------------------------------------

@pytest.fixture
def smtp() -> Iterator[tuple[object, int]]:
    with smtp_server() as (inbox, port):
        yield inbox, port


async def test_an_email_keeps_its_chinese_and_its_message_id_comes_from_the_key(smtp):
    inbox, port = smtp
    channel = EmailChannel(email_config(port))  # STARTTLS configured; this server offers none and no login

    delivery = await channel.send(msg("camp-7:m-42", email=EMAIL, subject="会员日：全场八折\n限今天",
                                      text="亲爱的会员：\n本周六全场八折，欢迎光临！🎉"))

    assert delivery == Delivery(Outcome.SENT, provider_message_id="<camp-7.m-42@brand.example>")
    [received] = inbox.messages  # type: ignore[attr-defined]
    assert (received.mail_from, received.rcpt_tos) == ("news@brand.example", [EMAIL])
    email = received.message
    assert email["Subject"] == "会员日：全场八折 限今天"  # one line
    assert email.get_content().replace("\r\n", "\n").rstrip("\n") == "亲爱的会员：\n本周六全场八折，欢迎光临！🎉"
    assert parseaddr(str(email["From"])) == ("会员中心", "news@brand.example")
    assert (email["To"], email["Message-ID"]) == (EMAIL, "<camp-7.m-42@brand.example>")
    assert email["Date"]


async def test_a_resent_email_has_the_same_message_id_and_another_member_another(smtp):
    inbox, port = smtp
    channel = EmailChannel(email_config(port))
    odd_key = "camp 7:m/42"  # not usable as is in a Message-ID

    for key in ["camp-7:m-42", "camp-7:m-42", "camp-7:m-43", odd_key, odd_key]:
        await channel.send(msg(key, email=EMAIL, subject="s", text="t"))

    ids = [r.message["Message-ID"] for r in inbox.messages]  # type: ignore[attr-defined]
    assert ids[:3] == ["<camp-7.m-42@brand.example>", "<camp-7.m-42@brand.example>", "<camp-7.m-43@brand.example>"]
    assert ids[3] == ids[4] and ids[3].startswith("<k") and ids[3].endswith("@brand.example>") and " " not in ids[3]


@pytest.mark.parametrize(("address", "detail"), [
    (None, "no email address"), ("", "no email address"), ("not-an-address", "email address is not valid"),
    ("a@b.example\r\nBcc: all@list.example", "email address is not valid"),
    ("李雷@例子.中国", "internationalised email addresses are not supported"),
])
async def test_an_email_without_a_usable_address_is_rejected_without_connecting(address, detail):
    with silent_tcp_server() as port:  # a connection attempt would hang until the timeout
        channel = EmailChannel(email_config(port, timeout_seconds=5.0))

        delivery = await channel.send(msg(email=address, subject="s", text="t"))

    assert delivery == Delivery(Outcome.REJECTED, detail=detail)


async def test_a_mailbox_the_server_refuses_for_good_is_rejected_and_a_busy_one_retried(smtp):
    inbox, port = smtp
    inbox.refuse["gone@member.example"] = "550 5.1.1 mailbox unavailable"  # type: ignore[attr-defined]
    inbox.refuse["busy@member.example"] = "450 4.2.1 try again later"  # type: ignore[attr-defined]
    channel = EmailChannel(email_config(port))

    gone = await channel.send(msg(email="gone@member.example", subject="s", text="t"))
    busy = await channel.send(msg(email="busy@member.example", subject="s", text="t"))

    assert gone == Delivery(Outcome.REJECTED, detail="smtp recipient refused (550)")
    assert busy == Delivery(Outcome.RETRY, detail="smtp recipient refused (450)")
    assert inbox.messages == []  # type: ignore[attr-defined]


async def test_an_unreachable_smtp_server_is_retried():
    channel = EmailChannel(email_config(free_port()))

    delivery = await channel.send(msg(email=EMAIL, subject="s", text="t"))

    assert delivery == Delivery(Outcome.RETRY, detail="smtp unreachable: ConnectionRefusedError")


async def test_an_smtp_server_that_never_greets_is_retried_after_the_timeout():
    with silent_tcp_server() as port:
        channel = EmailChannel(email_config(port, timeout_seconds=0.3))

        delivery = await channel.send(msg(email=EMAIL, subject="s", text="t"))

    assert delivery.outcome is Outcome.RETRY
    assert delivery.detail in {"smtp unreachable: TimeoutError", "smtp unreachable: SMTPServerDisconnected"}


async def test_starttls_is_used_when_offered_and_the_login_happens_inside_it(certificate):
    with smtp_server(tls=certificate, account=(SMTP_USER, SMTP_PASSWORD)) as (inbox, port):
        channel = EmailChannel(email_config(port, smtp_user=SMTP_USER, smtp_password=SMTP_PASSWORD))

        delivery = await channel.send(msg(email=EMAIL, subject="加密", text="正文"))

    assert delivery.outcome is Outcome.SENT, delivery
    [received] = inbox.messages
    assert (received.tls, received.login) == (True, SMTP_USER)  # auth_require_tls: AUTH only after STARTTLS
    assert received.message.get_content().replace("\r\n", "\n").rstrip("\n") == "正文"


async def test_a_wrong_smtp_password_is_retried_for_the_operator_to_fix(certificate):
    with smtp_server(tls=certificate, account=(SMTP_USER, SMTP_PASSWORD)) as (inbox, port):
        channel = EmailChannel(email_config(port, smtp_user=SMTP_USER, smtp_password="wrong"))

        delivery = await channel.send(msg(email=EMAIL, subject="s", text="t"))

    assert delivery == Delivery(Outcome.RETRY, detail="smtp login refused (535)")
    assert inbox.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_the_password_is_not_sent_in_clear_when_starttls_is_configured_but_not_offered():
    # This server would take the login in clear: only the channel's refusal keeps the password off the wire.
    with smtp_server(account=(SMTP_USER, SMTP_PASSWORD), auth_require_tls=False) as (inbox, port):
        channel = EmailChannel(email_config(port, smtp_user=SMTP_USER, smtp_password=SMTP_PASSWORD))

        delivery = await channel.send(msg(email=EMAIL, subject="s", text="t"))

    assert delivery == Delivery(Outcome.RETRY, detail="smtp server offers no STARTTLS")
    assert (inbox.logins, inbox.messages) == ([], [])


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_a_plain_login_happens_when_starttls_is_turned_off():
    with smtp_server(account=(SMTP_USER, SMTP_PASSWORD), auth_require_tls=False) as (inbox, port):
        channel = EmailChannel(email_config(port, smtp_user=SMTP_USER, smtp_password=SMTP_PASSWORD,
                                            smtp_starttls=False))

        delivery = await channel.send(msg(email=EMAIL, subject="s", text="t"))

    assert delivery.outcome is Outcome.SENT
    assert [(r.tls, r.login) for r in inbox.messages] == [(False, SMTP_USER)]


# What leaves the channels ----------------------------------------------------------------------------------------

async def test_no_secret_token_or_recipient_address_reaches_a_detail_or_the_logs(aliyun, weixin, certificate, caplog):
    caplog.set_level(logging.DEBUG)
    sms_fake, sms_base = aliyun
    wx_fake, wx_base = weixin
    sms_fake.codes["13900139000"] = "isv.BLACK_KEY_CONTROL_LIMIT"
    wx_fake.refused.add("oMember2xyz")
    deliveries: list[Delivery] = []
    sms = SmsChannel(sms_config(sms_base))
    bad_sms = SmsChannel(sms_config(sms_base, sms_access_key_secret=KEY_SECRET + "x"))
    wechat = WeChatChannel(wechat_config(wx_base))
    bad_wechat = WeChatChannel(wechat_config(wx_base, wechat_app_secret=APP_SECRET + "x"))
    with smtp_server(tls=certificate, account=(SMTP_USER, SMTP_PASSWORD)) as (inbox, port):
        inbox.refuse["gone@member.example"] = "550 5.1.1 gone@member.example unknown"
        email = EmailChannel(email_config(port, smtp_user=SMTP_USER, smtp_password=SMTP_PASSWORD))
        bad_email = EmailChannel(email_config(port, smtp_user=SMTP_USER, smtp_password=SMTP_PASSWORD + "x"))
        try:
            deliveries += [
                await sms.send(msg(phone=PHONE, template_id="SMS_100", params={"name": "李雷", "coupon": "C"})),
                await sms.send(msg(phone="+8613900139000", template_id="SMS_200")),
                await bad_sms.send(msg(phone=PHONE, template_id="SMS_200")),
                await wechat.send(msg(openid="oMember1xyz", template_id="TPL-text", text="一")),
            ]
            wx_fake.expire_tokens()
            deliveries += [
                await wechat.send(msg(openid="oMember2xyz", template_id="TPL-text", text="二")),
                await bad_wechat.send(msg(openid="oMember1xyz", template_id="TPL-text", text="三")),
                await email.send(msg(email=EMAIL, subject="s", text="t")),
                await email.send(msg(email="gone@member.example", subject="s", text="t")),
                await bad_email.send(msg(email=EMAIL, subject="s", text="t")),
            ]
        finally:
            for channel in (sms, bad_sms, wechat, bad_wechat, email, bad_email):
                await channel.close()

    assert [d.outcome for d in deliveries] == [
        Outcome.SENT, Outcome.REJECTED, Outcome.RETRY, Outcome.SENT, Outcome.REJECTED, Outcome.RETRY,
        Outcome.SENT, Outcome.REJECTED, Outcome.RETRY]
    tokens = {token for token, _ in wx_fake.send_calls}
    private = [KEY_SECRET, APP_SECRET, SMTP_PASSWORD, *tokens, "13800138000", "13900139000", "oMember1xyz",
               "oMember2xyz", EMAIL, "gone@member.example"]
    # Our side's records only: the stand-in servers (uvicorn, aiosmtpd's mail.log) log what they receive.
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(("uvicorn", "mail.log")))
    details = "\n".join(d.detail for d in deliveries)
    for value in private:
        assert value not in ours, value
        assert value not in details, value
    # httpx logged the WeChat URLs (token and send) with the secret and the tokens masked, not dropped.
    assert "secret=***" in ours and "access_token=***" in ours


# build_channels --------------------------------------------------------------------------------------------------

def test_no_channel_is_built_without_its_credentials():
    assert build_channels(ChannelConfig()) == {}


async def test_each_configured_channel_is_built_under_its_name():
    config = ChannelConfig(sms_access_key_id=KEY_ID, sms_access_key_secret=KEY_SECRET, sms_sign_name=SIGN_NAME,
                           wechat_app_id=APP_ID, wechat_app_secret=APP_SECRET, smtp_host="127.0.0.1",
                           smtp_from=SENDER)

    channels = build_channels(config)
    try:
        assert {name: type(c) for name, c in channels.items()} == {
            "sms": SmsChannel, "wechat": WeChatChannel, "email": EmailChannel}
        assert all(c.name == name for name, c in channels.items())
    finally:
        for channel in channels.values():
            await channel.close()


@pytest.mark.parametrize(("config", "missing"), [
    (ChannelConfig(sms_access_key_id=KEY_ID, sms_access_key_secret=KEY_SECRET), "sms_sign_name"),
    (ChannelConfig(wechat_app_id=APP_ID), "wechat_app_secret"),
    (ChannelConfig(smtp_host="smtp.example", smtp_password=SMTP_PASSWORD), "smtp_from"),
])
def test_a_half_configured_channel_is_not_built_and_the_log_names_what_is_missing(config, missing, caplog):
    caplog.set_level(logging.WARNING, logger="campaigns.adapters.channels")

    assert build_channels(config) == {}
    assert missing in caplog.text
    assert KEY_SECRET not in caplog.text and SMTP_PASSWORD not in caplog.text


async def test_the_given_transport_carries_the_http_channels():
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/cgi-bin/token":
            return httpx.Response(200, json={"access_token": "T", "expires_in": 7200})
        if request.url.path == "/cgi-bin/message/subscribe/send":
            return httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "msgid": 7})
        return httpx.Response(200, json={"Code": "OK", "BizId": "B1"})

    channels = build_channels(ChannelConfig(
        sms_endpoint="http://sms.invalid", sms_access_key_id=KEY_ID, sms_access_key_secret=KEY_SECRET,
        sms_sign_name=SIGN_NAME, wechat_base_url="http://wechat.invalid", wechat_app_id=APP_ID,
        wechat_app_secret=APP_SECRET), transport=httpx.MockTransport(handler))
    try:
        sent = [await channels["sms"].send(msg(phone=PHONE, template_id="SMS_200")),
                await channels["wechat"].send(msg(openid="oMember1xyz", template_id="TPL-text", text="一"))]
    finally:
        for channel in channels.values():
            await channel.close()

    assert [d.provider_message_id for d in sent] == ["B1", "7"]
    assert seen == ["/", "/cgi-bin/token", "/cgi-bin/message/subscribe/send"]
