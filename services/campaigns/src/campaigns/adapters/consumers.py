"""Event handlers that keep the audience store current; each runs inside the inbox transaction.

Profile, tier and balance events carry the whole state they describe, so each is applied only when it is
newer than what is stored (events of one member can arrive late or twice); purchase facts are folded once
per event (the inbox guarantees it) and commute, so their order does not matter.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import asyncpg
from google.protobuf.message import Message

from campaigns.adapters import campaign_store, repository
from campaigns.domain.audience import Order
from crm.loyalty.v1.events_pb2 import (
    OrderRecorded,
    OrderRefunded,
    PointsAdjusted,
    PointsEarned,
    PointsExpired,
    PointsRedeemed,
    TierChanged,
)
from crm.members.v1.events_pb2 import (
    BrandCreated,
    MemberErased,
    MemberMerged,
    MemberRegistered,
    MembersTransferred,
    MemberUpdated,
    StoreCreated,
)
from crm_common.events import Event

log = logging.getLogger(__name__)


def _birthday(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        # A bad birthday must not block the rest of the profile (the event would be retried forever).
        log.warning("ignoring a malformed birthday in a member event")
        return None


def _time(msg: Message, name: str, event: Event) -> datetime:
    """A timestamp field of the payload, or the envelope's time when it is unset."""
    return getattr(msg, name).ToDatetime(tzinfo=UTC) if msg.HasField(name) else event.time


def _brand(msg: Message, event: Event) -> str:
    return getattr(msg, "brand_id", "") or event.brand_id


async def on_member_registered(conn: asyncpg.Connection, event: Event) -> None:
    """MemberRegistered → the profile part of the member's row."""
    msg = event.payload
    assert isinstance(msg, MemberRegistered)
    registered_at = msg.registered_at.ToDatetime(tzinfo=UTC) if msg.HasField("registered_at") else None
    profile = repository.Profile(
        store_id=msg.store_id or None,
        guide_id=msg.guide_id or None,
        gender=msg.gender or None,
        birthday=_birthday(msg.birthday),
        registered_at=registered_at,
        consents=dict(msg.consents),
    )
    await repository.upsert_profile(conn, _brand(msg, event), msg.member_id, profile, registered_at or event.time,
                                    tags=list(msg.tags), attributes=dict(msg.attributes))


async def on_member_updated(conn: asyncpg.Connection, event: Event) -> None:
    """MemberUpdated → the whole profile, tags and custom attributes included."""
    msg = event.payload
    assert isinstance(msg, MemberUpdated)
    profile = repository.Profile(
        store_id=msg.store_id or None,
        guide_id=msg.guide_id or None,
        gender=msg.gender or None,
        birthday=_birthday(msg.birthday),
        registered_at=None,
        consents=dict(msg.consents),
    )
    await repository.upsert_profile(conn, _brand(msg, event), msg.member_id, profile,
                                    _time(msg, "updated_at", event), tags=list(msg.tags),
                                    attributes=dict(msg.attributes))


async def on_member_erased(conn: asyncpg.Connection, event: Event) -> None:
    """MemberErased → the profile goes and the member never selects again."""
    msg = event.payload
    assert isinstance(msg, MemberErased)
    await repository.erase(conn, _brand(msg, event), msg.member_id, _time(msg, "erased_at", event))


async def on_member_merged(conn: asyncpg.Connection, event: Event) -> None:
    """MemberMerged → the merged member's purchase facts move to the survivor."""
    msg = event.payload
    assert isinstance(msg, MemberMerged)
    await repository.merge(conn, _brand(msg, event), msg.survivor_member_id, msg.merged_member_id,
                           _time(msg, "merged_at", event))


async def on_members_transferred(conn: asyncpg.Connection, event: Event) -> None:
    """MembersTransferred → the moved members' store and guide."""
    msg = event.payload
    assert isinstance(msg, MembersTransferred)
    await repository.transfer(conn, _brand(msg, event), list(msg.member_ids), msg.to_store_id or None,
                              msg.to_guide_id or None, event.time)


async def on_store_created(conn: asyncpg.Connection, event: Event) -> None:
    """StoreCreated → the store's location, for distance rules."""
    msg = event.payload
    assert isinstance(msg, StoreCreated)
    location = (msg.lat, msg.lng) if msg.HasField("lat") and msg.HasField("lng") else None
    await repository.upsert_store(conn, _brand(msg, event), msg.store_id, location)


async def on_brand_created(conn: asyncpg.Connection, event: Event) -> None:
    """BrandCreated → the brand's timezone (the calendar its rules count days in)."""
    msg = event.payload
    assert isinstance(msg, BrandCreated)
    try:
        ZoneInfo(msg.timezone)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        log.warning("brand %s has an unknown timezone; the default applies", msg.brand_id)
        return
    await repository.upsert_brand(conn, _brand(msg, event), msg.timezone)


async def _local_day(conn: asyncpg.Connection, brand_id: str, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(await repository.brand_timezone(conn, brand_id))).date()


async def on_order_recorded(conn: asyncpg.Connection, event: Event) -> None:
    """OrderRecorded → the member's purchase facts, spend of the day, and the campaign it is attributed to
    (non-members have no row)."""
    msg = event.payload
    assert isinstance(msg, OrderRecorded)
    if not msg.member_id:
        return
    brand_id = _brand(msg, event)
    order = Order(occurred_at=msg.occurred_at.ToDatetime(tzinfo=UTC), total_fen=msg.total_fen)
    await repository.apply_order(conn, brand_id, msg.member_id, order)
    day = await _local_day(conn, brand_id, order.occurred_at)
    await repository.add_daily_spend(conn, brand_id, msg.member_id, day, msg.total_fen)
    await campaign_store.attribute_order(conn, brand_id, msg.member_id, msg.order_id, msg.total_fen,
                                         order.occurred_at)


async def on_order_refunded(conn: asyncpg.Connection, event: Event) -> None:
    """OrderRefunded → less total spend, and less spend on the refund's day."""
    msg = event.payload
    assert isinstance(msg, OrderRefunded)
    if not msg.member_id or msg.amount_fen <= 0:
        return
    brand_id = _brand(msg, event)
    await repository.apply_refund(conn, brand_id, msg.member_id, msg.amount_fen)
    day = await _local_day(conn, brand_id, _time(msg, "occurred_at", event))
    await repository.add_daily_spend(conn, brand_id, msg.member_id, day, -msg.amount_fen)
    await campaign_store.refund_conversion(conn, brand_id, msg.order_id, msg.amount_fen)


async def on_points_changed(conn: asyncpg.Connection, event: Event) -> None:
    """PointsEarned / Redeemed / Expired / Adjusted → the balance after the change."""
    msg = event.payload
    assert isinstance(msg, PointsEarned | PointsRedeemed | PointsExpired | PointsAdjusted)
    await repository.set_points_balance(conn, _brand(msg, event), msg.member_id, msg.balance_after, event.time)


async def on_tier_changed(conn: asyncpg.Connection, event: Event) -> None:
    """TierChanged → the member's tier ('' means no tier)."""
    msg = event.payload
    assert isinstance(msg, TierChanged)
    await repository.set_tier(conn, _brand(msg, event), msg.member_id, msg.to_tier or None, event.time)
