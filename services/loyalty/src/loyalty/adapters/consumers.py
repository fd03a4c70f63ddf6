"""Event handlers of the loyalty service; each runs inside the inbox transaction of its event."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

import asyncpg

from crm.members.v1 import events_pb2 as members_events
from crm_common.consumer import Handler, route
from crm_common.events import Event, event_type
from loyalty.app.loyalty import LoyaltyApp

MEMBER_REGISTERED = event_type(members_events.MemberRegistered())
MEMBER_MERGED = event_type(members_events.MemberMerged())
MEMBER_ERASED = event_type(members_events.MemberErased())
MEMBER_UPDATED = event_type(members_events.MemberUpdated())
SUBJECTS = [MEMBER_REGISTERED, MEMBER_UPDATED, MEMBER_MERGED, MEMBER_ERASED]


def _birthday(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def members_handler(app: LoyaltyApp) -> Handler:
    """One handler for the members events loyalty follows (registration, profile update, merge, erasure)."""

    def on_profile(kind: type, apply: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        """Registration and update carry the same facts loyalty keeps: the member and their birthday."""

        async def handle(conn: asyncpg.Connection, event: Event) -> None:
            p = event.payload
            assert isinstance(p, kind)
            brand_id = p.brand_id or event.brand_id
            if brand_id and p.member_id:
                await apply(conn, brand_id, p.member_id, _birthday(p.birthday))

        return handle

    async def on_merged(conn: asyncpg.Connection, event: Event) -> None:
        p = event.payload
        assert isinstance(p, members_events.MemberMerged)
        brand_id = p.brand_id or event.brand_id
        if brand_id and p.survivor_member_id and p.merged_member_id:
            await app.member_merged(conn, brand_id, p.survivor_member_id, p.merged_member_id)

    async def on_erased(conn: asyncpg.Connection, event: Event) -> None:
        p = event.payload
        assert isinstance(p, members_events.MemberErased)
        brand_id = p.brand_id or event.brand_id
        if brand_id and p.member_id:
            await app.member_erased(conn, brand_id, p.member_id)

    return route(
        {
            members_events.MemberRegistered: on_profile(members_events.MemberRegistered, app.member_registered),
            members_events.MemberUpdated: on_profile(members_events.MemberUpdated, app.member_updated),
            members_events.MemberMerged: on_merged,
            members_events.MemberErased: on_erased,
        }
    )
