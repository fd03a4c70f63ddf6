"""The loyalty use cases for orders and points: record and refund orders, redeem, adjust, award actions,
read accounts and ledgers, the programme, and the timers (expiry, tier review) and member events.

Every command is one transaction: its business rows, its ledger entries and its outbox events commit
together or not at all.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

import asyncpg

from crm.loyalty.v1 import events_pb2
from crm_common.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from crm_common.jobs import JobQueue
from crm_common.outbox import PgOutbox, trace_json
from loyalty.adapters.repository import Account, LoyaltyRepository, StoredOrder
from loyalty.app.points import PointsBook, outbox_row, tier_changed_event
from loyalty.domain.members import MemberInfo, e164
from loyalty.domain.orders import (
    OrderDraft,
    OrderLine,
    canonical_json,
    content_fingerprint,
    order_fingerprint,
    validate_order,
)
from loyalty.domain.points import check_refund, consume_fifo, reverse, tier_at_review
from loyalty.domain.points import credit as credit_split
from loyalty.domain.program import ACTIONS, DEFAULT_PROGRAM, MemberFacts, Program, parse_program

log = logging.getLogger(__name__)

ORDER_REASON = "ORDER"
REFUND_REASON = "REFUND"
REDEMPTION_REASON = "REDEMPTION"
ADJUSTMENT_REASON = "ADJUSTMENT"
EXPIRY_REASON = "EXPIRY"
MAX_KEY = 128
DEFAULT_EXPIRING_DAYS = 30


class Members(Protocol):
    """What loyalty needs to know from the members service."""

    async def store_exists(self, brand_id: str, store_id: str) -> bool:
        """True when the store belongs to the brand."""
        ...

    async def get_member(self, brand_id: str, member_id: str, *, fresh: bool = False) -> MemberInfo | None:
        """The brand's member, if any."""
        ...

    async def member_by_phone(self, brand_id: str, phone: str) -> MemberInfo | None:
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
class OrderCredit:
    """What crediting one order did: earned by the whole order, credited now, and the rows written."""

    points_earned: int
    growth_earned: int
    credited: int
    lot_id: int | None
    entry_id: int | None
    answer: dict[str, Any] | None


@dataclass(frozen=True)
class AccountView:
    """A member's points as shown to clients."""

    member_id: str
    balance: int
    tier: str
    growth_value: int
    expiring: list[tuple[int, datetime]] = field(default_factory=list)
    debt: int = 0


@dataclass(frozen=True)
class RefundLineDraft:
    """A line given back: ``quantity`` units of ``sku``."""

    sku: str
    quantity: int


@dataclass(frozen=True)
class RefundDraft:
    """A refund as posted: of ``amount_fen`` of order ``external_id``, optionally naming lines."""

    brand_id: str
    external_id: str
    external_refund_id: str
    amount_fen: int
    items: tuple[RefundLineDraft, ...] = ()
    occurred_at: datetime | None = None


def keyed(snapshot: dict[str, Any] | None, replayed: bool) -> dict[str, Any]:
    """A stored keyed answer with its ``replayed`` flag."""
    return {**(snapshot or {}), "replayed": replayed}


def require(value: str, name: str, max_len: int = 64) -> None:
    """InvalidArgument naming ``name`` when ``value`` is empty or too long."""
    if not value or not value.strip():
        raise InvalidArgument(f"{name} is required", field=name)
    if len(value) > max_len:
        raise InvalidArgument(f"{name} is longer than {max_len} characters", field=name)


class LoyaltyApp:
    """Orchestrates orders and points; owns no I/O of its own beyond what it is given."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        repo: LoyaltyRepository,
        outbox: PgOutbox,
        members: Members,
        jobs: JobQueue | None = None,
    ) -> None:
        self.pool = pool
        self.repo = repo
        self.outbox = outbox
        self.members = members
        self.jobs = jobs or JobQueue(pool)
        self.book = PointsBook(repo, outbox, self.jobs)
        # Called in the transaction that stores a new programme version (set up by the bootstrap).
        self.program_hooks: list[Callable[[asyncpg.Connection, str, Program], Awaitable[None]]] = []

    # --- orders --------------------------------------------------------------------------------------------

    async def record_order(self, order: OrderDraft) -> OrderResult:
        """Record an order and credit its member in one transaction; a repeat replays the first answer.

        Raises InvalidArgument (bad field, unknown store or member) and AlreadyExists (ORDER_CONFLICT:
        the external id was used for other content). Nothing is written when it raises.
        """
        validate_order(order)
        fingerprint = order_fingerprint(order)

        # A plain retry is answered from our own database, even while the members service is away; a member
        # the directory's events made known here needs no call to it either.
        stored, program, known = await self.repo.find_order_and_program(
            self.pool, order.brand_id, order.external_id, order.member_id
        )
        if stored is not None:
            return _replay(stored, fingerprint)

        if not await self.members.store_exists(order.brand_id, order.store_id):
            raise InvalidArgument("store is not a store of this brand", reason="UNKNOWN_STORE", field="store_id")
        member = known or await self._resolve_member(order)
        member_id = member.member_id if member else None
        if member is None:
            # Keep the phone in one canonical form, so the member who registers with it later matches.
            order = OrderDraft(**{**vars(order), "member_phone": e164(order.member_phone)})

        recorded_at = datetime.now(UTC)
        occurred_at = order.occurred_at or recorded_at
        order_id = str(uuid.uuid4())
        # Everything that does not need the account lock happens before it: the programme is read and the
        # events are built outside the transaction (the programme came with the retry check), the order, its
        # lines, the account and OrderRecorded are one statement, and the expiry job is scheduled before the
        # lock. Under the lock there are two round trips (the FOR UPDATE read and one write statement) and
        # the commit: that is what a hot member's orders queue behind.
        birthday = member.birthday if member else None
        trace = trace_json()  # one trace context for the order's events
        recorded = outbox_row(
            self.outbox, _order_recorded(order, order_id, member_id, occurred_at), order.brand_id, order_id, trace
        )
        no_member = OrderResult(order_id=order_id, points_earned=0, member=None)
        async with self.pool.acquire() as conn, conn.transaction():
            claimed = await self.repo.claim_order(
                conn,
                order_id=order_id,
                order=order,
                member_id=member_id,
                occurred_at=occurred_at,
                fingerprint=fingerprint,
                program_version=program.version,
                birthday=birthday,
                outbox_row=recorded,
                response=no_member.to_json() if member is None else None,
            )
            if not claimed:
                # Lost a race with a concurrent post of the same external id: its transaction has
                # committed by now (the insert waited for it), so its answer is there to read.
                stored = await self.repo.find_order(conn, order.brand_id, order.external_id)
                if stored is None:  # pragma: no cover - the unique key guarantees a row
                    raise RuntimeError("order vanished after a conflicting insert")
                return _replay(stored, fingerprint)
            if member is None:
                result = no_member
            else:
                expiry_scheduled = await self._schedule_expiry_early(conn, program, order, member, recorded_at)
                account = await self.repo.lock_account(conn, order.brand_id, member.member_id)
                credit = await self._credit_order(
                    conn,
                    account,
                    program,
                    order,
                    order_id,
                    occurred_at,
                    recorded_at,
                    birthday=birthday,
                    expiry_scheduled=expiry_scheduled,
                    trace=trace,
                    answer=lambda acct, earned: OrderResult(
                        order_id, earned, MemberPoints(acct.member_id, acct.balance, acct.tier)
                    ).to_json(),
                )
                result = OrderResult.replay(credit.answer or {})
                result = OrderResult(result.order_id, result.points_earned, result.member)
        # Debug, not info: the order is in the database and on the stream, and a line per order at POS rates
        # costs a busy replica a few percent of its CPU.
        log.debug(
            "order recorded", extra={"brand_id": order.brand_id, "order_id": order_id, "points": result.points_earned}
        )
        return result

    async def _schedule_expiry_early(
        self, conn: asyncpg.Connection, program: Program, order: OrderDraft, member: MemberInfo, now: datetime
    ) -> bool:
        """Schedule the expiry job of the lot this order will most likely create, before the account lock.

        The estimate ignores the tier (unknown until the lock); when it says "no points", the credit
        schedules under the lock if it does earn. A job that finds nothing due (the points all paid debt)
        does nothing, so scheduling one too many is harmless.
        """
        expires_at = program.expires_at(now)
        if expires_at is None:
            return False
        estimate = program.earn(order, order.occurred_at or now, MemberFacts(tier="", birthday=member.birthday))
        if estimate.points <= 0:
            return False
        await self.book.schedule_expiry_at(conn, order.brand_id, member.member_id, expires_at)
        return True

    async def _credit_order(
        self,
        conn: asyncpg.Connection,
        account: Account,
        program: Program,
        order: OrderDraft,
        order_id: str,
        occurred_at: datetime,
        now: datetime,
        *,
        refunded_before_fen: int = 0,
        birthday: date | None = None,
        expiry_scheduled: bool = False,
        trace: str | None = None,
        answer: Callable[[Account, int], dict[str, Any]] | None = None,
    ) -> OrderCredit:
        """Earn points and growth for ``order`` on a locked account, written with ONE statement (plus a tier
        change's rare extras). An order attached late may have been refunded in part already: that part is
        not credited (the same rounding as a refund's, so later refunds add up). ``answer`` builds the
        order's first answer from the account after the credit; it is stored in the same statement."""
        birthday = birthday or account.birthday
        earning = program.earn(order, occurred_at, MemberFacts(tier=account.tier, birthday=birthday))
        total = order.total_fen
        reversed_points = earning.points * refunded_before_fen // total if total else 0
        reversed_growth = earning.growth_value * refunded_before_fen // total if total else 0
        points = max(earning.points - reversed_points, 0)
        growth = earning.growth_value - reversed_growth
        split = credit_split(points, account.debt)
        account.balance += split.to_balance
        account.debt -= split.to_debt
        account.growth_value = max(account.growth_value + growth, 0)
        expires_at = program.expires_at(now) if split.to_balance else None
        if expires_at is not None and not expiry_scheduled:
            await self.book.schedule_expiry(conn, account, expires_at)
        # The tier decision needs the growth that counts, which includes this order's (not yet written).
        events = []
        if program.tiers:
            qualifying = await self.repo.qualifying_growth(conn, account, program, now)
            if program.tier_period_days is not None:
                qualifying += growth
            before = account.tier
            if await self.book.upgrade_to(conn, account, program, qualifying, now=now):
                events.append(tier_changed_event(account, before, "upgrade"))
        if points > 0:
            events.append(
                events_pb2.PointsEarned(
                    brand_id=account.brand_id,
                    member_id=account.member_id,
                    order_id=order_id,
                    points=points,
                    balance_after=account.balance,
                )
            )
        snapshot = answer(account, earning.points) if answer else None
        entry_id, lot_id = await self.repo.write_order_credit(
            conn,
            account,
            order_id=order_id,
            to_balance=split.to_balance,
            to_debt=split.to_debt,
            growth=growth,
            at=now,
            expires_at=expires_at,
            points_earned=earning.points,
            growth_earned=earning.growth_value,
            birthday=birthday,
            response=snapshot,
            outbox_rows=[outbox_row(self.outbox, e, account.brand_id, account.member_id, trace) for e in events],
        )
        return OrderCredit(earning.points, earning.growth_value, points, lot_id, entry_id, snapshot)

    async def _open_and_lock(
        self, conn: asyncpg.Connection, brand_id: str, member_id: str, birthday: date | None = None
    ) -> Account:
        # The member may be newer than our MemberRegistered projection: open the account now.
        await self.repo.open_account(conn, brand_id, member_id, birthday)
        return await self.repo.lock_account(conn, brand_id, member_id)

    async def _resolve_member(self, order: OrderDraft) -> MemberInfo | None:
        if order.member_id:
            member = await self.members.get_member(order.brand_id, order.member_id)
            if member is None:
                raise InvalidArgument(
                    "member is not a member of this brand", reason="UNKNOWN_MEMBER", field="member_id"
                )
            return member
        # Not a member (yet): the order is kept without one and earns when the phone's owner registers.
        return await self.members.member_by_phone(order.brand_id, order.member_phone)

    # --- refunds -------------------------------------------------------------------------------------------

    async def refund_order(self, refund: RefundDraft) -> dict[str, Any]:
        """Refund (part of) an order, reversing its points and growth proportionally; idempotent by
        ``external_refund_id``. See ``loyalty.domain.points`` for the debt policy."""
        require(refund.brand_id, "brand_id")
        require(refund.external_id, "external_id")
        require(refund.external_refund_id, "external_refund_id")
        if refund.amount_fen < 0:
            raise InvalidArgument("amount_fen must not be negative", field="amount_fen")
        for i, line in enumerate(refund.items):
            require(line.sku, f"items[{i}].sku")
            if line.quantity <= 0:
                raise InvalidArgument("quantity must be greater than 0", field=f"items[{i}].quantity")
        fingerprint = content_fingerprint(
            {
                "external_id": refund.external_id,
                "amount_fen": refund.amount_fen,
                "items": [[line.sku, line.quantity] for line in refund.items],
            }
        )
        now = datetime.now(UTC)
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                return await self._refund(conn, refund, fingerprint, now)
        except asyncpg.UniqueViolationError:
            # The same external_refund_id was used concurrently for another order of the brand.
            raise AlreadyExists(
                "external_refund_id was already used", reason="REFUND_CONFLICT", field="external_refund_id"
            ) from None

    async def _refund(
        self, conn: asyncpg.Connection, refund: RefundDraft, fingerprint: str, now: datetime
    ) -> dict[str, Any]:
        order = await self.repo.lock_order(conn, refund.brand_id, refund.external_id)
        if order is None:
            raise NotFound("no such order in this brand", reason="ORDER_NOT_FOUND", field="external_id")
        previous = await conn.fetchrow(
            "SELECT order_id, fingerprint, response FROM refunds WHERE brand_id = $1 AND external_refund_id = $2",
            refund.brand_id,
            refund.external_refund_id,
        )
        if previous is not None:
            if previous["fingerprint"] != fingerprint or previous["order_id"] != order["id"]:
                raise AlreadyExists(
                    "external_refund_id was already used for another refund",
                    reason="REFUND_CONFLICT",
                    field="external_refund_id",
                )
            return keyed(json.loads(previous["response"]), True)
        check_refund(order["total_fen"], order["refunded_fen"], refund.amount_fen)
        lines = await self._refund_lines(conn, order["id"], refund.items)

        refund_id = str(uuid.uuid4())
        points = growth = to_debt = excused = 0
        member_out = None
        member_id = order["member_id"]
        if member_id:
            account = await self.repo.lock_account(conn, refund.brand_id, member_id)
            program = await self.repo.current_program(conn, refund.brand_id)
            lot = None
            if order["lot_id"] is not None:
                lot = await conn.fetchrow("SELECT remaining, expired FROM points_lots WHERE id = $1", order["lot_id"])
            reversal = reverse(
                earned_points=order["points_earned"],
                earned_growth=order["growth_earned"],
                refunded_before_fen=order["refunded_fen"],
                refund_fen=refund.amount_fen,
                total_fen=order["total_fen"],
                balance=account.balance,
                expired_unexcused=(lot["expired"] - order["points_excused"]) if lot else 0,
            )
            points, growth, to_debt, excused = reversal.points, reversal.growth, reversal.to_debt, reversal.excused
            if reversal.points:
                # The order's own lot goes first: those are the points this refund takes back.
                taken = consume_fifo(await self.repo.live_lots(conn, account, order["lot_id"]), reversal.from_balance)
                await self.repo.take_from_lots(conn, taken)
                await self.repo.post(
                    conn,
                    account,
                    delta=-reversal.from_balance,
                    debt_delta=reversal.to_debt,
                    reason=REFUND_REASON,
                    reference=refund_id,
                    note=f"order {order['id']}",
                )
            await self.repo.add_growth(conn, account, delta=-growth, reason=REFUND_REASON, reference=refund_id, at=now)
            await self.book.retier(conn, account, program, now=now, cause="refund")
            await self.repo.save_account(conn, account)
            member_out = {"member_id": member_id, "points_balance": account.balance, "tier": account.tier}

        await conn.execute(
            "UPDATE orders SET refunded_fen = refunded_fen + $2, points_reversed = points_reversed + $3,"
            " points_excused = points_excused + $4, growth_reversed = growth_reversed + $5 WHERE id = $1",
            order["id"],
            refund.amount_fen,
            points,
            excused,
            growth,
        )
        response = {
            "refund_id": refund_id,
            "points_reversed": points,
            "growth_reversed": growth,
            "debt_added": to_debt,
            "member": member_out,
        }
        await conn.execute(
            "INSERT INTO refunds (id, brand_id, order_id, external_refund_id, fingerprint, amount_fen, response)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
            refund_id,
            refund.brand_id,
            order["id"],
            refund.external_refund_id,
            fingerprint,
            refund.amount_fen,
            json.dumps(response),
        )
        event = events_pb2.OrderRefunded(
            brand_id=refund.brand_id,
            order_id=order["id"],
            external_id=order["external_id"],
            refund_id=refund_id,
            external_refund_id=refund.external_refund_id,
            store_id=order["store_id"],
            member_id=member_id or "",
            amount_fen=refund.amount_fen,
            points_reversed=points,
            lines=[events_pb2.OrderLine(sku=sku, category=cat, quantity=q, amount_fen=a) for sku, cat, q, a in lines],
        )
        event.occurred_at.FromDatetime(refund.occurred_at or now)
        await self.outbox.add(conn, event, brand_id=refund.brand_id, subject=order["id"])
        return keyed(response, False)

    async def _refund_lines(
        self, conn: asyncpg.Connection, order_id: str, items: tuple[RefundLineDraft, ...]
    ) -> list[tuple[str, str, int, int]]:
        """Mark refunded quantities on the order's lines (never more than bought); return the refunded
        lines as (sku, category, quantity, amount share)."""
        if not items:
            return []
        wanted: dict[str, int] = defaultdict(int)
        for line in items:
            wanted[line.sku] += line.quantity
        out = []
        rows = await self.repo.order_items(conn, order_id)
        for i, (sku, quantity) in enumerate(wanted.items()):
            left = quantity
            for row in rows:
                if row["sku"] != sku or left == 0:
                    continue
                take = min(left, row["quantity"] - row["refunded_quantity"])
                if take <= 0:
                    continue
                await conn.execute(
                    "UPDATE order_items SET refunded_quantity = refunded_quantity + $3"
                    " WHERE order_id = $1 AND line_no = $2",
                    order_id,
                    row["line_no"],
                    take,
                )
                out.append((sku, row["category"], take, row["amount_fen"] * take // row["quantity"]))
                left -= take
            if left:
                raise Conflict(
                    "more units refunded than are left on the order",
                    reason="REFUND_EXCEEDS_ORDER",
                    field=f"items[{i}].quantity",
                )
        return out

    # --- points commands -----------------------------------------------------------------------------------

    async def _keyed(
        self, conn: asyncpg.Connection, brand_id: str, scope: str, key: str, content: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Claim an idempotency key; the stored answer when it is a repeat, None when this call is first."""
        require(key, "idempotency_key", MAX_KEY)
        row = await self.repo.claim_key(conn, brand_id, scope, key, content_fingerprint(content))
        if row is None:
            return None
        if row["fingerprint"] != content_fingerprint(content):
            raise AlreadyExists(
                "the Idempotency-Key was already used for a different request",
                reason="IDEMPOTENCY_CONFLICT",
                field="idempotency_key",
            )
        return keyed(json.loads(row["response"]) if row["response"] else {}, True)

    async def redeem_points(
        self, brand_id: str, member_id: str, points: int, reason: str, key: str, reference: str = ""
    ) -> dict[str, Any]:
        """Spend points (gift in the points mall, points as payment); never below zero."""
        require(brand_id, "brand_id")
        require(member_id, "member_id")
        require(reason, "reason", 200)
        if points <= 0:
            raise InvalidArgument("points must be greater than 0", field="points")
        content = {"member_id": member_id, "points": points, "reason": reason, "reference": reference}
        async with self.pool.acquire() as conn, conn.transaction():
            replay = await self._keyed(conn, brand_id, "redeem", key, content)
            if replay is not None:
                return replay
            account = await self._locked_existing(conn, brand_id, member_id, points)
            entry_id = await self.book.spend(
                conn, account, points=points, reason=REDEMPTION_REASON, reference=f"redeem:{key}", note=reason
            )
            await self.repo.save_account(conn, account)
            await self.outbox.add(
                conn,
                events_pb2.PointsRedeemed(
                    brand_id=brand_id,
                    member_id=member_id,
                    points=points,
                    balance_after=account.balance,
                    reason=reason,
                    reference=reference or key,
                ),
                brand_id=brand_id,
                subject=member_id,
            )
            response = {"balance": account.balance, "debt": account.debt, "delta": -points, "ledger_entry_id": entry_id}
            await self.repo.save_key_response(conn, brand_id, "redeem", key, response)
        return keyed(response, False)

    async def _locked_existing(self, conn: asyncpg.Connection, brand_id: str, member_id: str, need: int) -> Account:
        exists = await conn.fetchval(
            "SELECT 1 FROM points_accounts WHERE brand_id = $1 AND member_id = $2", brand_id, member_id
        )
        if not exists:
            # No account: nothing was ever earned, so any spend is short (the member may exist or not).
            raise Conflict("not enough points", reason="INSUFFICIENT_POINTS", field="points", details={"balance": 0})
        account = await self.repo.lock_account(conn, brand_id, member_id)
        if account.balance < need:
            raise Conflict(
                "not enough points", reason="INSUFFICIENT_POINTS", field="points", details={"balance": account.balance}
            )
        return account

    async def adjust_points(
        self, brand_id: str, member_id: str, delta: int, staff_id: str, reason: str, key: str
    ) -> dict[str, Any]:
        """A staff correction; the ledger entry names the staff member. Never below zero."""
        require(brand_id, "brand_id")
        require(member_id, "member_id")
        require(staff_id, "staff_id")
        require(reason, "reason", 200)
        if delta == 0:
            raise InvalidArgument("delta must not be 0", field="delta")
        content = {"member_id": member_id, "delta": delta, "reason": reason, "staff_id": staff_id}
        now = datetime.now(UTC)
        async with self.pool.acquire() as conn, conn.transaction():
            replay = await self._keyed(conn, brand_id, "adjust", key, content)
            if replay is not None:
                return replay
            reference = f"adjust:{key}"
            if delta > 0:
                if await self.members.get_member(brand_id, member_id) is None:
                    raise NotFound("no such member in this brand", reason="MEMBER_NOT_FOUND", field="member_id")
                account = await self._open_and_lock(conn, brand_id, member_id)
                program = await self.repo.current_program(conn, brand_id)
                credited = await self.book.credit(
                    conn,
                    account,
                    program,
                    points=delta,
                    reason=ADJUSTMENT_REASON,
                    reference=reference,
                    at=now,
                    staff_id=staff_id,
                    note=reason,
                )
                entry_id = credited.entry_id
            else:
                account = await self._locked_existing(conn, brand_id, member_id, -delta)
                entry_id = await self.book.spend(
                    conn,
                    account,
                    points=-delta,
                    reason=ADJUSTMENT_REASON,
                    reference=reference,
                    staff_id=staff_id,
                    note=reason,
                )
            await self.repo.save_account(conn, account)
            await self.outbox.add(
                conn,
                events_pb2.PointsAdjusted(
                    brand_id=brand_id,
                    member_id=member_id,
                    delta=delta,
                    balance_after=account.balance,
                    staff_id=staff_id,
                    reason=reason,
                ),
                brand_id=brand_id,
                subject=member_id,
            )
            response = {"balance": account.balance, "debt": account.debt, "delta": delta, "ledger_entry_id": entry_id}
            await self.repo.save_key_response(conn, brand_id, "adjust", key, response)
        return keyed(response, False)

    async def award_action(self, brand_id: str, member_id: str, action: str, reference: str) -> dict[str, Any]:
        """Points for a non-purchase action, once per (action, reference) — e.g. one sign-in per day."""
        require(brand_id, "brand_id")
        require(member_id, "member_id")
        if action not in ACTIONS:
            raise InvalidArgument(f"action must be one of {', '.join(ACTIONS)}", field="action")
        if action == "registration":
            reference = member_id  # once per member, whatever the caller says
        require(reference, "reference", MAX_KEY)
        if await self.members.get_member(brand_id, member_id) is None:
            raise NotFound("no such member in this brand", reason="MEMBER_NOT_FOUND", field="member_id")
        async with self.pool.acquire() as conn, conn.transaction():
            return await self.award_action_in(conn, brand_id, member_id, action, reference)

    async def award_action_in(
        self, conn: asyncpg.Connection, brand_id: str, member_id: str, action: str, reference: str
    ) -> dict[str, Any]:
        """``award_action`` inside the caller's transaction (also used by the MemberRegistered handler)."""
        account = await self._open_and_lock(conn, brand_id, member_id)
        reason = f"ACTION_{action.upper()}"
        previous = await conn.fetchrow(
            "SELECT id, delta, debt_delta FROM points_ledger WHERE brand_id = $1 AND member_id = $2 AND reason = $3"
            " AND reference = $4",
            brand_id,
            member_id,
            reason,
            reference,
        )
        if previous is not None:
            return {
                "balance": account.balance,
                "debt": account.debt,
                "delta": previous["delta"] - previous["debt_delta"],
                "ledger_entry_id": previous["id"],
                "replayed": True,
            }
        program = await self.repo.current_program(conn, brand_id)
        points = program.action_points.get(action, 0)
        if points <= 0:
            raise Conflict(
                "the programme gives no points for this action", reason="ACTION_NOT_REWARDED", field="action"
            )
        credited = await self.book.credit(
            conn, account, program, points=points, reason=reason, reference=reference, at=datetime.now(UTC)
        )
        await self.repo.save_account(conn, account)
        await self.outbox.add(
            conn,
            events_pb2.PointsEarned(
                brand_id=brand_id, member_id=member_id, points=points, balance_after=account.balance
            ),
            brand_id=brand_id,
            subject=member_id,
        )
        return {
            "balance": account.balance,
            "debt": account.debt,
            "delta": points,
            "ledger_entry_id": credited.entry_id,
            "replayed": False,
        }

    # --- reads ---------------------------------------------------------------------------------------------

    async def get_points_account(self, brand_id: str, member_id: str, within_days: int = 0) -> AccountView:
        """Balance, tier and growth value of a member; NotFound when the brand has no such member."""
        require(brand_id, "brand_id")
        require(member_id, "member_id")
        account = await self.repo.get_account(brand_id, member_id)
        if account is not None:
            until = datetime.now(UTC) + timedelta(days=within_days or DEFAULT_EXPIRING_DAYS)
            expiring = await self.repo.expiring(brand_id, member_id, until)
            return AccountView(member_id, account.balance, account.tier, account.growth_value, expiring, account.debt)
        # No account yet may just mean MemberRegistered has not arrived: ask the directory before saying no.
        if await self.members.get_member(brand_id, member_id) is not None:
            return AccountView(member_id, 0, "", 0)
        raise NotFound("no such member in this brand", reason="MEMBER_NOT_FOUND", field="member_id")

    async def ledger(self, brand_id: str, member_id: str, cursor: str, limit: int) -> tuple[list[asyncpg.Record], str]:
        """A page of the member's ledger, newest first, and the cursor of the next page ("" at the end)."""
        require(brand_id, "brand_id")
        require(member_id, "member_id")
        limit = min(max(limit or 50, 1), 200)
        try:
            before = int(cursor) if cursor else None
        except ValueError:
            raise InvalidArgument("cursor is not valid", field="cursor") from None
        rows = await self.repo.ledger_page(brand_id, member_id, before, limit + 1)
        if not rows and before is None and await self.repo.get_account(brand_id, member_id) is None:
            if await self.members.get_member(brand_id, member_id) is None:
                raise NotFound("no such member in this brand", reason="MEMBER_NOT_FOUND", field="member_id")
        next_cursor = str(rows[limit - 1]["id"]) if len(rows) > limit else ""
        return list(rows[:limit]), next_cursor

    async def member_orders(
        self, brand_id: str, member_id: str, cursor: str, limit: int
    ) -> tuple[list[asyncpg.Record], str]:
        """A page of the member's orders, newest first, and the cursor of the next page ("" at the end).

        The cursor is an opaque keyset position (occurred_at, order id), so pages stay stable while new
        orders arrive; orders kept for a phone appear once they are attached to the member.
        """
        require(brand_id, "brand_id")
        require(member_id, "member_id")
        if limit < 0:
            raise InvalidArgument("limit must not be negative", field="limit")
        limit = min(limit or 20, 100)
        after = _decode_order_cursor(cursor) if cursor else None
        rows = await self.repo.member_orders_page(brand_id, member_id, after, limit + 1)
        if not rows and after is None and await self.repo.get_account(brand_id, member_id) is None:
            # Nothing here may just mean a member with no orders yet: ask the directory before saying no.
            if await self.members.get_member(brand_id, member_id) is None:
                raise NotFound("no such member in this brand", reason="MEMBER_NOT_FOUND", field="member_id")
        page = list(rows[:limit])
        next_cursor = _encode_order_cursor(page[-1]["occurred_at"], page[-1]["id"]) if len(rows) > limit else ""
        return page, next_cursor

    async def order_totals(self, brand_id: str) -> dict[str, int]:
        """All-time order and refund totals of the brand (what reporting reconciles against)."""
        require(brand_id, "brand_id")
        row = await self.repo.order_totals(brand_id)
        return {k: int(row[k]) for k in ("orders", "total_fen", "refunds", "refunded_fen")}

    # --- programme -----------------------------------------------------------------------------------------

    async def get_program(self, brand_id: str) -> dict[str, Any]:
        """The programme in force: version 0 is the built-in default."""
        require(brand_id, "brand_id")
        row = await self.repo.program_row(brand_id)
        if row is None:
            return {"version": 0, "config": DEFAULT_PROGRAM.to_json(), "updated_by": "", "updated_at": None}
        return {
            "version": row["version"],
            "config": json.loads(row["config"]),
            "updated_by": row["created_by"],
            "updated_at": row["created_at"],
        }

    async def put_program(self, brand_id: str, config_json: str, staff_id: str) -> dict[str, Any]:
        """Store a new version of the programme (validated); orders from now on earn under it."""
        require(brand_id, "brand_id")
        try:
            doc = json.loads(config_json)
        except ValueError:
            raise InvalidArgument("config is not JSON", field="config_json") from None
        program = parse_program(doc)
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self.repo.store_program(conn, brand_id, program.to_json(), staff_id)
            for hook in self.program_hooks:  # e.g. start the brand's daily birthday-gift job
                await hook(conn, brand_id, program)
        return {
            "version": row["version"],
            "config": json.loads(row["config"]),
            "updated_by": row["created_by"],
            "updated_at": row["created_at"],
        }

    # --- timers --------------------------------------------------------------------------------------------

    async def expire_points(self, conn: asyncpg.Connection, payload: dict[str, Any]) -> None:
        """Job: expire the member's lots that are due, as one ledger entry, and emit PointsExpired."""
        brand_id, member_id = payload["brand_id"], payload["member_id"]
        account = await self.repo.lock_account(conn, brand_id, member_id)
        now = datetime.now(UTC)
        # The sub-select reads each lot's remaining before the update zeroes it.
        expired = int(
            await conn.fetchval(
                "WITH due AS (UPDATE points_lots l SET expired = l.expired + d.remaining, remaining = 0"
                " FROM (SELECT id, remaining FROM points_lots WHERE brand_id = $1 AND member_id = $2 AND remaining > 0"
                " AND expires_at <= $3) d WHERE l.id = d.id RETURNING d.remaining)"
                " SELECT coalesce(sum(remaining), 0) FROM due",
                brand_id,
                member_id,
                now,
            )
        )
        if expired <= 0:
            return
        await self.repo.post(conn, account, delta=-expired, reason=EXPIRY_REASON, reference=payload["key"])
        await self.repo.save_account(conn, account)
        event = events_pb2.PointsExpired(
            brand_id=brand_id, member_id=member_id, points=expired, balance_after=account.balance
        )
        event.expired_at.FromDatetime(now)
        await self.outbox.add(conn, event, brand_id=brand_id, subject=member_id)

    async def review_tier(self, conn: asyncpg.Connection, payload: dict[str, Any]) -> None:
        """Job: end of a rolling period — the tier becomes what the period's growth reached."""
        brand_id, member_id = payload["brand_id"], payload["member_id"]
        account = await self.repo.lock_account(conn, brand_id, member_id)
        due = datetime.fromisoformat(payload["review_at"])
        if account.tier_review_at is None or account.tier_review_at != due:
            return  # an upgrade moved the review since this job was scheduled: that newer job decides
        program = await self.repo.current_program(conn, brand_id)
        now = datetime.now(UTC)
        reached = program.tier_for(await self.repo.qualifying_growth(conn, account, program, now))
        state = tier_at_review(reached)
        before = account.tier
        account.tier, account.tier_floor = state.tier, state.floor
        account.tier_review_at = None
        if state.tier and program.tier_period_days is not None:
            account.tier_review_at = now + timedelta(days=program.tier_period_days)
            await self.book.schedule_review(conn, account)
        await self.repo.save_account(conn, account)
        if before != account.tier:
            await self.book.tier_changed(
                conn,
                account,
                before,
                "downgrade" if program.tier_rank(account.tier) < program.tier_rank(before) else "upgrade",
            )

    # --- member events -------------------------------------------------------------------------------------

    async def member_registered(
        self, conn: asyncpg.Connection, brand_id: str, member_id: str, birthday: date | None
    ) -> None:
        """Open the account (idempotent), credit registration points if the programme gives any, and
        attach orders taken for the member's phone before they registered."""
        await self.repo.member_known(conn, brand_id, member_id, birthday)
        program = await self.repo.current_program(conn, brand_id)
        if program.action_points.get("registration", 0) > 0:
            await self.award_action_in(conn, brand_id, member_id, "registration", member_id)
        pending = await conn.fetchval(
            "SELECT 1 FROM orders WHERE brand_id = $1 AND member_id IS NULL AND member_phone IS NOT NULL LIMIT 1",
            brand_id,
        )
        if not pending:
            return
        # The event carries only a keyed hash of the phone; ask the directory for the phone itself.
        member = await self.members.get_member(brand_id, member_id, fresh=True)
        if member is None or not member.phone:
            return
        await self.attach_orders(conn, brand_id, member_id, e164(member.phone))

    async def member_updated(
        self, conn: asyncpg.Connection, brand_id: str, member_id: str, birthday: date | None
    ) -> None:
        """The directory updated a member's profile: the member is known here (their orders need no call to
        the directory) and a birthday it carries is taken now, so the birthday bonus and the birthday gift job
        see it before the member's next order. No birthday in the update keeps the one we have."""
        await self.repo.member_known(conn, brand_id, member_id, birthday)

    async def attach_orders(self, conn: asyncpg.Connection, brand_id: str, member_id: str, phone: str) -> int:
        """Give the member the orders kept for their phone, crediting what is left of each after refunds."""
        orders = await conn.fetch(
            "SELECT * FROM orders WHERE brand_id = $1 AND member_id IS NULL AND member_phone = $2"
            " ORDER BY occurred_at FOR UPDATE",
            brand_id,
            phone,
        )
        if not orders:
            return 0
        account = await self._open_and_lock(conn, brand_id, member_id)
        program = await self.repo.current_program(conn, brand_id)
        now = datetime.now(UTC)
        for row in orders:
            items = await self.repo.order_items(conn, row["id"])
            draft = OrderDraft(
                brand_id=brand_id,
                external_id=row["external_id"],
                store_id=row["store_id"],
                member_id=member_id,
                occurred_at=row["occurred_at"],
                total_fen=row["total_fen"],
                items=tuple(
                    OrderLine(sku=i["sku"], quantity=i["quantity"], amount_fen=i["amount_fen"], category=i["category"])
                    for i in items
                ),
            )
            c = await self._credit_order(
                conn,
                account,
                program,
                draft,
                row["id"],
                row["occurred_at"],
                now,
                refunded_before_fen=row["refunded_fen"],
                # The answer stored when the order was taken said "member": null; a POS or member-app retry
                # should see the member now. It is re-stored as of the attachment (not computed live at
                # each replay), so every replay of the order stays the same answer.
                answer=lambda acct, earned, order_id=row["id"]: OrderResult(
                    order_id, earned, MemberPoints(acct.member_id, acct.balance, acct.tier)
                ).to_json(),
            )
            points, growth, credited, lot_id = c.points_earned, c.growth_earned, c.credited, c.lot_id
            # What earlier refunds would have reversed counts as reversed, so later refunds stay proportional.
            await conn.execute(
                "UPDATE orders SET member_id = $2, member_phone = NULL, points_earned = $3, growth_earned = $4,"
                " lot_id = $5, points_reversed = $3::bigint - $6::bigint WHERE id = $1",
                row["id"],
                member_id,
                points,
                growth,
                lot_id,
                credited,
            )
        await self.repo.save_account(conn, account)
        return len(orders)

    async def member_erased(self, conn: asyncpg.Connection, brand_id: str, member_id: str) -> None:
        """PIPL erasure: drop personal data loyalty holds (phones kept on orders, the birthday)."""
        await conn.execute(
            "UPDATE orders SET member_phone = NULL WHERE brand_id = $1 AND member_id = $2", brand_id, member_id
        )
        # Kept as a tombstone: never known again, so a late profile event cannot bring the member back.
        await conn.execute(
            "INSERT INTO points_accounts (brand_id, member_id, member_erased_at) VALUES ($1, $2, now())"
            " ON CONFLICT (brand_id, member_id) DO UPDATE SET birthday = NULL, member_known_at = NULL,"
            " member_erased_at = coalesce(points_accounts.member_erased_at, now())",
            brand_id,
            member_id,
        )

    async def member_merged(self, conn: asyncpg.Connection, brand_id: str, survivor: str, merged: str) -> None:
        """Move the merged member's points, debt, lots, growth, orders, coupons and wallet to the survivor.

        Idempotent twice over: the inbox row, and ``merged_into`` on the merged account.
        """
        if survivor == merged:
            return
        for member_id in sorted((survivor, merged)):  # a fixed lock order: no deadlock with a reverse merge
            await self.repo.open_account(conn, brand_id, member_id)
            await conn.execute(
                "SELECT 1 FROM points_accounts WHERE brand_id = $1 AND member_id = $2 FOR UPDATE", brand_id, member_id
            )
        src = await self.repo.lock_account(conn, brand_id, merged)
        dst = await self.repo.lock_account(conn, brand_id, survivor)
        if await conn.fetchval(
            "SELECT merged_into FROM points_accounts WHERE brand_id = $1 AND member_id = $2", brand_id, merged
        ):
            return
        moved_points, moved_debt = src.balance, src.debt
        if moved_points or moved_debt:
            await self.repo.post(
                conn, src, delta=-moved_points, debt_delta=-moved_debt, reason="MERGE_OUT", reference=survivor
            )
            await self.repo.post(
                conn, dst, delta=moved_points, debt_delta=moved_debt, reason="MERGE_IN", reference=merged
            )
        await conn.execute(
            "UPDATE points_lots SET member_id = $3 WHERE brand_id = $1 AND member_id = $2 AND remaining > 0",
            brand_id,
            merged,
            survivor,
        )
        # Dated growth moves as it was earned, so the survivor's rolling period counts it correctly.
        growth_rows = await conn.fetch(
            "SELECT delta, reason, reference, created_at FROM growth_ledger WHERE brand_id = $1 AND member_id = $2",
            brand_id,
            merged,
        )
        for g in growth_rows:
            await conn.execute(
                "INSERT INTO growth_ledger (brand_id, member_id, delta, reason, reference, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                brand_id,
                survivor,
                g["delta"],
                f"MERGE_{g['reason']}",
                f"{merged}:{g['reference']}",
                g["created_at"],
            )
        dst.growth_value += src.growth_value
        src.growth_value = 0
        program = await self.repo.current_program(conn, brand_id)
        before = dst.tier
        dst.tier = program.higher_tier(dst.tier, src.tier)
        dst.tier_floor = program.higher_tier(dst.tier_floor, src.tier_floor)
        if dst.tier != before:
            await self.book.tier_changed(conn, dst, before, "merge")
        src.tier = src.tier_floor = ""
        await self.repo.save_account(conn, src)
        await self.repo.save_account(conn, dst)
        await conn.execute(
            "UPDATE points_accounts SET merged_into = $3 WHERE brand_id = $1 AND member_id = $2",
            brand_id,
            merged,
            survivor,
        )
        await conn.execute(
            "UPDATE orders SET member_id = $3 WHERE brand_id = $1 AND member_id = $2", brand_id, merged, survivor
        )
        await conn.execute(
            "UPDATE coupons SET member_id = $3 WHERE brand_id = $1 AND member_id = $2", brand_id, merged, survivor
        )
        await _merge_wallet(conn, brand_id, survivor, merged)


async def _merge_wallet(conn: asyncpg.Connection, brand_id: str, survivor: str, merged: str) -> None:
    row = await conn.fetchrow(
        "SELECT principal_fen, bonus_fen FROM wallets WHERE brand_id = $1 AND member_id = $2 FOR UPDATE",
        brand_id,
        merged,
    )
    if row is None or (row["principal_fen"] == 0 and row["bonus_fen"] == 0):
        return
    p, b = row["principal_fen"], row["bonus_fen"]
    await conn.execute(
        "INSERT INTO wallets (brand_id, member_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", brand_id, survivor
    )
    dst = await conn.fetchrow(
        "UPDATE wallets SET principal_fen = principal_fen + $3, bonus_fen = bonus_fen + $4, updated_at = now()"
        " WHERE brand_id = $1 AND member_id = $2 RETURNING principal_fen, bonus_fen",
        brand_id,
        survivor,
        p,
        b,
    )
    await conn.execute(
        "UPDATE wallets SET principal_fen = 0, bonus_fen = 0, updated_at = now()"
        " WHERE brand_id = $1 AND member_id = $2",
        brand_id,
        merged,
    )
    entries = [
        (merged, -p, -b, 0, 0, "merge_out", survivor),
        (survivor, p, b, dst["principal_fen"], dst["bonus_fen"], "merge_in", merged),
    ]
    await conn.executemany(
        "INSERT INTO wallet_entries (brand_id, member_id, principal_delta_fen, bonus_delta_fen, principal_after_fen,"
        " bonus_after_fen, reason, reference) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [(brand_id, *e) for e in entries],
    )


def _encode_order_cursor(occurred_at: datetime, order_id: str) -> str:
    raw = f"{occurred_at.astimezone(UTC).isoformat()}|{order_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_order_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, order_id = raw.split("|", 1)
        return datetime.fromisoformat(at), order_id
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgument("cursor is not valid", field="cursor") from None


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


__all__ = ["AccountView", "LoyaltyApp", "OrderResult", "RefundDraft", "RefundLineDraft", "canonical_json"]
