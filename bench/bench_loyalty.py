"""Loyalty order accrual (order, points, lot, growth, tier and outbox in one transaction): through the service's
gRPC API vs a bare asyncpg script running the same SQL, on the same embedded PostgreSQL in the same run;
p50/p99 latency at half of peak; one hot member vs orders spread over many members."""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg

from bench.harness import Result, measure, progress, report, spread
from crm.loyalty.v1 import loyalty_pb2
from crm.loyalty.v1.loyalty_pb2_grpc import LoyaltyServiceStub
from crm.members.v1 import members_pb2, members_pb2_grpc
from crm_common import grpc_client
from crm_common.grpc_server import Service, serving
from crm_common.settings import ServiceSettings
from crm_devstack.infra import Infra, ensure_database

CONCURRENCY = 16
OPS = 1_500
ROUNDS = 3
SPREAD_MEMBERS = 2_000
BRAND = "bench-brand"
STORE = "bench-store"


class _Directory(members_pb2_grpc.MembersServiceServicer):
    """Every store and member exists (the bench measures loyalty, not the directory)."""

    async def GetStore(self, request, context):  # type: ignore[no-untyped-def]
        return members_pb2.Store(id=request.store_id, brand_id=request.brand_id, open=True)

    async def GetMember(self, request, context):  # type: ignore[no-untyped-def]
        return members_pb2.Member(id=request.member_id, brand_id=request.brand_id)


def _request(member_id: str) -> loyalty_pb2.RecordOrderRequest:
    request = loyalty_pb2.RecordOrderRequest(
        brand_id=BRAND, external_id=f"B-{uuid.uuid4().hex}", store_id=STORE, member_id=member_id,
        items=[loyalty_pb2.OrderItem(sku="LATTE", category="coffee", quantity=2, amount_fen=6400)], total_fen=6400,
    )
    request.occurred_at.FromDatetime(datetime.now(UTC))
    return request


async def _spread(call: Callable[[int], Awaitable[object]], n: int) -> None:
    await spread(call, n, concurrency=CONCURRENCY)


def _member(i: int, hot: bool) -> str:
    return "hot-member" if hot else f"m-{i % SPREAD_MEMBERS}"


# The same statements RecordOrder runs for a known member under the default programme.
async def _bare_order(pool: asyncpg.Pool, member_id: str) -> None:
    order_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        await conn.fetchrow("SELECT id, fingerprint, response FROM orders WHERE brand_id = $1 AND external_id = $2",
                            BRAND, order_id)
        await conn.fetchrow("SELECT version, config FROM programs WHERE brand_id = $1 ORDER BY version DESC LIMIT 1",
                            BRAND)
        await conn.fetchval(
            "INSERT INTO orders (id, brand_id, external_id, store_id, member_id, occurred_at, total_fen, item_count,"
            " fingerprint, member_phone, program_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, 0)"
            " ON CONFLICT (brand_id, external_id) DO NOTHING RETURNING id",
            order_id, BRAND, order_id, STORE, member_id, now, 6400, 2, "f" * 64,
        )
        await conn.executemany(
            "INSERT INTO order_items (order_id, line_no, brand_id, sku, name, category, quantity, amount_fen)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", [(order_id, 0, BRAND, "LATTE", "", "coffee", 2, 6400)],
        )
        await conn.execute("INSERT INTO points_accounts (brand_id, member_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                           BRAND, member_id)
        acct = await conn.fetchrow("SELECT balance, debt, growth_value FROM points_accounts WHERE brand_id = $1"
                                   " AND member_id = $2 FOR UPDATE", BRAND, member_id)
        balance = acct["balance"] + 64
        entry = await conn.fetchval(
            "INSERT INTO points_ledger (brand_id, member_id, delta, reason, reference, balance_after, debt_delta,"
            " debt_after, staff_id, note) VALUES ($1, $2, 64, 'ORDER', $3, $4, 0, 0, '', '') RETURNING id",
            BRAND, member_id, order_id, balance,
        )
        lot = await conn.fetchval(
            "INSERT INTO points_lots (brand_id, member_id, ledger_entry_id, points, remaining, earned_at, expires_at)"
            " VALUES ($1, $2, $3, 64, 64, $4, NULL) RETURNING id", BRAND, member_id, entry, now,
        )
        await conn.execute("INSERT INTO growth_ledger (brand_id, member_id, delta, reason, reference, created_at)"
                           " VALUES ($1, $2, 64, 'ORDER', $3, $4)", BRAND, member_id, order_id, now)
        await conn.execute("UPDATE points_accounts SET balance = $3, debt = 0, growth_value = $4, tier = '',"
                           " tier_floor = '', tier_review_at = NULL, updated_at = now() WHERE brand_id = $1"
                           " AND member_id = $2", BRAND, member_id, balance, acct["growth_value"] + 64)
        await conn.execute("UPDATE orders SET response = $3::jsonb, points_earned = 64, growth_earned = 64, lot_id = $4"
                           " WHERE brand_id = $1 AND id = $2", BRAND, order_id,
                           json.dumps({"order_id": order_id, "points_earned": 64}), lot)
        for _ in range(2):  # OrderRecorded + PointsEarned
            await conn.execute(
                "INSERT INTO outbox (event_id, source, event_type, brand_id, envelope, trace)"
                " VALUES ($1, 'bench', 'crm.loyalty.v1.OrderRecorded', $2, $3, '{}'::jsonb)",
                str(uuid.uuid4()), BRAND, b"x" * 200,
            )


async def _latency(stub: LoyaltyServiceStub, rate: float, seconds: float) -> tuple[float, float]:
    """Open-loop load at ``rate`` orders/s for ``seconds``; p50 and p99 in milliseconds."""
    latencies: list[float] = []

    async def one(i: int) -> None:
        started = time.perf_counter()
        await stub.RecordOrder(_request(_member(i, hot=False)))
        latencies.append((time.perf_counter() - started) * 1000)

    tasks = []
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    q = statistics.quantiles(latencies, n=100)
    return q[49], q[98]


async def run() -> list[str]:
    """Start embedded PostgreSQL + NATS, the loyalty service in-process, measure; return report rows."""
    from loyalty.bootstrap import Settings, build, migrate

    progress("loyalty accrual: starting embedded PostgreSQL and NATS")
    with tempfile.TemporaryDirectory(prefix="bench-loyalty-") as tmp:
        # MongoDB is not needed here; an override in the given environment keeps Infra from starting it.
        infra = Infra(tmp, fsync=False, environ={"CRM_MONGO_URI": "mongodb://127.0.0.1:1/unused"}, progress=progress)
        await infra.astart()
        try:
            return await _run(infra, Settings, build, migrate)
        finally:
            await infra.astop()


async def _run(infra: Infra, settings_cls, build, migrate) -> list[str]:  # type: ignore[no-untyped-def]
    await ensure_database(infra.pg_admin_dsn, "bench_loyalty")
    dsn = infra.pg_dsn_for("bench_loyalty")
    directory = Service("members-fake", [(members_pb2_grpc.add_MembersServiceServicer_to_server, _Directory(),
                                          "crm.members.v1.MembersService")])
    async with serving(directory, ServiceSettings(service_name="members-fake", grpc_port=0)) as members_addr:
        settings = settings_cls(pg_dsn=dsn, nats_url=infra.nats_url, members_addr=members_addr, grpc_port=0,
                                pg_pool_max=CONCURRENCY, shutdown_grace_seconds=1.0)
        await migrate(settings)
        async with serving(await build(settings), settings) as addr:
            stub, channel = grpc_client.stub(LoyaltyServiceStub, addr, service="loyalty", timeout=30.0)
            pool = await asyncpg.create_pool(dsn, min_size=CONCURRENCY, max_size=CONCURRENCY)
            try:
                return await _measure(stub, pool)
            finally:
                await pool.close()
                await channel.close()


async def _measure(stub: LoyaltyServiceStub, pool: asyncpg.Pool) -> list[str]:
    async def via_grpc(hot: bool) -> Callable[[int], Awaitable[None]]:
        async def op(n: int) -> None:
            await _spread(lambda i: stub.RecordOrder(_request(_member(i, hot))), n)  # type: ignore[arg-type,return-value]

        return op

    async def bare(n: int) -> None:
        await _spread(lambda i: _bare_order(pool, f"bare-{_member(i, False)}"), n)

    spread_op, hot_op = await via_grpc(False), await via_grpc(True)
    progress("loyalty accrual: warming the member cache")
    await spread_op(SPREAD_MEMBERS)
    subject, baseline = Result("gRPC RecordOrder", []), Result("bare asyncpg", [])
    hot = Result("hot member", [])
    for _ in range(ROUNDS):  # alternate so machine noise hits all alike
        subject.rounds += (await measure("gRPC RecordOrder", spread_op, ops=OPS, rounds=1)).rounds
        baseline.rounds += (await measure("bare asyncpg", bare, ops=OPS, rounds=1)).rounds
        hot.rounds += (await measure("hot member", hot_op, ops=OPS, rounds=1)).rounds
    rate = subject.median / 2
    progress(f"loyalty accrual: latency at half of peak ({rate:,.0f} orders/s)")
    p50, p99 = await _latency(stub, rate, seconds=5.0)
    progress(f"  p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    return [
        report("loyalty order accrual via gRPC (points+tier+outbox, 1 txn)", subject, baseline, goal=0.5),
        report("loyalty hot member (one account) vs spread members", hot, subject, goal=0.5),
        f"| loyalty accrual latency at half of peak ({rate:,.0f}/s) | p50 {p50:.1f} ms | p99 {p99:.1f} ms | — |",
    ]
