"""The loyalty use cases: record an order (idempotently, crediting points once) and read an account."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import asyncpg

from crm.loyalty.v1 import events_pb2
from crm_common.errors import AlreadyExists, InvalidArgument, NotFound
from crm_common.outbox import PgOutbox
from loyalty.adapters.repository import LoyaltyRepository, StoredOrder
from loyalty.domain.orders import OrderDraft, order_fingerprint, validate_order
from loyalty.domain.program import DEFAULT_PROGRAM, Earning, Program

log = logging.getLogger(__name__)

ORDER_REASON = "ORDER"


class Members(Protocol):
    """What loyalty needs to know from the members service."""

    async def store_exists(self, brand_id: str, store_id: str) -> bool:
        """True when the store belongs to the brand."""
        ...

    async def member_exists(self, brand_id: str, member_id: str) -> bool:
        """True when the member belongs to the brand."""
        ...

    async def member_id_by_phone(self, brand_id: str, phone: str) -> str | None:
        """The brand's member with this phone, if registered."""
        ...


@dataclass(frozen=True)
class MemberPoints:
    """The buyer's account right after the order."""

    member_id: str
    points_balance: int
    tier: str


@dataclass(frozen=True)
class OrderResult:
    """The answer to RecordOrder; stored as JSON so repeats get exactly the first answer."""

    order_id: str
    points_earned: int
    member: MemberPoints | None
    replayed: bool = False

    def to_json(self) -> dict[str, Any]:
        """The stored snapshot (``replayed`` is not part of it: it describes the call, not the order)."""
        return {
            "order_id": self.order_id,
            "points_earned": self.points_earned,
            "member": None if self.member is None else vars(self.member).copy(),
        }

    @classmethod
    def replay(cls, snapshot: dict[str, Any]) -> OrderResult:
        """The first answer, marked as a replay."""
        member = snapshot.get("member")
        return cls(
            order_id=snapshot["order_id"],
            points_earned=int(snapshot["points_earned"]),
            member=MemberPoints(**member) if member else None,
            replayed=True,
        )


@dataclass(frozen=True)
class AccountView:
    """A member's points as shown to clients."""

    member_id: str
    balance: int
    tier: str
    growth_value: int
    expiring: list[tuple[int, datetime]] = field(default_factory=list)


class LoyaltyApp:
    """Orchestrates orders and points; owns no I/O of its own beyond what it is given."""

    def __init__(
        self, pool: asyncpg.Pool, repo: LoyaltyRepository, outbox: PgOutbox, members: Members
    ) -> None:
        self.pool = pool
        self.repo = repo
        self.outbox = outbox
        self.members = members

    def program_for(self, brand_id: str) -> Program:
        """The brand's programme. Every brand runs the default until programme config is stored."""
        return DEFAULT_PROGRAM

    async def record_order(self, order: OrderDraft) -> OrderResult:
        """Record an order and credit its member in one transaction; a repeat replays the first answer.

        Raises InvalidArgument (bad field, unknown store or member) and AlreadyExists (ORDER_CONFLICT:
        the external id was used for other content). Nothing is written when it raises.
        """
        validate_order(order)
        fingerprint = order_fingerprint(order)

        # A plain retry is answered from our own database, even while the members service is away.
        stored = await self.repo.find_order(self.pool, order.brand_id, order.external_id)
        if stored is not None:
            return _replay(stored, fingerprint)

        if not await self.members.store_exists(order.brand_id, order.store_id):
            raise InvalidArgument(
                "store is not a store of this brand", reason="UNKNOWN_STORE", field="store_id"
            )
        member_id = await self._resolve_member(order)

        program = self.program_for(order.brand_id)
        earning = program.earn(order) if member_id else Earning(points=0, growth_value=0)
        recorded_at = datetime.now(UTC)
        occurred_at = order.occurred_at or recorded_at
        order_id = str(uuid.uuid4())

        async with self.pool.acquire() as conn, conn.transaction():
            claimed = await self.repo.insert_order(
                conn,
                order_id=order_id,
                order=order,
                member_id=member_id,
                occurred_at=occurred_at,
                fingerprint=fingerprint,
            )
            if not claimed:
                # Lost a race with a concurrent post of the same external id: its transaction has
                # committed by now (the insert waited for it), so its answer is there to read.
                stored = await self.repo.find_order(conn, order.brand_id, order.external_id)
                if stored is None:  # pragma: no cover - the unique key guarantees a row
                    raise RuntimeError("order vanished after a conflicting insert")
                return _replay(stored, fingerprint)

            member: MemberPoints | None = None
            balance_after = 0
            if member_id:
                # The member may be newer than our MemberRegistered projection: open the account now.
                await self.repo.open_account(conn, order.brand_id, member_id)
                account = await self.repo.lock_account(conn, order.brand_id, member_id)
                balance_after = account.balance + earning.points
                growth_value = account.growth_value + earning.growth_value
                tier = program.tier_for(growth_value)
                if earning.points > 0:
                    entry_id = await self.repo.append_entry(
                        conn,
                        account,
                        delta=earning.points,
                        reason=ORDER_REASON,
                        reference=order_id,
                        balance_after=balance_after,
                    )
                    expires_at = (
                        recorded_at + timedelta(days=program.points_valid_days)
                        if program.points_valid_days is not None
                        else None
                    )
                    await self.repo.add_lot(
                        conn, account, entry_id=entry_id, points=earning.points, expires_at=expires_at
                    )
                await self.repo.update_account(
                    conn, account, balance=balance_after, growth_value=growth_value, tier=tier
                )
                member = MemberPoints(member_id=member_id, points_balance=balance_after, tier=tier)

            result = OrderResult(order_id=order_id, points_earned=earning.points, member=member)
            await self.repo.save_response(conn, order.brand_id, order_id, earning.points, result.to_json())
            await self.outbox.add(
                conn,
                _order_recorded(order, order_id, member_id, occurred_at),
                brand_id=order.brand_id,
                subject=order_id,
            )
            if member_id and earning.points > 0:
                await self.outbox.add(
                    conn,
                    events_pb2.PointsEarned(
                        brand_id=order.brand_id,
                        member_id=member_id,
                        order_id=order_id,
                        points=earning.points,
                        balance_after=balance_after,
                    ),
                    brand_id=order.brand_id,
                    subject=member_id,
                )
        log.info(
            "order recorded",
            extra={"brand_id": order.brand_id, "order_id": order_id, "points": earning.points},
        )
        return result

    async def _resolve_member(self, order: OrderDraft) -> str | None:
        if order.member_id:
            if not await self.members.member_exists(order.brand_id, order.member_id):
                raise InvalidArgument(
                    "member is not a member of this brand", reason="UNKNOWN_MEMBER", field="member_id"
                )
            return order.member_id
        # Not a member (yet): the order is kept without one and earns nothing for now.
        return await self.members.member_id_by_phone(order.brand_id, order.member_phone)

    async def get_points_account(self, brand_id: str, member_id: str) -> AccountView:
        """Balance, tier and growth value of a member; NotFound when the brand has no such member."""
        if not brand_id:
            raise InvalidArgument("brand_id is required", field="brand_id")
        if not member_id:
            raise InvalidArgument("member_id is required", field="member_id")
        account = await self.repo.get_account(brand_id, member_id)
        if account is not None:
            return AccountView(member_id, account.balance, account.tier, account.growth_value)
        # No account yet may just mean MemberRegistered has not arrived: ask the directory before saying no.
        if await self.members.member_exists(brand_id, member_id):
            return AccountView(member_id, 0, self.program_for(brand_id).tier_for(0), 0)
        raise NotFound("no such member in this brand", reason="MEMBER_NOT_FOUND", field="member_id")

    async def open_account(self, conn: asyncpg.Connection, brand_id: str, member_id: str) -> None:
        """Open a newly registered member's account (idempotent), inside the caller's transaction."""
        await self.repo.open_account(conn, brand_id, member_id)


def _replay(stored: StoredOrder, fingerprint: str) -> OrderResult:
    if stored.fingerprint != fingerprint:
        raise AlreadyExists(
            "external_id was already used for an order with other content",
            reason="ORDER_CONFLICT",
            field="external_id",
            details={"order_id": stored.order_id},
        )
    return OrderResult.replay(stored.response)


def _order_recorded(
    order: OrderDraft, order_id: str, member_id: str | None, occurred_at: datetime
) -> events_pb2.OrderRecorded:
    event = events_pb2.OrderRecorded(
        brand_id=order.brand_id,
        order_id=order_id,
        external_id=order.external_id,
        store_id=order.store_id,
        member_id=member_id or "",
        total_fen=order.total_fen,
        item_count=order.item_count,
        lines=[
            events_pb2.OrderLine(
                sku=line.sku, category=line.category, quantity=line.quantity, amount_fen=line.amount_fen
            )
            for line in order.items
        ],
    )
    event.occurred_at.FromDatetime(occurred_at.astimezone(UTC))
    return event
