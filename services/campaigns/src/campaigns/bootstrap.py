"""Composition root of the campaigns service: settings, pool, bus, consumers, outbox relay, the send worker,
the message channels and the servicer."""

from __future__ import annotations

from datetime import time
from importlib import resources

from pydantic import Field

from campaigns.adapters import consumers
from campaigns.adapters.channels import ChannelConfig, build_channels
from campaigns.adapters.contacts import MemberContacts
from campaigns.adapters.grpc_api import CampaignsServicer
from campaigns.app.campaigns import SEND_JOB, CampaignsApp
from campaigns.app.journeys import RUN_JOB, JourneysApp
from campaigns.app.segments import SegmentsApp
from campaigns.domain.campaign import FrequencyCap, QuietHours
from crm.campaigns.v1 import campaigns_pb2, campaigns_pb2_grpc
from crm.campaigns.v1 import events_pb2 as campaigns_events  # noqa: F401 - registers the event types
from crm.loyalty.v1 import events_pb2 as loyalty_events
from crm.members.v1 import events_pb2 as members_events
from crm.members.v1.members_pb2_grpc import MembersServiceStub
from crm_common import pg
from crm_common.bus import EventBus
from crm_common.consumer import EventConsumer, PgInbox, Subscription, subscribe
from crm_common.grpc_client import close_all, stub
from crm_common.grpc_server import Service
from crm_common.jobs import JobWorker
from crm_common.migrations import migrate_pg
from crm_common.outbox import OutboxRelay, PgOutbox
from crm_common.settings import PostgresSettings

SERVICE = "campaigns"
MIGRATIONS = resources.files("campaigns") / "migrations"

SUBSCRIPTIONS: list[Subscription] = [
    ("campaigns-members", "members", {
        members_events.MemberRegistered: consumers.on_member_registered,
        members_events.MemberUpdated: consumers.on_member_updated,
        members_events.MemberErased: consumers.on_member_erased,
        members_events.MemberMerged: consumers.on_member_merged,
        members_events.MembersTransferred: consumers.on_members_transferred,
        members_events.StoreCreated: consumers.on_store_created,
        members_events.BrandCreated: consumers.on_brand_created,
    }),
    ("campaigns-orders", "loyalty", {
        loyalty_events.OrderRecorded: consumers.on_order_recorded,
        loyalty_events.OrderRefunded: consumers.on_order_refunded,
        loyalty_events.PointsEarned: consumers.on_points_changed,
        loyalty_events.PointsRedeemed: consumers.on_points_changed,
        loyalty_events.PointsExpired: consumers.on_points_changed,
        loyalty_events.PointsAdjusted: consumers.on_points_changed,
        loyalty_events.TierChanged: consumers.on_tier_changed,
    }),
]


class CampaignsSettings(PostgresSettings):
    """Environment of the campaigns service (``CRM_*``). A channel is offered only when its provider
    credentials are set (``CRM_SMS_ACCESS_KEY_ID``…, ``CRM_WECHAT_APP_ID``…, ``CRM_SMTP_HOST``…)."""

    service_name: str = SERVICE
    sms_endpoint: str = "https://dysmsapi.aliyuncs.com"
    sms_access_key_id: str = ""
    sms_access_key_secret: str = ""
    sms_sign_name: str = ""
    wechat_base_url: str = "https://api.weixin.qq.com"
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    smtp_starttls: bool = True
    # The delivery policy (brand-local quiet hours; the cap counts marketing messages across campaigns).
    quiet_hours_start: time = time(21, 0)
    quiet_hours_end: time = time(9, 0)
    frequency_cap_messages: int = Field(default=2, ge=1)
    frequency_cap_days: int = Field(default=7, ge=1)
    send_batch_size: int = Field(default=50, ge=1)
    send_poll_seconds: float = Field(default=0.5, gt=0)

    def channel_config(self) -> ChannelConfig:
        """The providers' settings for the channel adapters."""
        return ChannelConfig(
            sms_endpoint=self.sms_endpoint, sms_access_key_id=self.sms_access_key_id,
            sms_access_key_secret=self.sms_access_key_secret, sms_sign_name=self.sms_sign_name,
            wechat_base_url=self.wechat_base_url, wechat_app_id=self.wechat_app_id,
            wechat_app_secret=self.wechat_app_secret, smtp_host=self.smtp_host, smtp_port=self.smtp_port,
            smtp_user=self.smtp_user, smtp_password=self.smtp_password, smtp_from=self.smtp_from,
            smtp_starttls=self.smtp_starttls, timeout_seconds=self.rpc_timeout_seconds,
        )


async def migrate(settings: CampaignsSettings) -> None:
    """Apply the platform tables and the campaigns schema."""
    await migrate_pg(settings.pg_dsn, MIGRATIONS)


async def build(settings: CampaignsSettings) -> Service:
    """Wire the service; connections are made in ``start`` so health stays NOT_SERVING until they are up."""
    # Created unawaited: the servicer can hold it now, and ``await pool`` in start() connects it.
    pool = pg.create_pool(settings.pg_dsn, min_size=settings.pg_pool_min, max_size=settings.pg_pool_max)
    members, members_channel = stub(
        MembersServiceStub, settings.members_addr, service="members", timeout=settings.rpc_timeout_seconds
    )
    outbox = PgOutbox(pool, source=SERVICE)
    channels = build_channels(settings.channel_config())
    segments = SegmentsApp(pool)
    campaigns = CampaignsApp(
        pool, outbox, segments, channels, MemberContacts(members),
        quiet_hours=QuietHours(settings.quiet_hours_start, settings.quiet_hours_end),
        frequency_cap=FrequencyCap(settings.frequency_cap_messages, settings.frequency_cap_days),
    )
    journeys = JourneysApp(pool, campaigns)
    worker = JobWorker(pool, {SEND_JOB: campaigns.send, RUN_JOB: journeys.run}, batch_size=settings.send_batch_size,
                       poll_interval=settings.send_poll_seconds)
    running: list[EventConsumer] = []
    buses: list[EventBus] = []
    relays: list[OutboxRelay] = []

    async def start() -> None:
        await pool
        bus = await EventBus.connect(settings.nats_url, name=settings.service_name)
        buses.append(bus)
        await bus.ensure_stream(SERVICE)
        relays.append(OutboxRelay(outbox, bus))
        await relays[0].start()
        running.extend(await subscribe(bus, PgInbox(pool), SUBSCRIPTIONS))
        await worker.start()

    async def stop() -> None:
        # Reverse order of start: the worker's last sends still need the pool; the relay still needs the bus.
        await worker.stop()
        for consumer in running:
            await consumer.stop()
        for relay in relays:
            await relay.stop()
        for bus in buses:
            await bus.close()
        await pool.close()
        for channel in channels.values():
            await channel.close()
        await close_all(members_channel)

    servicer = CampaignsServicer(pool, segments, campaigns, journeys)
    full_name = campaigns_pb2.DESCRIPTOR.services_by_name["CampaignsService"].full_name
    return Service(
        name=settings.service_name,
        servicers=[(campaigns_pb2_grpc.add_CampaignsServiceServicer_to_server, servicer, full_name)],
        start=start,
        stop=stop,
    )
