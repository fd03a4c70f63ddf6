"""Event handlers that build the fact tables; each runs inside the inbox transaction."""

from __future__ import annotations

from datetime import UTC

import asyncpg

from crm.loyalty.v1.events_pb2 import OrderRecorded
from crm.members.v1.events_pb2 import BrandCreated, MemberRegistered
from crm_common.consumer import Handler
from crm_common.events import Event
from reporting.adapters import repository
from reporting.adapters.brands import BrandTimezones
from reporting.domain.calendar import DEFAULT_TIMEZONE, local_date, zone


class FactsProjector:
    """Turns members and loyalty events into facts, with report days in each brand's timezone."""

    def __init__(self, timezones: BrandTimezones) -> None:
        self._timezones = timezones

    def subscriptions(self) -> list[tuple[str, str, dict[type, Handler]]]:
        """(durable consumer, producing service, handler per event type): one durable per stream."""
        return [
            (
                "reporting-members",
                "members",
                {BrandCreated: self.on_brand_created, MemberRegistered: self.on_member_registered},
            ),
            ("reporting-orders", "loyalty", {OrderRecorded: self.on_order_recorded}),
        ]

    async def on_brand_created(self, conn: asyncpg.Connection, event: Event) -> None:
        """BrandCreated → the brand's timezone (authoritative)."""
        msg = event.payload
        assert isinstance(msg, BrandCreated)
        zone(msg.timezone)  # refuse a timezone we could not compute days with, before storing it
        await repository.save_brand(
            conn, msg.brand_id or event.brand_id, msg.timezone or DEFAULT_TIMEZONE, authoritative=True
        )

    async def on_member_registered(self, conn: asyncpg.Connection, event: Event) -> None:
        """MemberRegistered → a registration fact on its brand-local day."""
        msg = event.payload
        assert isinstance(msg, MemberRegistered)
        brand_id = msg.brand_id or event.brand_id
        # A registration without a time is dated by its event, which the producer stamps at commit.
        registered_at = (
            msg.registered_at.ToDatetime(tzinfo=UTC) if msg.HasField("registered_at") else event.time
        )
        timezone = await self._timezones.timezone(conn, brand_id)
        await repository.add_member(
            conn,
            brand_id,
            msg.member_id,
            msg.store_id or None,
            registered_at,
            local_date(registered_at, timezone),
        )

    async def on_order_recorded(self, conn: asyncpg.Connection, event: Event) -> None:
        """OrderRecorded → an order fact and its day's rollup."""
        msg = event.payload
        assert isinstance(msg, OrderRecorded)
        brand_id = msg.brand_id or event.brand_id
        occurred_at = msg.occurred_at.ToDatetime(tzinfo=UTC)
        timezone = await self._timezones.timezone(conn, brand_id)
        await repository.add_order(
            conn,
            repository.OrderFact(
                brand_id=brand_id,
                order_id=msg.order_id,
                store_id=msg.store_id,
                member_id=msg.member_id or None,
                occurred_at=occurred_at,
                local_date=local_date(occurred_at, timezone),
                total_fen=msg.total_fen,
            ),
        )
