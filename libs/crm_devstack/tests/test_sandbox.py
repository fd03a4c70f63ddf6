"""The SMS sandbox `make dev` runs: SendSms from the dev key with any template, the rejection template, the
``/messages`` listing, its own thread, and the settings only the campaigns service gets."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crm_devstack.infra import Infra, port_open
from crm_devstack.registry import StackPorts, service_env, wants_sms_sandbox
from crm_devstack.sandbox import (
    SMS_SANDBOX_KEY_ID,
    SMS_SANDBOX_KEY_SECRET,
    SMS_SANDBOX_SIGN_NAME,
    FakeAliyunSms,
    ServerThread,
    SmsSandbox,
    aliyun_signature,
    rfc3986,
)


@pytest.fixture
def sandbox() -> Iterator[SmsSandbox]:
    box = SmsSandbox().start()
    try:
        yield box
    finally:
        box.stop()


def send_sms(base: str, phone: str, template: str, params: dict[str, str] | None = None, *,
             key_id: str = SMS_SANDBOX_KEY_ID, secret: str = SMS_SANDBOX_KEY_SECRET,
             sign_name: str = SMS_SANDBOX_SIGN_NAME, out_id: str = "camp-1:m-1") -> httpx.Response:
    """A signed SendSms form POST, as the campaigns service's channel sends it."""
    fields = {"AccessKeyId": key_id, "Action": "SendSms", "Format": "JSON", "RegionId": "cn-hangzhou",
              "SignatureMethod": "HMAC-SHA1", "SignatureNonce": uuid.uuid4().hex, "SignatureVersion": "1.0",
              "Timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "Version": "2017-05-25",
              "PhoneNumbers": phone, "SignName": sign_name, "TemplateCode": template, "OutId": out_id}
    if params is not None:
        fields["TemplateParam"] = json.dumps(params, ensure_ascii=False)
    fields["Signature"] = aliyun_signature("POST", fields, secret)
    body = "&".join(f"{rfc3986(k)}={rfc3986(v)}" for k, v in fields.items())
    return httpx.post(base + "/", content=body.encode(),
                      headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})


def test_any_template_from_the_dev_key_is_taken_and_listed(sandbox: SmsSandbox) -> None:
    first = send_sms(sandbox.url, "13800138000", "SMS_ANYTHING", {"name": "李雷", "coupon": "满100减20"})
    second = send_sms(sandbox.url, "13900139000", "SMS_OTHER", out_id="camp-1:m-2")

    assert first.status_code == 200 and first.json()["Code"] == "OK", first.text
    assert second.json()["Code"] == "OK" and second.json()["BizId"] != first.json()["BizId"]
    listed = httpx.get(sandbox.messages_url).json()
    assert [(m["phone"], m["template"], m["params"], m["out_id"]) for m in listed] == [
        ("13800138000", "SMS_ANYTHING", {"name": "李雷", "coupon": "满100减20"}, "camp-1:m-1"),
        ("13900139000", "SMS_OTHER", {}, "camp-1:m-2"),
    ]
    at = dt.datetime.fromisoformat(listed[0]["at"])
    assert abs((dt.datetime.now(dt.UTC) - at).total_seconds()) < 60
    assert listed[0]["sign_name"] == SMS_SANDBOX_SIGN_NAME
    only = httpx.get(sandbox.messages_url, params={"phone": "13900139000"}).json()
    assert [m["out_id"] for m in only] == ["camp-1:m-2"]
    assert sandbox.messages == listed


def test_the_reject_template_is_refused_and_nothing_is_recorded(sandbox: SmsSandbox) -> None:
    refused = send_sms(sandbox.url, "13800138000", "SMS_REJECT", {"x": "y"})

    assert refused.status_code == 200 and refused.json()["Code"] == "isv.SMS_TEMPLATE_ILLEGAL"
    assert httpx.get(sandbox.messages_url).json() == []


def test_the_signature_and_the_key_are_still_checked(sandbox: SmsSandbox) -> None:
    wrong_secret = send_sms(sandbox.url, "13800138000", "SMS_1", secret="guessed")
    wrong_key = send_sms(sandbox.url, "13800138000", "SMS_1", key_id="LTAIsomeoneElse")
    wrong_sign = send_sms(sandbox.url, "13800138000", "SMS_1", sign_name="别的签名")

    assert wrong_secret.json()["Code"] == "SignatureDoesNotMatch"
    assert wrong_key.status_code == 404
    assert wrong_sign.json()["Code"] == "isv.SMS_SIGNATURE_ILLEGAL"
    assert sandbox.messages == []


def test_the_sandbox_remembers_a_bounded_number_of_messages() -> None:
    fake = FakeAliyunSms("k", "s", "签名", None, keep=2)
    with_server = ServerThread(fake.app())
    base = with_server.start()
    try:
        for i in range(3):
            assert send_sms(base, f"1380013800{i}", "SMS_1", key_id="k", secret="s",
                            sign_name="签名").json()["Code"] == "OK"
    finally:
        with_server.stop()
    assert [m["phone"] for m in fake.messages] == ["13800138001", "13800138002"]
    assert [p["PhoneNumbers"] for p in fake.accepted] == ["13800138001", "13800138002"]


def test_stop_closes_the_port_and_ends_the_thread() -> None:
    box = SmsSandbox().start()
    port = box.server.port
    assert box.server.running and port_open(port)
    box.stop()
    assert not box.server.running and not port_open(port)
    box.stop()  # idempotent


def test_the_sandbox_runs_in_dev_without_an_sms_key_only() -> None:
    assert wants_sms_sandbox({})
    assert wants_sms_sandbox({"CRM_ENV": "dev", "CRM_SMS_ACCESS_KEY_ID": ""})
    assert not wants_sms_sandbox({"CRM_SMS_ACCESS_KEY_ID": "LTAIreal"})
    assert not wants_sms_sandbox({"CRM_ENV": "production"})


def test_only_the_campaigns_service_gets_the_sandbox_settings(tmp_path: Path) -> None:
    infra = Infra(tmp_path, environ={"CRM_PG_DSN": "postgresql://x@127.0.0.1:1/postgres",
                                     "CRM_NATS_URL": "nats://127.0.0.1:2", "CRM_MONGO_URI": "mongodb://127.0.0.1:3/"})
    infra.start()  # every server comes from the environment: nothing is started
    ports = StackPorts.from_base(21000)
    box = SmsSandbox()  # not started: its settings are what matters here
    box.server.port = 21099
    campaigns = service_env("campaigns", infra, ports, environ={}, sandbox=box.env())
    loyalty = service_env("loyalty", infra, ports, environ={}, sandbox=box.env())

    assert campaigns["CRM_SMS_ENDPOINT"] == "http://127.0.0.1:21099"
    assert (campaigns["CRM_SMS_ACCESS_KEY_ID"], campaigns["CRM_SMS_ACCESS_KEY_SECRET"],
            campaigns["CRM_SMS_SIGN_NAME"]) == (SMS_SANDBOX_KEY_ID, SMS_SANDBOX_KEY_SECRET, SMS_SANDBOX_SIGN_NAME)
    assert not any(k.startswith("CRM_SMS_") for k in loyalty)
