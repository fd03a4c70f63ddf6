"""Event handlers that build the fact tables; each runs inside the inbox transaction.

Adding a source (campaign touches, leads, tickets) is one more entry in ``subscriptions`` and one more
fact table with its rollup: the inbox, ordering and rebuild machinery stay the same.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime

import asyncpg
from google.protobuf.timestamp_pb2 import Timestamp

from crm.loyalty.v1.events_pb2 import (
    CouponGranted,
    CouponRedeemed,
    OrderLine,
    OrderRecorded,
    OrderRefunded,
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
)
from crm_common.consumer import Batched, Handler
from crm_common.events import Event
from reporting.adapters import repository
from reporting.adapters.brands import BrandTimezones
from reporting.domain.calendar import DEFAULT_TIMEZONE, local_date, zone

NewBrandHook = Callable[[asyncpg.Connection, str, date], Awaitable[None]]


def _lines(lines: list[OrderLine]) -> tuple[repository.Line, ...]:
    return tuple(repository.Line(ln.sku, ln.category, ln.quantity, ln.amount_fen) for ln in lines)


def _when(stamp: Timestamp, has: bool, event: Event) -> datetime:
    # Events without their own time are dated by the envelope, which the producer stamps at commit.
    return stamp.ToDatetime(tzinfo=UTC) if has else event.time


class FactsProjector:
    """Turns members and loyalty events into facts, with report days in each brand's timezone."""

    def __init__(
        self, timezones: BrandTimezones, *, prefix: str = "reporting", on_new_brand: NewBrandHook | None = None
    ) -> None:
        self._timezones = timezones
        self._prefix = prefix
        self._on_new_brand = on_new_brand

    def subscriptions(self) -> list[tuple[str, str, dict[type, Handler]]]:
        """(durable consumer, producing service, handler per event type): one durable per stream.

        Events of one stream are applied in stream order, so an order's points follow its order fact.
        """
        return [
            (
                f"{self._prefix}-members",
                "members",
                {
                    BrandCreated: self.on_brand_created,
                    MemberRegistered: self.on_member_registered,
                    MemberUpdated: self.on_member_updated,
                    MembersTransferred: self.on_members_transferred,
                    MemberMerged: self.on_member_merged,
                    MemberErased: self.on_member_erased,
                },
            ),
            (
                f"{self._prefix}-orders",
                "loyalty",
                {
                    OrderRecorded: Batched(self.on_orders_recorded),
                    OrderRefunded: self.on_order_refunded,
                    PointsEarned: self.on_points_earned,
                    PointsRedeemed: self.on_points_redeemed,
                    PointsExpired: self.on_points_expired,
                    TierChanged: self.on_tier_changed,
                    CouponGranted: self.on_coupon_granted,
                    CouponRedeemed: self.on_coupon_redeemed,
                },
            ),
        ]

    async def _day(self, conn: asyncpg.Connection, brand_id: str, moment: datetime) -> date:
        return local_date(moment, await self._timezones.timezone(conn, brand_id))

    async def on_brand_created(self, conn: asyncpg.Connection, event: Event) -> None:
        """BrandCreated → the brand's timezone (authoritative)."""
        msg = event.payload
        assert isinstance(msg, BrandCreated)
        zone(msg.timezone)  # refuse a timezone we could not compute days with, before storing it
        brand_id = msg.brand_id or event.brand_id
        self._timezones.forget(brand_id)
        await repository.save_brand(conn, brand_id, msg.timezone or DEFAULT_TIMEZONE, authoritative=True)
        if self._on_new_brand is not None:
            # The daily anomaly scan starts with the brand's first full day.
            await self._on_new_brand(conn, brand_id, await self._day(conn, brand_id, event.time))

    async def on_member_registered(self, conn: asyncpg.Connection, event: Event) -> None:
        """MemberRegistered → a registration fact on its brand-local day, with its store and guide."""
        msg = event.payload
        assert isinstance(msg, MemberRegistered)
        brand_id = msg.brand_id or event.brand_id
        registered_at = _when(msg.registered_at, msg.HasField("registered_at"), event)
        await repository.add_member(
            conn,
            brand_id,
            msg.member_id,
            msg.store_id or None,
            registered_at,
            await self._day(conn, brand_id, registered_at),
            msg.guide_id or None,
        )

    async def on_member_updated(self, conn: asyncpg.Connection, event: Event) -> None:
        """MemberUpdated → the member's owning store and guide now."""
        msg = event.payload
        assert isinstance(msg, MemberUpdated)
        await repository.move_members(
            conn, msg.brand_id or event.brand_id, [msg.member_id], msg.store_id or None, msg.guide_id or None
        )

    async def on_members_transferred(self, conn: asyncpg.Connection, event: Event) -> None:
        """MembersTransferred → the moved members' new store and guide (guide figures follow them)."""
        msg = event.payload
        assert isinstance(msg, MembersTransferred)
        await repository.move_members(
            conn,
            msg.brand_id or event.brand_id,
            list(msg.member_ids),
            msg.to_store_id or None,
            msg.to_guide_id or None,
        )

    async def on_member_merged(self, conn: asyncpg.Connection, event: Event) -> None:
        """MemberMerged → the merged member's facts become the survivor's."""
        msg = event.payload
        assert isinstance(msg, MemberMerged)
        await repository.merge_members(
            conn, msg.brand_id or event.brand_id, msg.survivor_member_id, msg.merged_member_id
        )

    async def on_member_erased(self, conn: asyncpg.Connection, event: Event) -> None:
        """MemberErased → derived scores go; facts hold only opaque ids and amounts, and stay for totals."""
        msg = event.payload
        assert isinstance(msg, MemberErased)
        await repository.forget_member_scores(conn, msg.brand_id or event.brand_id, msg.member_id)

    async def on_orders_recorded(self, conn: asyncpg.Connection, events: Sequence[Event]) -> None:
        """OrderRecorded (a run of them) → order facts, their lines and their days' rollups, in one statement."""
        facts = []
        for event in events:
            msg = event.payload
            assert isinstance(msg, OrderRecorded)
            brand_id = msg.brand_id or event.brand_id
            occurred_at = msg.occurred_at.ToDatetime(tzinfo=UTC)
            facts.append(
                repository.OrderFact(
                    brand_id=brand_id,
                    order_id=msg.order_id,
                    store_id=msg.store_id,
                    member_id=msg.member_id or None,
                    occurred_at=occurred_at,
                    local_date=await self._day(conn, brand_id, occurred_at),
                    total_fen=msg.total_fen,
                    lines=_lines(list(msg.lines)),
                )
            )
        await repository.add_orders(conn, facts)

    async def on_order_refunded(self, conn: asyncpg.Connection, event: Event) -> None:
        """OrderRefunded → a refund fact subtracted on its own day."""
        msg = event.payload
        assert isinstance(msg, OrderRefunded)
        brand_id = msg.brand_id or event.brand_id
        occurred_at = _when(msg.occurred_at, msg.HasField("occurred_at"), event)
        await repository.add_refund(
            conn,
            repository.RefundFact(
                brand_id=brand_id,
                refund_id=msg.refund_id or msg.external_refund_id,
                order_id=msg.order_id,
                store_id=msg.store_id,
                member_id=msg.member_id or None,
                occurred_at=occurred_at,
                local_date=await self._day(conn, brand_id, occurred_at),
                amount_fen=msg.amount_fen,
                lines=_lines(list(msg.lines)),
            ),
        )

    async def on_points_earned(self, conn: asyncpg.Connection, event: Event) -> None:
        """PointsEarned → points issued, on the day and at the store of their order when known."""
        msg = event.payload
        assert isinstance(msg, PointsEarned)
        brand_id = msg.brand_id or event.brand_id
        # Points earned with an order count on the order's day and at its store; others on the day given.
        if not msg.order_id:
            await repository.add_points(conn, brand_id, await self._day(conn, brand_id, event.time), issued=msg.points)
            return
        known = await repository.order_place(conn, brand_id, msg.order_id)
        if known is None:
            # Loyalty publishes an order's points just before the order itself: hold them for add_order.
            await repository.hold_order_points(conn, brand_id, msg.order_id, msg.points)
            return
        await repository.add_points(conn, brand_id, known[1], store_id=known[0], issued=msg.points)

    async def on_points_redeemed(self, conn: asyncpg.Connection, event: Event) -> None:
        """PointsRedeemed → points redeemed that day."""
        msg = event.payload
        assert isinstance(msg, PointsRedeemed)
        brand_id = msg.brand_id or event.brand_id
        await repository.add_points(conn, brand_id, await self._day(conn, brand_id, event.time), redeemed=msg.points)

    async def on_points_expired(self, conn: asyncpg.Connection, event: Event) -> None:
        """PointsExpired → points expired that day."""
        msg = event.payload
        assert isinstance(msg, PointsExpired)
        brand_id = msg.brand_id or event.brand_id
        at = _when(msg.expired_at, msg.HasField("expired_at"), event)
        await repository.add_points(conn, brand_id, await self._day(conn, brand_id, at), expired=msg.points)

    async def on_tier_changed(self, conn: asyncpg.Connection, event: Event) -> None:
        """TierChanged → the member's tier and a dated tier-change fact."""
        msg = event.payload
        assert isinstance(msg, TierChanged)
        brand_id = msg.brand_id or event.brand_id
        day = await self._day(conn, brand_id, event.time)
        await repository.change_tier(
            conn, brand_id, msg.member_id, event.time, day, msg.from_tier, msg.to_tier, msg.cause
        )

    async def on_coupon_granted(self, conn: asyncpg.Connection, event: Event) -> None:
        """CouponGranted → a coupon fact dated by its grant."""
        msg = event.payload
        assert isinstance(msg, CouponGranted)
        brand_id = msg.brand_id or event.brand_id
        await repository.grant_coupon(
            conn, brand_id, msg.coupon_code, msg.template_id, msg.member_id, await self._day(conn, brand_id, event.time)
        )

    async def on_coupon_redeemed(self, conn: asyncpg.Connection, event: Event) -> None:
        """CouponRedeemed → the coupon's redemption day and store."""
        msg = event.payload
        assert isinstance(msg, CouponRedeemed)
        brand_id = msg.brand_id or event.brand_id
        await repository.redeem_coupon(
            conn,
            brand_id,
            msg.coupon_code,
            msg.template_id,
            msg.member_id,
            await self._day(conn, brand_id, event.time),
            msg.store_id,
        )
