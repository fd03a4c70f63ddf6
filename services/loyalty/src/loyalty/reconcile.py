"""Reconciliation: for every account, ``balance = sum(ledger) = sum(live lots)`` and ``debt = sum(ledger
debt deltas)``; for every wallet, its balances equal the sums of its entries. ``python -m loyalty reconcile``
prints each mismatch and exits 1 when there is any (0 when the books agree)."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass

import asyncpg

RECONCILE_SQL = """
WITH ledger AS (
    SELECT brand_id, member_id, sum(delta) AS delta, sum(debt_delta) AS debt
    FROM points_ledger GROUP BY brand_id, member_id
), lots AS (
    SELECT brand_id, member_id, sum(remaining) AS remaining
    FROM points_lots GROUP BY brand_id, member_id
)
SELECT a.brand_id, a.member_id, a.balance, a.debt,
       coalesce(l.delta, 0)::bigint AS ledger_sum, coalesce(l.debt, 0)::bigint AS ledger_debt,
       coalesce(t.remaining, 0)::bigint AS lots_sum
FROM points_accounts a
LEFT JOIN ledger l USING (brand_id, member_id)
LEFT JOIN lots t USING (brand_id, member_id)
WHERE ($1::text IS NULL OR a.brand_id = $1)
  AND (a.balance <> coalesce(l.delta, 0) OR a.balance <> coalesce(t.remaining, 0) OR a.debt <> coalesce(l.debt, 0))
ORDER BY a.brand_id, a.member_id
"""

WALLET_SQL = """
SELECT w.brand_id, w.member_id, w.principal_fen, w.bonus_fen,
       coalesce(sum(e.principal_delta_fen), 0)::bigint AS principal_sum,
       coalesce(sum(e.bonus_delta_fen), 0)::bigint AS bonus_sum
FROM wallets w LEFT JOIN wallet_entries e USING (brand_id, member_id)
WHERE ($1::text IS NULL OR w.brand_id = $1)
GROUP BY w.brand_id, w.member_id, w.principal_fen, w.bonus_fen
HAVING w.principal_fen <> coalesce(sum(e.principal_delta_fen), 0) OR w.bonus_fen <> coalesce(sum(e.bonus_delta_fen), 0)
"""


@dataclass(frozen=True)
class Mismatch:
    """One account whose cached balances disagree with its entries."""

    kind: str
    brand_id: str
    member_id: str
    detail: str


async def reconcile(conn: asyncpg.Connection | asyncpg.Pool, brand_id: str | None = None) -> list[Mismatch]:
    """Every mismatch (empty when the books agree), in one consistent snapshot per query."""
    out = [
        Mismatch(
            "points",
            r["brand_id"],
            r["member_id"],
            f"balance={r['balance']} ledger={r['ledger_sum']} lots={r['lots_sum']} debt={r['debt']}"
            f" ledger_debt={r['ledger_debt']}",
        )
        for r in await conn.fetch(RECONCILE_SQL, brand_id)
    ]
    out += [
        Mismatch(
            "wallet",
            r["brand_id"],
            r["member_id"],
            f"principal={r['principal_fen']}/{r['principal_sum']} bonus={r['bonus_fen']}/{r['bonus_sum']}",
        )
        for r in await conn.fetch(WALLET_SQL, brand_id)
    ]
    return out


async def _main(dsn: str, brand_id: str | None) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            mismatches = await reconcile(conn, brand_id)
            accounts = await conn.fetchval("SELECT count(*) FROM points_accounts")
    finally:
        await conn.close()
    for m in mismatches:
        print(f"MISMATCH {m.kind} brand={m.brand_id} member={m.member_id} {m.detail}")
    print(f"checked {accounts} points accounts: {len(mismatches)} mismatch(es)")
    return 1 if mismatches else 0


def main(argv: list[str]) -> int:
    """``reconcile [brand_id]`` against ``CRM_PG_DSN``."""
    from crm_common.settings import load_settings
    from loyalty.bootstrap import Settings

    settings = load_settings(Settings)
    return asyncio.run(_main(settings.pg_dsn, argv[0] if argv else None))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
