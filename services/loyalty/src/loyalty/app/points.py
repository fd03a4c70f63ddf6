"""Account-level operations shared by the use cases, each inside the caller's transaction with the account
locked: crediting an earning (debt first, then a dated lot, expiry job), spending FIFO, growth and tiers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
from google.protobuf.message import Message

from crm.loyalty.v1 import events_pb2
from crm_common.jobs import JobQueue
from crm_common.outbox import PgOutbox
from loyalty.adapters.repository import Account, LoyaltyRepository
from loyalty.domain.points import TierState, consume_fifo, credit, tier_after_growth, tier_after_refund
from loyalty.domain.program import Program

EXPIRE_JOB = "loyalty.points.expire"
TIER_REVIEW_JOB = "loyalty.tier.review"


@dataclass(frozen=True)
class Credited:
    """The outcome of crediting points: the ledger entry and lot (if any) and how the debt was paid."""

    entry_id: int | None
    lot_id: int | None
    to_debt: int
    to_balance: int


class PointsBook:
    """Moves points on locked accounts, keeping balance = sum(ledger) = sum(live lots)."""

    def __init__(self, repo: LoyaltyRepository, outbox: PgOutbox, jobs: JobQueue) -> None:
        self.repo = repo
        self.outbox = outbox
        self.jobs = jobs

    async def credit(
        self,
        conn: asyncpg.Connection,
        account: Account,
        program: Program,
        *,
        points: int,
        reason: str,
        reference: str,
        at: datetime,
        staff_id: str = "",
        note: str = "",
    ) -> Credited:
        """Credit ``points``: debt is paid off first, the rest becomes a lot expiring per the programme."""
        if points <= 0:
            return Credited(None, None, 0, 0)
        split = credit(points, account.debt)
        entry_id = await self.repo.post(
            conn,
            account,
            delta=split.to_balance,
            debt_delta=-split.to_debt,
            reason=reason,
            reference=reference,
            staff_id=staff_id,
            note=note,
        )
        lot_id = None
        if split.to_balance:
            expires_at = program.expires_at(at)
            lot_id = await self.repo.add_lot(
                conn, account, entry_id=entry_id, points=split.to_balance, earned_at=at, expires_at=expires_at
            )
            if expires_at is not None:
                await self.schedule_expiry(conn, account, expires_at)
        return Credited(entry_id, lot_id, split.to_debt, split.to_balance)

    async def schedule_expiry(self, conn: asyncpg.Connection, account: Account, expires_at: datetime) -> None:
        """One claimed job per (member, expiry moment): lots expiring together expire in one entry."""
        await self.schedule_expiry_at(conn, account.brand_id, account.member_id, expires_at)

    async def schedule_expiry_at(
        self, conn: asyncpg.Connection, brand_id: str, member_id: str, expires_at: datetime
    ) -> None:
        """``schedule_expiry`` without a locked account (the job key makes a second schedule a no-op)."""
        key = f"{brand_id}:{member_id}:{expires_at.isoformat()}"
        await self.jobs.schedule(
            conn, EXPIRE_JOB, expires_at, {"brand_id": brand_id, "member_id": member_id, "key": key}, key=key
        )

    async def spend(
        self,
        conn: asyncpg.Connection,
        account: Account,
        *,
        points: int,
        reason: str,
        reference: str,
        staff_id: str = "",
        note: str = "",
        first_lot: int | None = None,
    ) -> int:
        """Take ``points`` from the balance, oldest lots first (INSUFFICIENT_POINTS when short)."""
        taken = consume_fifo(await self.repo.live_lots(conn, account, first_lot), points)
        await self.repo.take_from_lots(conn, taken)
        return await self.repo.post(
            conn, account, delta=-points, reason=reason, reference=reference, staff_id=staff_id, note=note
        )

    async def retier(
        self, conn: asyncpg.Connection, account: Account, program: Program, *, now: datetime, cause: str
    ) -> None:
        """Re-evaluate the tier after growth changed: ``upgrade`` only raises it (and restarts the rolling
        period), ``refund`` may lower it, but not below the floor kept at the last review."""
        if not program.tiers:
            return
        qualifying = await self.repo.qualifying_growth(conn, account, program, now)
        if cause == "upgrade":
            before = account.tier
            if await self.upgrade_to(conn, account, program, qualifying, now=now):
                await self.tier_changed(conn, account, before, cause)
            return
        names = [t.name for t in program.tiers]
        new = tier_after_refund(names, TierState(account.tier, account.tier_floor), program.tier_for(qualifying))
        if new.tier == account.tier:
            return
        before = account.tier
        account.tier, account.tier_floor = new.tier, new.floor
        await self.tier_changed(conn, account, before, cause)

    async def upgrade_to(
        self, conn: asyncpg.Connection, account: Account, program: Program, qualifying: int, *, now: datetime
    ) -> bool:
        """Raise the tier of a locked account to what ``qualifying`` growth reaches (never lower it), restart
        the rolling period and schedule its review; True when the tier changed. The caller emits
        TierChanged (``tier_changed`` or ``tier_changed_event``) and saves the account."""
        if not program.tiers:
            return False
        names = [t.name for t in program.tiers]
        new = tier_after_growth(names, TierState(account.tier, account.tier_floor), program.tier_for(qualifying))
        if new.tier == account.tier:
            return False
        account.tier, account.tier_floor = new.tier, new.floor
        if program.tier_period_days is not None:
            account.tier_review_at = now + timedelta(days=program.tier_period_days)
            await self.schedule_review(conn, account)
        return True

    async def schedule_review(self, conn: asyncpg.Connection, account: Account) -> None:
        """The downgrade check at the end of the account's rolling period."""
        assert account.tier_review_at is not None
        key = f"{account.brand_id}:{account.member_id}:{account.tier_review_at.isoformat()}"
        await self.jobs.schedule(
            conn,
            TIER_REVIEW_JOB,
            account.tier_review_at,
            {
                "brand_id": account.brand_id,
                "member_id": account.member_id,
                "review_at": account.tier_review_at.isoformat(),
            },
            key=key,
        )

    async def tier_changed(self, conn: asyncpg.Connection, account: Account, before: str, cause: str) -> None:
        """TierChanged through the outbox."""
        await self.outbox.add(
            conn, tier_changed_event(account, before, cause), brand_id=account.brand_id, subject=account.member_id
        )


def tier_changed_event(account: Account, before: str, cause: str) -> events_pb2.TierChanged:
    """TierChanged of ``account`` (whose tier is already the new one)."""
    return events_pb2.TierChanged(
        brand_id=account.brand_id, member_id=account.member_id, from_tier=before, to_tier=account.tier, cause=cause
    )


def outbox_row(
    outbox: PgOutbox, message: Message, brand_id: str, subject: str, trace: str | None = None
) -> tuple[str, str, str, bytes, str]:
    """The outbox row ``PgOutbox.add`` would insert, as values for a statement of our own — so events can
    be written inside a combined statement (one round trip) instead of one INSERT each. ``trace``: the
    command's ``trace_json()``, taken once for all its events."""
    return outbox.row(message, brand_id=brand_id, subject=subject, trace=trace)
