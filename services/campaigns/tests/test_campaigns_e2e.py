"""The campaigns service as deployed, end to end: members and orders arrive as events on NATS, a campaign is
created and activated over gRPC, the send worker asks the members directory (gRPC) for each contact and
speaks Alibaba Cloud's SendSms protocol to a local server that checks every signature, and an order placed
after the message shows up in the campaign's stats."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from campaigns.bootstrap import CampaignsSettings, build, migrate
from crm.campaigns.v1 import campaigns_pb2
from crm.campaigns.v1.campaigns_pb2_grpc import CampaignsServiceStub
from crm.loyalty.v1.events_pb2 import OrderRecorded
from crm.members.v1 import members_pb2, members_pb2_grpc
from crm.members.v1.events_pb2 import MemberRegistered
from crm_common.bus import EventBus
from crm_common.errors import NotFound
from crm_common.events import build_envelope
from crm_common.grpc_client import stub
from crm_common.grpc_server import Service, serving
from crm_common.settings import ServiceSettings
from crm_common.testing import eventually
from crm_devstack.sandbox import FakeAliyunSms

from .fake_providers import http_server

KEY_ID, KEY_SECRET, SIGN_NAME, TEMPLATE = "LTAI5tE2eKey", "e2e-s3cret", "会员中心", "SMS_300"


class Directory(members_pb2_grpc.MembersServiceServicer):
    """The members service's GetMember, as far as campaigns uses it (records each PII access)."""

    def __init__(self) -> None:
        self.members: dict[str, members_pb2.Member] = {}
        self.accesses: list[members_pb2.PiiAccess] = []

    async def GetMember(self, request, context):  # type: ignore[no-untyped-def]
        self.accesses.append(request.access)
        member = self.members.get(request.member_id)
        if member is None or member.brand_id != request.brand_id:
            raise NotFound("member not found", reason="MEMBER_NOT_FOUND", field="member_id")
        return member


@dataclass
class Stack:
    client: CampaignsServiceStub
    bus: EventBus
    sms: FakeAliyunSms
    directory: Directory
    brand_id: str

    async def publish(self, msg: object, source: str) -> None:
        await self.bus.publish(build_envelope(msg, source=source, brand_id=self.brand_id, subject=""))  # type: ignore[arg-type]


@pytest.fixture
async def stack(pg_dsn_factory: Callable[[str], str], nats_url: str) -> AsyncIterator[Stack]:
    sms = FakeAliyunSms(KEY_ID, KEY_SECRET, SIGN_NAME, {TEMPLATE: {"gift"}})
    directory = Directory()
    members = Service("members-fake", [(members_pb2_grpc.add_MembersServiceServicer_to_server, directory,
                                        "crm.members.v1.MembersService")])
    async with http_server(sms.app()) as sms_base, \
            serving(members, ServiceSettings(service_name="members-fake", grpc_port=0)) as members_addr:
        settings = CampaignsSettings(
            pg_dsn=pg_dsn_factory("campaigns_e2e"), nats_url=nats_url, env="test", pg_pool_min=1,
            members_addr=members_addr, sms_endpoint=sms_base, sms_access_key_id=KEY_ID,
            sms_access_key_secret=KEY_SECRET, sms_sign_name=SIGN_NAME, send_poll_seconds=0.05,
            quiet_hours_start="00:00", quiet_hours_end="00:00",  # no quiet hours: the test runs at any hour
        )
        await migrate(settings)
        bus = await EventBus.connect(nats_url, name="campaigns-e2e-publisher")
        for producer in ("members", "loyalty"):
            await bus.ensure_stream(producer)
        async with serving(await build(settings), settings) as addr:
            client, channel = stub(CampaignsServiceStub, addr, service="campaigns")
            try:
                yield Stack(client, bus, sms, directory, brand_id=f"b-{uuid.uuid4().hex[:12]}")
            finally:
                await channel.close()
        await bus.close()


async def test_a_campaign_reaches_consenting_members_by_sms_and_earns_its_orders(stack: Stack) -> None:
    b = stack.brand_id
    for i, consent in enumerate((True, True, False)):
        member_id = f"m-{i}"
        reg = MemberRegistered(brand_id=b, member_id=member_id, store_id="s-1", gender="f")
        reg.registered_at.FromDatetime(datetime.now(UTC) - timedelta(days=3))
        reg.consents["sms"] = consent
        await stack.publish(reg, "members")
        stack.directory.members[member_id] = members_pb2.Member(
            id=member_id, brand_id=b, phone=f"+861380013800{i}", consents={"sms": consent})
    everyone = json.dumps({"field": "registered_days_ago", "op": ">=", "value": 0})
    preview = campaigns_pb2.PreviewSegmentRequest(brand_id=b, rule_json=everyone)
    await eventually(lambda: stack.client.PreviewSegment(preview), lambda p: p.count == 3)  # type: ignore[attr-defined]
    segment = await stack.client.CreateSegment(campaigns_pb2.CreateSegmentRequest(
        brand_id=b, name="全部会员", rule_json=everyone, created_by="staff-1"))
    campaign = await stack.client.CreateCampaign(campaigns_pb2.CreateCampaignRequest(
        brand_id=b, name="周末回店礼", segment_id=segment.id, channel="sms", created_by="staff-1",
        content=campaigns_pb2.CampaignContent(template_id=TEMPLATE, params={"gift": "拿铁一杯"})))
    assert (campaign.status, campaign.cost_per_message_fen, campaign.attribution_days) == ("draft", 5, 7)

    activated = await stack.client.ActivateCampaign(campaigns_pb2.ActivateCampaignRequest(
        brand_id=b, campaign_id=campaign.id, activated_by="staff-2"))
    assert (activated.status, activated.audience) == ("active", 3)
    stats_request = campaigns_pb2.GetCampaignStatsRequest(brand_id=b, campaign_id=campaign.id)
    stats = await eventually(lambda: stack.client.GetCampaignStats(stats_request),
                         lambda s: s.status == "completed")  # type: ignore[attr-defined]
    assert (stats.sent, stats.suppressed_no_consent, stats.failed, stats.cost_fen) == (2, 1, 0, 10)  # type: ignore[attr-defined]
    # What the provider took: signed requests, mainland numbers, the template and its parameters, our key.
    taken = sorted(stack.sms.accepted, key=lambda p: p["PhoneNumbers"])
    assert [p["PhoneNumbers"] for p in taken] == ["13800138000", "13800138001"]
    assert {p["TemplateCode"] for p in taken} == {TEMPLATE}
    assert json.loads(taken[0]["TemplateParam"]) == {"gift": "拿铁一杯"}
    assert {p["OutId"] for p in taken} == {f"{campaign.id}:m-0", f"{campaign.id}:m-1"}
    assert {a.purpose for a in stack.directory.accesses} == {f"campaign {campaign.id}"}

    order = OrderRecorded(brand_id=b, order_id="o-1", member_id="m-1", store_id="s-1", total_fen=3_200)
    order.occurred_at.FromDatetime(datetime.now(UTC))
    await stack.publish(order, "loyalty")
    stats = await eventually(lambda: stack.client.GetCampaignStats(stats_request),
                         lambda s: s.conversions == 1)  # type: ignore[attr-defined]
    assert (stats.revenue_fen, stats.converted_members) == (3_200, 1)  # type: ignore[attr-defined]
    assert stats.roi == pytest.approx((3_200 - 10) / 10)  # type: ignore[attr-defined]
