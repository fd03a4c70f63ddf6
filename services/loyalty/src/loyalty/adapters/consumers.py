"""Event handlers of the loyalty service; each runs inside the inbox transaction of its event."""

from __future__ import annotations

import asyncpg

from crm.members.v1 import events_pb2 as members_events
from crm_common.consumer import Handler
from crm_common.events import Event, event_type
from loyalty.adapters.repository import LoyaltyRepository

MEMBER_REGISTERED = event_type(members_events.MemberRegistered())


def member_registered_handler(repo: LoyaltyRepository) -> Handler:
    """A handler opening the points account of each newly registered member (idempotent upsert)."""

    async def on_member_registered(conn: asyncpg.Connection, event: Event) -> None:
        payload = event.payload
        if not isinstance(payload, members_events.MemberRegistered):
            return  # the subscription is filtered; anything else is not ours to handle
        brand_id = payload.brand_id or event.brand_id
        if brand_id and payload.member_id:
            await repo.open_account(conn, brand_id, payload.member_id)

    return on_member_registered
