"""The stored-value wallet: top-up with bonus tiers, payment, refund to the wallet.

Principal (money paid in) and bonus (given on top) are kept apart; a payment takes both in proportion
(``loyalty.domain.points.split_payment``) and a refund returns the payment's own proportions. The wallet
row is locked for every change and both columns carry CHECK >= 0, so it never goes below zero.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from crm.loyalty.v1 import events_pb2
from crm_common.errors import InvalidArgument, NotFound
from crm_common.outbox import PgOutbox
from loyalty.app.loyalty import LoyaltyApp, keyed, require
from loyalty.domain.points import WalletSplit, split_payment, split_refund


class WalletApp:
    """Wallet use cases; every change is a ``wallet_entries`` row plus a WalletChanged event."""

    def __init__(self, pool: asyncpg.Pool, outbox: PgOutbox, loyalty: LoyaltyApp) -> None:
        self.pool = pool
        self.outbox = outbox
        self.loyalty = loyalty

    async def get(self, brand_id: str, member_id: str) -> dict[str, Any]:
        """The member's wallet (zero when they never topped up)."""
        require(brand_id, "brand_id")
        require(member_id, "member_id")
        row = await self.pool.fetchrow(
            "SELECT principal_fen, bonus_fen FROM wallets WHERE brand_id = $1 AND member_id = $2", brand_id, member_id
        )
        if row is None:
            if await self.loyalty.members.get_member(brand_id, member_id) is None:
                raise NotFound("no such member in this brand", reason="MEMBER_NOT_FOUND", field="member_id")
            return wallet_json(member_id, 0, 0)
        return wallet_json(member_id, row["principal_fen"], row["bonus_fen"])

    async def _lock(self, conn: asyncpg.Connection, brand_id: str, member_id: str) -> asyncpg.Record:
        await conn.execute(
            "INSERT INTO wallets (brand_id, member_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", brand_id, member_id
        )
        return await conn.fetchrow(
            "SELECT principal_fen, bonus_fen FROM wallets WHERE brand_id = $1 AND member_id = $2 FOR UPDATE",
            brand_id,
            member_id,
        )

    async def _apply(
        self,
        conn: asyncpg.Connection,
        brand_id: str,
        member_id: str,
        wallet: asyncpg.Record,
        change: WalletSplit,
        sign: int,
        reason: str,
        reference: str,
    ) -> dict[str, Any]:
        principal = wallet["principal_fen"] + sign * change.principal_fen
        bonus = wallet["bonus_fen"] + sign * change.bonus_fen
        await conn.execute(
            "UPDATE wallets SET principal_fen = $3, bonus_fen = $4, updated_at = now() WHERE brand_id = $1"
            " AND member_id = $2",
            brand_id,
            member_id,
            principal,
            bonus,
        )
        await conn.execute(
            "INSERT INTO wallet_entries (brand_id, member_id, principal_delta_fen, bonus_delta_fen,"
            " principal_after_fen, bonus_after_fen, reason, reference) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            brand_id,
            member_id,
            sign * change.principal_fen,
            sign * change.bonus_fen,
            principal,
            bonus,
            reason,
            reference,
        )
        await self.outbox.add(
            conn,
            events_pb2.WalletChanged(
                brand_id=brand_id,
                member_id=member_id,
                principal_delta_fen=sign * change.principal_fen,
                bonus_delta_fen=sign * change.bonus_fen,
                principal_balance_fen=principal,
                bonus_balance_fen=bonus,
                reason=reason,
                reference=reference,
            ),
            brand_id=brand_id,
            subject=member_id,
        )
        return {
            "wallet": wallet_json(member_id, principal, bonus),
            "principal_delta_fen": sign * change.principal_fen,
            "bonus_delta_fen": sign * change.bonus_fen,
        }

    async def top_up(self, brand_id: str, member_id: str, amount_fen: int, key: str) -> dict[str, Any]:
        """Add ``amount_fen`` of principal plus the programme's bonus for that amount."""
        require(brand_id, "brand_id")
        require(member_id, "member_id")
        if amount_fen <= 0:
            raise InvalidArgument("amount_fen must be greater than 0", field="amount_fen")
        if await self.loyalty.members.get_member(brand_id, member_id) is None:
            raise NotFound("no such member in this brand", reason="MEMBER_NOT_FOUND", field="member_id")
        async with self.pool.acquire() as conn, conn.transaction():
            replay = await self.loyalty._keyed(
                conn, brand_id, "top_up", key, {"member_id": member_id, "amount_fen": amount_fen}
            )
            if replay is not None:
                return replay
            program = await self.loyalty.repo.current_program(conn, brand_id)
            wallet = await self._lock(conn, brand_id, member_id)
            change = WalletSplit(amount_fen, program.wallet_bonus(amount_fen))
            response = await self._apply(conn, brand_id, member_id, wallet, change, 1, "top_up", key)
            await self.loyalty.repo.save_key_response(conn, brand_id, "top_up", key, response)
        return keyed(response, False)

    async def pay(
        self, brand_id: str, member_id: str, amount_fen: int, key: str, reference: str = ""
    ) -> dict[str, Any]:
        """Pay ``amount_fen`` from the wallet (INSUFFICIENT_FUNDS when it holds less)."""
        require(brand_id, "brand_id")
        require(member_id, "member_id")
        if amount_fen <= 0:
            raise InvalidArgument("amount_fen must be greater than 0", field="amount_fen")
        content = {"member_id": member_id, "amount_fen": amount_fen, "reference": reference}
        async with self.pool.acquire() as conn, conn.transaction():
            replay = await self.loyalty._keyed(conn, brand_id, "pay", key, content)
            if replay is not None:
                return replay
            wallet = await self._lock(conn, brand_id, member_id)
            change = split_payment(amount_fen, wallet["principal_fen"], wallet["bonus_fen"])
            response = await self._apply(conn, brand_id, member_id, wallet, change, -1, "payment", key)
            await self.loyalty.repo.save_key_response(conn, brand_id, "pay", key, response)
        return keyed(response, False)

    async def refund(
        self, brand_id: str, member_id: str, payment_key: str, amount_fen: int, key: str
    ) -> dict[str, Any]:
        """Return (part of) a payment to the wallet, in the payment's principal/bonus proportions."""
        require(brand_id, "brand_id")
        require(member_id, "member_id")
        require(payment_key, "payment_key", 128)
        if amount_fen <= 0:
            raise InvalidArgument("amount_fen must be greater than 0", field="amount_fen")
        content = {"member_id": member_id, "payment_key": payment_key, "amount_fen": amount_fen}
        async with self.pool.acquire() as conn, conn.transaction():
            replay = await self.loyalty._keyed(conn, brand_id, "wallet_refund", key, content)
            if replay is not None:
                return replay
            wallet = await self._lock(conn, brand_id, member_id)
            payment = await conn.fetchrow(
                "SELECT id, principal_delta_fen, bonus_delta_fen, refunded_fen FROM wallet_entries WHERE brand_id = $1"
                " AND member_id = $2 AND reason = 'payment' AND reference = $3",
                brand_id,
                member_id,
                payment_key,
            )
            if payment is None:
                raise NotFound("no such wallet payment", reason="PAYMENT_NOT_FOUND", field="payment_key")
            paid = WalletSplit(-payment["principal_delta_fen"], -payment["bonus_delta_fen"])
            change = split_refund(paid, payment["refunded_fen"], amount_fen)
            await conn.execute(
                "UPDATE wallet_entries SET refunded_fen = refunded_fen + $2 WHERE id = $1", payment["id"], amount_fen
            )
            response = await self._apply(conn, brand_id, member_id, wallet, change, 1, "refund", key)
            await self.loyalty.repo.save_key_response(conn, brand_id, "wallet_refund", key, response)
        return keyed(response, False)


def wallet_json(member_id: str, principal: int, bonus: int) -> dict[str, Any]:
    """The wallet as the API shows it."""
    return {"member_id": member_id, "principal_fen": principal, "bonus_fen": bonus, "balance_fen": principal + bonus}
