"""PostgreSQL access of the loyalty service. Every statement filters by brand_id.

Methods that take a ``conn`` run in the caller's transaction, so a use case can put the order, the
ledger entry and the outbox events in one commit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from loyalty.domain.orders import OrderDraft


@dataclass(frozen=True)
class StoredOrder:
    """The idempotency view of a recorded order: its fingerprint and the first answer given."""

    order_id: str
    fingerprint: str
    response: dict[str, Any]


@dataclass(frozen=True)
class Account:
    """A member's points account as stored."""

    brand_id: str
    member_id: str
    balance: int
    growth_value: int
    tier: str


class LoyaltyRepository:
    """Orders, points accounts, ledger entries and lots."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def find_order(
        self, conn: asyncpg.Connection | asyncpg.Pool, brand_id: str, external_id: str
    ) -> StoredOrder | None:
        """The order recorded under ``external_id`` in the brand, if any."""
        row = await conn.fetchrow(
            "SELECT id, fingerprint, response FROM orders WHERE brand_id = $1 AND external_id = $2",
            brand_id,
            external_id,
        )
        if row is None:
            return None
        return StoredOrder(
            row["id"], row["fingerprint"], json.loads(row["response"]) if row["response"] else {}
        )

    async def insert_order(
        self,
        conn: asyncpg.Connection,
        *,
        order_id: str,
        order: OrderDraft,
        member_id: str | None,
        occurred_at: datetime,
        fingerprint: str,
    ) -> bool:
        """Claim ``(brand, external_id)`` for this order; False when another order already holds it.

        A concurrent insert of the same key waits here for the other transaction and then gets False,
        which is what lets every concurrent repeat replay the winner's answer.
        """
        inserted = await conn.fetchval(
            "INSERT INTO orders (id, brand_id, external_id, store_id, member_id, occurred_at, total_fen,"
            " item_count, fingerprint) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
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
        )
        if inserted is None:
            return False
        await conn.executemany(
            "INSERT INTO order_items (order_id, line_no, brand_id, sku, name, category, quantity, amount_fen)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            [
                (
                    order_id,
                    i,
                    order.brand_id,
                    line.sku,
                    line.name,
                    line.category,
                    line.quantity,
                    line.amount_fen,
                )
                for i, line in enumerate(order.items)
            ],
        )
        return True

    async def save_response(
        self,
        conn: asyncpg.Connection,
        brand_id: str,
        order_id: str,
        points_earned: int,
        response: dict[str, Any],
    ) -> None:
        """Store the answer given to the first post, to replay it to repeats."""
        await conn.execute(
            "UPDATE orders SET response = $3::jsonb, points_earned = $4 WHERE brand_id = $1 AND id = $2",
            brand_id,
            order_id,
            json.dumps(response),
            points_earned,
        )

    async def open_account(
        self, conn: asyncpg.Connection | asyncpg.Pool, brand_id: str, member_id: str
    ) -> bool:
        """Create the member's account if it does not exist; True when this call created it."""
        status = await conn.execute(
            "INSERT INTO points_accounts (brand_id, member_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            brand_id,
            member_id,
        )
        return status == "INSERT 0 1"

    async def lock_account(self, conn: asyncpg.Connection, brand_id: str, member_id: str) -> Account:
        """Read the account with a row lock held until the transaction ends (serialises balance changes)."""
        row = await conn.fetchrow(
            "SELECT brand_id, member_id, balance, growth_value, tier FROM points_accounts"
            " WHERE brand_id = $1 AND member_id = $2 FOR UPDATE",
            brand_id,
            member_id,
        )
        if row is None:
            raise LookupError("points account must be opened before it is locked")
        return Account(**dict(row))

    async def get_account(self, brand_id: str, member_id: str) -> Account | None:
        """The account as committed, or None when the member has none yet."""
        row = await self.pool.fetchrow(
            "SELECT brand_id, member_id, balance, growth_value, tier FROM points_accounts"
            " WHERE brand_id = $1 AND member_id = $2",
            brand_id,
            member_id,
        )
        return Account(**dict(row)) if row else None

    async def append_entry(
        self,
        conn: asyncpg.Connection,
        account: Account,
        *,
        delta: int,
        reason: str,
        reference: str,
        balance_after: int,
    ) -> int:
        """Append a ledger entry for a locked account; return its id."""
        entry_id: int = await conn.fetchval(
            "INSERT INTO points_ledger (brand_id, member_id, delta, reason, reference, balance_after)"
            " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            account.brand_id,
            account.member_id,
            delta,
            reason,
            reference,
            balance_after,
        )
        return entry_id

    async def add_lot(
        self,
        conn: asyncpg.Connection,
        account: Account,
        *,
        entry_id: int,
        points: int,
        expires_at: datetime | None,
    ) -> None:
        """Record earned points as a lot, so expiry and spending can work oldest first later."""
        await conn.execute(
            "INSERT INTO points_lots (brand_id, member_id, ledger_entry_id, points, remaining, expires_at)"
            " VALUES ($1, $2, $3, $4, $4, $5)",
            account.brand_id,
            account.member_id,
            entry_id,
            points,
            expires_at,
        )

    async def update_account(
        self, conn: asyncpg.Connection, account: Account, *, balance: int, growth_value: int, tier: str
    ) -> None:
        """Write the new balance, growth value and tier of a locked account."""
        await conn.execute(
            "UPDATE points_accounts SET balance = $3, growth_value = $4, tier = $5, updated_at = now()"
            " WHERE brand_id = $1 AND member_id = $2",
            account.brand_id,
            account.member_id,
            balance,
            growth_value,
            tier,
        )
