"""Event handlers that keep the audience store current; each runs inside the inbox transaction."""

from __future__ import annotations

import logging
from datetime import UTC, date

import asyncpg

from campaigns.adapters import repository
from campaigns.domain.audience import Order
from crm.loyalty.v1.events_pb2 import OrderRecorded
from crm.members.v1.events_pb2 import MemberRegistered
from crm_common.events import Event

log = logging.getLogger(__name__)



def _birthday(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        # A bad birthday must not block the rest of the profile (the event would be retried forever).
        log.warning("ignoring malformed birthday in MemberRegistered")
        return None


async def on_member_registered(conn: asyncpg.Connection, event: Event) -> None:
    """MemberRegistered → the profile part of the member's row."""
    msg = event.payload
    assert isinstance(msg, MemberRegistered)
    profile = repository.Profile(
        store_id=msg.store_id or None,
        guide_id=msg.guide_id or None,
        gender=msg.gender or None,
        birthday=_birthday(msg.birthday),
        registered_at=msg.registered_at.ToDatetime(tzinfo=UTC) if msg.HasField("registered_at") else None,
        consents=dict(msg.consents),
    )
    await repository.upsert_profile(conn, msg.brand_id or event.brand_id, msg.member_id, profile)


async def on_order_recorded(conn: asyncpg.Connection, event: Event) -> None:
    """OrderRecorded → the member's purchase facts. Orders of non-members have no audience row."""
    msg = event.payload
    assert isinstance(msg, OrderRecorded)
    if not msg.member_id:
        return
    order = Order(occurred_at=msg.occurred_at.ToDatetime(tzinfo=UTC), total_fen=msg.total_fen)
    await repository.apply_order(conn, msg.brand_id or event.brand_id, msg.member_id, order)
