"""PostgreSQL access of the loyalty service. Every statement filters by brand_id.

Methods that take a ``conn`` run in the caller's transaction, so a use case can put the order, the
ledger entry, the lots and the outbox events in one commit. Every change of an account happens with the
account row locked (``lock_account``), which serialises balance, debt, lots and tier per member.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from loyalty.domain.members import MemberInfo
from loyalty.domain.orders import OrderDraft
from loyalty.domain.points import Lot
from loyalty.domain.program import DEFAULT_PROGRAM, Program, parse_program

Conn = asyncpg.Connection | asyncpg.Pool


@dataclass(frozen=True)
class StoredOrder:
    """The idempotency view of a recorded order: its fingerprint and the first answer given."""

    order_id: str
    fingerprint: str
    response: dict[str, Any]


@dataclass
class Account:
    """A member's points account as stored; mutated in memory by ``post`` while locked."""

    brand_id: str
    member_id: str
    balance: int
    growth_value: int
    tier: str
    debt: int = 0
    tier_floor: str = ""
    tier_review_at: datetime | None = None
    birthday: date | None = None


_PROGRAM_VERSION = "SELECT max(version) FROM programs WHERE brand_id = $1"
# One row always: the order under the external id (or NULLs), the brand's programme version (or NULL), and
# the member ($3) when the directory's events made them known here (see migrations/0004_known_members.sql).
FIND_ORDER_AND_PROGRAM = (
    "SELECT o.id, o.fingerprint, o.response, (" + _PROGRAM_VERSION + ") AS version,"
    " a.member_id AS known_member, a.birthday AS known_birthday"
    " FROM (SELECT 1) AS one"
    " LEFT JOIN orders o ON o.brand_id = $1 AND o.external_id = $2"
    " LEFT JOIN points_accounts a ON a.brand_id = $1 AND a.member_id = $3 AND a.member_known_at IS NOT NULL"
    " AND a.member_erased_at IS NULL AND a.merged_into IS NULL"
)
_ACCOUNT_COLUMNS = "brand_id, member_id, balance, growth_value, tier, debt, tier_floor, tier_review_at, birthday"


class LoyaltyRepository:
    """Orders, programmes, points accounts, ledger entries, lots and idempotency keys."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._programs: dict[tuple[str, int], Program] = {}

    # --- programmes ----------------------------------------------------------------------------------------

    async def current_program(self, conn: Conn, brand_id: str) -> Program:
        """The brand's programme in force (the default until one is stored); parsed once per version."""
        version = await conn.fetchval(_PROGRAM_VERSION, brand_id)
        return await self._program(conn, brand_id, version)

    async def _program(self, conn: Conn, brand_id: str, version: int | None) -> Program:
        """The programme of ``version`` (None: the default), from the cache or read and parsed once."""
        if version is None:
            return DEFAULT_PROGRAM
        key = (brand_id, version)
        program = self._programs.get(key)
        if program is None:
            config = await conn.fetchval(
                "SELECT config FROM programs WHERE brand_id = $1 AND version = $2", brand_id, version
            )
            program = parse_program(json.loads(config), version=version)
            self._programs[key] = program
        return program

    async def find_order_and_program(
        self, conn: Conn, brand_id: str, external_id: str, member_id: str = ""
    ) -> tuple[StoredOrder | None, Program, MemberInfo | None]:
        """``find_order``, ``current_program`` and ``known_member`` in one round trip: an order's first step
        reads all three.

        Only the programme's version travels; its config is read once per version and then cached.
        """
        row = await conn.fetchrow(FIND_ORDER_AND_PROGRAM, brand_id, external_id, member_id or None)
        stored = (
            None
            if row["id"] is None
            else StoredOrder(row["id"], row["fingerprint"], json.loads(row["response"]) if row["response"] else {})
        )
        known = None if row["known_member"] is None else MemberInfo(row["known_member"], birthday=row["known_birthday"])
        return stored, await self._program(conn, brand_id, row["version"]), known

    async def member_known(self, conn: Conn, brand_id: str, member_id: str, birthday: date | None) -> None:
        """The directory told us about this member (registered or updated): open the account if needed, take
        the birthday it carries, and mark the member known, unless they were erased."""
        await conn.execute(
            "INSERT INTO points_accounts (brand_id, member_id, birthday, member_known_at) VALUES ($1, $2, $3, now())"
            " ON CONFLICT (brand_id, member_id) DO UPDATE SET birthday = coalesce(EXCLUDED.birthday,"
            " points_accounts.birthday), member_known_at = coalesce(points_accounts.member_known_at, now())"
            " WHERE points_accounts.member_erased_at IS NULL",
            brand_id,
            member_id,
            birthday,
        )

    async def program_row(self, brand_id: str) -> asyncpg.Record | None:
        """The latest stored programme row (version, config, created_by, created_at)."""
        return await self.pool.fetchrow(
            "SELECT version, config, created_by, created_at FROM programs WHERE brand_id = $1"
            " ORDER BY version DESC LIMIT 1",
            brand_id,
        )

    async def store_program(
        self, conn: asyncpg.Connection, brand_id: str, config: dict[str, Any], staff_id: str
    ) -> asyncpg.Record:
        """A new version of the brand's programme. Concurrent PUTs serialise on an advisory lock."""
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('program:' || $1))", brand_id)
        return await conn.fetchrow(
            "INSERT INTO programs (brand_id, version, config, created_by)"
            " SELECT $1, coalesce(max(version), 0) + 1, $2::jsonb, $3 FROM programs WHERE brand_id = $1"
            " RETURNING version, config, created_by, created_at",
            brand_id,
            json.dumps(config),
            staff_id,
        )

    # --- orders --------------------------------------------------------------------------------------------

    async def find_order(self, conn: Conn, brand_id: str, external_id: str) -> StoredOrder | None:
        """The order recorded under ``external_id`` in the brand, if any."""
        row = await conn.fetchrow(
            "SELECT id, fingerprint, response FROM orders WHERE brand_id = $1 AND external_id = $2",
            brand_id,
            external_id,
        )
        if row is None:
            return None
        return StoredOrder(row["id"], row["fingerprint"], json.loads(row["response"]) if row["response"] else {})

    async def insert_order(
        self,
        conn: asyncpg.Connection,
        *,
        order_id: str,
        order: OrderDraft,
        member_id: str | None,
        occurred_at: datetime,
        fingerprint: str,
        program_version: int,
    ) -> bool:
        """Claim ``(brand, external_id)`` for this order; False when another order already holds it.

        A concurrent insert of the same key waits here for the other transaction and then gets False,
        which is what lets every concurrent repeat replay the winner's answer.
        """
        inserted = await conn.fetchval(
            "INSERT INTO orders (id, brand_id, external_id, store_id, member_id, occurred_at, total_fen,"
            " item_count, fingerprint, member_phone, program_version)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            " ON CONFLICT (brand_id, external_id) DO NOTHING RETURNING id",
            order_id,
            order.brand_id,
            order.external_id,
            order.store_id,
            member_id,
            occurred_at,
            order.total_fen,
            order.item_count,
            fingerprint,
            None if member_id else order.member_phone,  # kept only until the phone's owner registers
            program_version,
        )
        if inserted is None:
            return False
        await conn.executemany(
            "INSERT INTO order_items (order_id, line_no, brand_id, sku, name, category, quantity, amount_fen)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            [
                (order_id, i, order.brand_id, line.sku, line.name, line.category, line.quantity, line.amount_fen)
                for i, line in enumerate(order.items)
            ],
        )
        return True

    async def claim_order(
        self,
        conn: asyncpg.Connection,
        *,
        order_id: str,
        order: OrderDraft,
        member_id: str | None,
        occurred_at: datetime,
        fingerprint: str,
        program_version: int,
        birthday: date | None,
        outbox_row: tuple[Any, ...],
        response: dict[str, Any] | None = None,
    ) -> bool:
        """``insert_order`` plus its lines, the member's account (opened if missing) and the OrderRecorded
        outbox row, in ONE statement; False when another order already holds ``(brand, external_id)``.
        ``response`` is the first answer when it is known before the credit (an order without a member).

        Nothing here locks the member's account (``ON CONFLICT DO NOTHING`` does not lock the existing
        row), so a hot account's lock is not taken until the credit itself.
        """
        event_id, source, event_type, envelope, trace = outbox_row
        inserted = await conn.fetchval(
            "WITH o AS (INSERT INTO orders (id, brand_id, external_id, store_id, member_id, occurred_at, total_fen,"
            " item_count, fingerprint, member_phone, program_version, response)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $23::jsonb)"
            " ON CONFLICT (brand_id, external_id) DO NOTHING RETURNING id),"
            " i AS (INSERT INTO order_items (order_id, line_no, brand_id, sku, name, category, quantity, amount_fen)"
            " SELECT o.id, l.n - 1, $2, l.sku, l.name, l.category, l.quantity, l.amount_fen FROM o,"
            " unnest($12::text[], $13::text[], $14::text[], $15::int[], $16::bigint[])"
            " WITH ORDINALITY AS l (sku, name, category, quantity, amount_fen, n)),"
            " a AS (INSERT INTO points_accounts (brand_id, member_id, birthday) SELECT $2, $5, $17 FROM o"
            " WHERE $5::text IS NOT NULL ON CONFLICT (brand_id, member_id) DO NOTHING),"
            " e AS (INSERT INTO outbox (event_id, source, event_type, brand_id, envelope, trace)"
            " SELECT $18, $19, $20, $2, $21, $22::jsonb FROM o)"
            " SELECT id FROM o",
            order_id,
            order.brand_id,
            order.external_id,
            order.store_id,
            member_id,
            occurred_at,
            order.total_fen,
            order.item_count,
            fingerprint,
            None if member_id else order.member_phone,  # kept only until the phone's owner registers
            program_version,
            [line.sku for line in order.items],
            [line.name for line in order.items],
            [line.category for line in order.items],
            [line.quantity for line in order.items],
            [line.amount_fen for line in order.items],
            birthday,
            event_id,
            source,
            event_type,
            envelope,
            trace,
            json.dumps(response) if response is not None else None,
        )
        return inserted is not None

    async def write_order_credit(
        self,
        conn: asyncpg.Connection,
        account: Account,
        *,
        order_id: str,
        to_balance: int,
        to_debt: int,
        growth: int,
        at: datetime,
        expires_at: datetime | None,
        points_earned: int,
        growth_earned: int,
        birthday: date | None,
        response: dict[str, Any] | None,
        outbox_rows: list[tuple[Any, ...]],
    ) -> tuple[int | None, int | None]:
        """Everything an order's credit writes on a locked account, in ONE statement: the ledger entry (when
        points or debt change), its lot (when the balance grows), the dated growth, the account row (the
        in-memory ``account`` already holds the new state), the order's earnings and first answer, and the
        outbox rows. Returns (ledger entry id, lot id). One round trip is what keeps a hot account's lock
        short: the lock is held for the ``FOR UPDATE`` read, this statement and the commit."""
        if account.balance < 0 or account.debt < 0:
            raise ValueError("a ledger entry may never leave a negative balance or debt")
        rows = outbox_rows or []
        row = await conn.fetchrow(
            "WITH led AS (INSERT INTO points_ledger (brand_id, member_id, delta, reason, reference, balance_after,"
            " debt_delta, debt_after) SELECT $1::text, $2::text, $3::bigint, 'ORDER', $4::text, $5::bigint, $6::bigint,"
            " $7::bigint WHERE $3::bigint <> 0 OR $6::bigint <> 0"
            " RETURNING id),"
            " lot AS (INSERT INTO points_lots (brand_id, member_id, ledger_entry_id, points, remaining, earned_at,"
            " expires_at) SELECT $1, $2, led.id, $3, $3, $8::timestamptz, $9::timestamptz FROM led WHERE $3 > 0"
            " RETURNING id),"
            " g AS (INSERT INTO growth_ledger (brand_id, member_id, delta, reason, reference, created_at)"
            " SELECT $1, $2, $10::bigint, 'ORDER', $4, $8 WHERE $10::bigint <> 0),"
            " acc AS (UPDATE points_accounts SET balance = $5, debt = $7, growth_value = $11, tier = $12,"
            " tier_floor = $13, tier_review_at = $14, birthday = coalesce($15, birthday), updated_at = now()"
            " WHERE brand_id = $1 AND member_id = $2),"
            " ord AS (UPDATE orders SET points_earned = $16, growth_earned = $17, lot_id = (SELECT id FROM lot),"
            " response = coalesce($18::jsonb, response) WHERE brand_id = $1 AND id = $4),"
            " ev AS (INSERT INTO outbox (event_id, source, event_type, brand_id, envelope, trace)"
            " SELECT e.id, e.src, e.typ, $1, e.b, e.t::jsonb"
            " FROM unnest($19::text[], $20::text[], $21::text[], $22::bytea[], $23::text[]) AS e (id, src, typ, b, t))"
            " SELECT (SELECT id FROM led) AS entry_id, (SELECT id FROM lot) AS lot_id",
            account.brand_id,
            account.member_id,
            to_balance,
            order_id,
            account.balance,
            -to_debt,
            account.debt,
            at,
            expires_at,
            growth,
            account.growth_value,
            account.tier,
            account.tier_floor,
            account.tier_review_at,
            birthday,
            points_earned,
            growth_earned,
            json.dumps(response) if response is not None else None,
            [r[0] for r in rows],
            [r[1] for r in rows],
            [r[2] for r in rows],
            [r[3] for r in rows],
            [r[4] for r in rows],
        )
        return row["entry_id"], row["lot_id"]

    async def save_response(
        self,
        conn: asyncpg.Connection,
        brand_id: str,
        order_id: str,
        *,
        points_earned: int,
        growth_earned: int,
        lot_id: int | None,
        response: dict[str, Any],
    ) -> None:
        """Store the answer given to the first post (replayed to repeats) and what the order earned."""
        await conn.execute(
            "UPDATE orders SET response = $3::jsonb, points_earned = $4, growth_earned = $5, lot_id = $6"
            " WHERE brand_id = $1 AND id = $2",
            brand_id,
            order_id,
            json.dumps(response),
            points_earned,
            growth_earned,
            lot_id,
        )

    async def lock_order(self, conn: asyncpg.Connection, brand_id: str, external_id: str) -> asyncpg.Record | None:
        """The order row, locked: refunds of one order serialise here."""
        return await conn.fetchrow(
            "SELECT * FROM orders WHERE brand_id = $1 AND external_id = $2 FOR UPDATE", brand_id, external_id
        )

    async def order_items(self, conn: Conn, order_id: str) -> list[asyncpg.Record]:
        """The order's lines in receipt order."""
        return await conn.fetch("SELECT * FROM order_items WHERE order_id = $1 ORDER BY line_no", order_id)

    # --- accounts ------------------------------------------------------------------------------------------

    async def open_account(self, conn: Conn, brand_id: str, member_id: str, birthday: date | None = None) -> bool:
        """Create the member's account if it does not exist; True when this call created it."""
        status = await conn.execute(
            "INSERT INTO points_accounts (brand_id, member_id, birthday) VALUES ($1, $2, $3)"
            " ON CONFLICT (brand_id, member_id) DO UPDATE SET birthday = coalesce(EXCLUDED.birthday,"
            " points_accounts.birthday) WHERE EXCLUDED.birthday IS NOT NULL",
            brand_id,
            member_id,
            birthday,
        )
        return status == "INSERT 0 1"

    async def lock_account(self, conn: asyncpg.Connection, brand_id: str, member_id: str) -> Account:
        """Read the account with a row lock held until the transaction ends (serialises balance changes)."""
        row = await conn.fetchrow(
            f"SELECT {_ACCOUNT_COLUMNS} FROM points_accounts WHERE brand_id = $1 AND member_id = $2 FOR UPDATE",
            brand_id,
            member_id,
        )
        if row is None:
            raise LookupError("points account must be opened before it is locked")
        return Account(**dict(row))

    async def get_account(self, brand_id: str, member_id: str) -> Account | None:
        """The account as committed, or None when the member has none yet."""
        row = await self.pool.fetchrow(
            f"SELECT {_ACCOUNT_COLUMNS} FROM points_accounts WHERE brand_id = $1 AND member_id = $2",
            brand_id,
            member_id,
        )
        return Account(**dict(row)) if row else None

    async def save_account(self, conn: asyncpg.Connection, account: Account) -> None:
        """Write balance, debt, growth value and tier state of a locked account."""
        await conn.execute(
            "UPDATE points_accounts SET balance = $3, debt = $4, growth_value = $5, tier = $6, tier_floor = $7,"
            " tier_review_at = $8, updated_at = now() WHERE brand_id = $1 AND member_id = $2",
            account.brand_id,
            account.member_id,
            account.balance,
            account.debt,
            account.growth_value,
            account.tier,
            account.tier_floor,
            account.tier_review_at,
        )

    # --- ledger, lots, growth ------------------------------------------------------------------------------

    async def post(
        self,
        conn: asyncpg.Connection,
        account: Account,
        *,
        delta: int,
        reason: str,
        reference: str,
        debt_delta: int = 0,
        staff_id: str = "",
        note: str = "",
    ) -> int:
        """Append a ledger entry for a locked account and apply it to ``account`` in memory; return its id.

        The caller saves the account (``save_account``) before committing.
        """
        account.balance += delta
        account.debt += debt_delta
        if account.balance < 0 or account.debt < 0:
            raise ValueError("a ledger entry may never leave a negative balance or debt")
        entry_id: int = await conn.fetchval(
            "INSERT INTO points_ledger (brand_id, member_id, delta, reason, reference, balance_after,"
            " debt_delta, debt_after, staff_id, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            " RETURNING id",
            account.brand_id,
            account.member_id,
            delta,
            reason,
            reference,
            account.balance,
            debt_delta,
            account.debt,
            staff_id,
            note,
        )
        return entry_id

    async def add_lot(
        self,
        conn: asyncpg.Connection,
        account: Account,
        *,
        entry_id: int,
        points: int,
        earned_at: datetime,
        expires_at: datetime | None,
    ) -> int:
        """Record earned points as a lot, so expiry and spending can work oldest first later."""
        lot_id: int = await conn.fetchval(
            "INSERT INTO points_lots (brand_id, member_id, ledger_entry_id, points, remaining, earned_at,"
            " expires_at) VALUES ($1, $2, $3, $4, $4, $5, $6) RETURNING id",
            account.brand_id,
            account.member_id,
            entry_id,
            points,
            earned_at,
            expires_at,
        )
        return lot_id

    async def live_lots(self, conn: asyncpg.Connection, account: Account, first: int | None = None) -> list[Lot]:
        """Live lots of a locked account, oldest first (lot ``first`` ahead of all, when given)."""
        rows = await conn.fetch(
            "SELECT id, remaining FROM points_lots WHERE brand_id = $1 AND member_id = $2 AND remaining > 0"
            " ORDER BY (id = $3) DESC, earned_at, id",
            account.brand_id,
            account.member_id,
            first or 0,
        )
        return [Lot(r["id"], r["remaining"]) for r in rows]

    async def take_from_lots(self, conn: asyncpg.Connection, taken: list[tuple[int, int]]) -> None:
        """Lower lots' ``remaining`` by what a spend/reversal consumed."""
        if taken:
            await conn.executemany("UPDATE points_lots SET remaining = remaining - $2 WHERE id = $1", taken)

    async def add_growth(
        self, conn: asyncpg.Connection, account: Account, *, delta: int, reason: str, reference: str, at: datetime
    ) -> None:
        """Record a growth-value change (dated, for the rolling period) and apply it to ``account``."""
        if delta == 0:
            return
        account.growth_value = max(account.growth_value + delta, 0)
        await conn.execute(
            "INSERT INTO growth_ledger (brand_id, member_id, delta, reason, reference, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            account.brand_id,
            account.member_id,
            delta,
            reason,
            reference,
            at,
        )

    async def qualifying_growth(
        self, conn: asyncpg.Connection, account: Account, program: Program, now: datetime
    ) -> int:
        """Growth value that counts for the tier: all of it, or the rolling period's."""
        if program.tier_period_days is None:
            return account.growth_value
        value = await conn.fetchval(
            "SELECT coalesce(sum(delta), 0) FROM growth_ledger WHERE brand_id = $1 AND member_id = $2"
            " AND created_at > $3::timestamptz - make_interval(days => $4)",
            account.brand_id,
            account.member_id,
            now,
            program.tier_period_days,
        )
        return max(int(value), 0)

    async def ledger_page(
        self, brand_id: str, member_id: str, before_id: int | None, limit: int
    ) -> list[asyncpg.Record]:
        """Ledger entries newest first, ``limit`` of them, older than ``before_id`` when given."""
        return await self.pool.fetch(
            "SELECT * FROM points_ledger WHERE brand_id = $1 AND member_id = $2 AND ($3::bigint IS NULL OR id < $3)"
            " ORDER BY id DESC LIMIT $4",
            brand_id,
            member_id,
            before_id,
            limit,
        )

    async def member_orders_page(
        self, brand_id: str, member_id: str, after: tuple[datetime, str] | None, limit: int
    ) -> list[asyncpg.Record]:
        """The member's orders newest first (occurred_at, then id, so the order is total), ``limit`` of
        them, strictly after the ``(occurred_at, id)`` keyset position when given. Uses orders_member_idx."""
        return await self.pool.fetch(
            "SELECT o.id, o.external_id, o.store_id, o.occurred_at, o.total_fen, o.points_earned, o.refunded_fen,"
            " (SELECT coalesce(sum(quantity), 0) FROM order_items i WHERE i.order_id = o.id)::int AS item_count"
            " FROM orders o WHERE o.brand_id = $1 AND o.member_id = $2"
            " AND ($3::timestamptz IS NULL OR (o.occurred_at, o.id) < ($3::timestamptz, $4::text))"
            " ORDER BY o.occurred_at DESC, o.id DESC LIMIT $5",
            brand_id,
            member_id,
            after[0] if after else None,
            after[1] if after else "",
            limit,
        )

    async def order_totals(self, brand_id: str) -> asyncpg.Record:
        """All-time counts and sums of the brand's orders and refunds (one snapshot: a single statement)."""
        return await self.pool.fetchrow(
            "SELECT (SELECT count(*) FROM orders WHERE brand_id = $1) AS orders,"
            " (SELECT coalesce(sum(total_fen), 0) FROM orders WHERE brand_id = $1)::bigint AS total_fen,"
            " (SELECT count(*) FROM refunds WHERE brand_id = $1) AS refunds,"
            " (SELECT coalesce(sum(amount_fen), 0) FROM refunds WHERE brand_id = $1)::bigint AS refunded_fen",
            brand_id,
        )

    async def expiring(self, brand_id: str, member_id: str, until: datetime) -> list[tuple[int, datetime]]:
        """Live points expiring before ``until``, summed per expiry moment, soonest first."""
        rows = await self.pool.fetch(
            "SELECT expires_at, sum(remaining)::bigint AS points FROM points_lots WHERE brand_id = $1"
            " AND member_id = $2 AND remaining > 0 AND expires_at IS NOT NULL AND expires_at <= $3"
            " GROUP BY expires_at ORDER BY expires_at",
            brand_id,
            member_id,
            until,
        )
        return [(r["points"], r["expires_at"]) for r in rows]

    # --- idempotency keys ----------------------------------------------------------------------------------

    async def claim_key(
        self, conn: asyncpg.Connection, brand_id: str, scope: str, key: str, fingerprint: str
    ) -> asyncpg.Record | None:
        """Claim an idempotency key in this transaction; None when claimed now, else the stored row.

        A concurrent claim of the same key waits for the first transaction: if it commits, this returns
        its row (to replay or refuse); if it rolls back (the command failed), this claim wins.
        """
        claimed = await conn.fetchval(
            "INSERT INTO idempotency_keys (brand_id, scope, key, fingerprint) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT DO NOTHING RETURNING 1",
            brand_id,
            scope,
            key,
            fingerprint,
        )
        if claimed:
            return None
        return await conn.fetchrow(
            "SELECT fingerprint, response FROM idempotency_keys WHERE brand_id = $1 AND scope = $2 AND key = $3",
            brand_id,
            scope,
            key,
        )

    async def save_key_response(
        self, conn: asyncpg.Connection, brand_id: str, scope: str, key: str, response: dict[str, Any]
    ) -> None:
        """The first answer of a keyed command, replayed to repeats."""
        await conn.execute(
            "UPDATE idempotency_keys SET response = $4::jsonb WHERE brand_id = $1 AND scope = $2 AND key = $3",
            brand_id,
            scope,
            key,
            json.dumps(response),
        )
