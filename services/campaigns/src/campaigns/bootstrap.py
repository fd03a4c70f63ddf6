"""Composition root of the campaigns service: settings, pool, bus, consumers and the servicer."""

from __future__ import annotations

from importlib import resources

from campaigns.adapters import consumers
from campaigns.adapters.grpc_api import CampaignsServicer
from crm.campaigns.v1 import campaigns_pb2, campaigns_pb2_grpc
from crm.loyalty.v1 import events_pb2 as loyalty_events
from crm.members.v1 import events_pb2 as members_events
from crm_common import pg
from crm_common.bus import EventBus
from crm_common.consumer import EventConsumer, PgInbox, Subscription, subscribe
from crm_common.grpc_server import Service
from crm_common.migrations import migrate_pg
from crm_common.settings import PostgresSettings

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
    """Environment of the campaigns service (``CRM_*``)."""

    service_name: str = "campaigns"


async def migrate(settings: CampaignsSettings) -> None:
    """Apply the platform tables and the audience store schema."""
    await migrate_pg(settings.pg_dsn, MIGRATIONS)


async def build(settings: CampaignsSettings) -> Service:
    """Wire the service; connections are made in ``start`` so health stays NOT_SERVING until they are up."""
    # Created unawaited: the servicer can hold it now, and ``await pool`` in start() connects it.
    pool = pg.create_pool(settings.pg_dsn, min_size=settings.pg_pool_min, max_size=settings.pg_pool_max)
    running: list[EventConsumer] = []
    buses: list[EventBus] = []

    async def start() -> None:
        await pool
        bus = await EventBus.connect(settings.nats_url, name=settings.service_name)
        buses.append(bus)
        running.extend(await subscribe(bus, PgInbox(pool), SUBSCRIPTIONS))

    async def stop() -> None:
        for consumer in running:
            await consumer.stop()
        for bus in buses:
            await bus.close()
        await pool.close()

    servicer = CampaignsServicer(pool)
    full_name = campaigns_pb2.DESCRIPTOR.services_by_name["CampaignsService"].full_name
    return Service(
        name=settings.service_name,
        servicers=[(campaigns_pb2_grpc.add_CampaignsServiceServicer_to_server, servicer, full_name)],
        start=start,
        stop=stop,
    )
