"""Loyalty order accrual (order, points, lot, growth, tier and outbox in one transaction): through the service's
gRPC API vs a bare asyncpg script running the same SQL, on the same embedded PostgreSQL in the same run;
p50/p99 latency at half of peak; one hot member vs orders spread over many members."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from bench.harness import Result, measure, progress, report, spread
from crm.loyalty.v1 import events_pb2, loyalty_pb2
from crm.loyalty.v1.loyalty_pb2_grpc import LoyaltyServiceStub
from crm.members.v1 import events_pb2 as members_events
from crm.members.v1 import members_pb2, members_pb2_grpc
from crm_common import grpc_client, pg
from crm_common.bus import EventBus
from crm_common.events import build_envelope, new_event_id, trace_carrier
from crm_common.grpc_server import Service, serving
from crm_common.settings import ServiceSettings
from crm_devstack.infra import Infra, ManagedProcess, ensure_database, free_port
from crm_devstack.runner import wait_grpc_serving
from loyalty.adapters.repository import FIND_ORDER_AND_PROGRAM

CONCURRENCY = 16
OPS = 1_500
ROUNDS = 3
SPREAD_MEMBERS = 2_000
BRAND = "bench-brand"
STORE = "bench-store"


class _Directory(members_pb2_grpc.MembersServiceServicer):
    """Every store and member exists (the bench measures loyalty, not the directory); counts member lookups."""

    def __init__(self) -> None:
        self.member_lookups = 0

    async def GetStore(self, request, context):  # type: ignore[no-untyped-def]
        return members_pb2.Store(id=request.store_id, brand_id=request.brand_id, open=True)

    async def GetMember(self, request, context):  # type: ignore[no-untyped-def]
        self.member_lookups += 1
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


# The statements RecordOrder runs for a known member (no birthday) under the default programme (no tiers, no
# expiry, so no job and no qualifying-growth read): FIND_ORDER_AND_PROGRAM (the retry check with the programme
# version) and the text of LoyaltyRepository.claim_order, .lock_account and .write_order_credit (they are
# inline, not module constants), with the same round trips, transaction boundaries and pool (crm_common.pg).
# Left out: gRPC, validation and the outbox relay. No members calls on either side: the bench registers its
# members through the members stream first, so the service resolves them from its own accounts (as in
# production) in the statement both sides run first.
# Outbox rows are real envelopes (built once per event type, fresh time-ordered event id per row), so the rows
# have the service's size, key order, source and types without timing protobuf work.
_CLAIM_ORDER = (
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
    " SELECT id FROM o"
)
_LOCK_ACCOUNT = (
    "SELECT brand_id, member_id, balance, growth_value, tier, debt, tier_floor, tier_review_at, birthday"
    " FROM points_accounts WHERE brand_id = $1 AND member_id = $2 FOR UPDATE"
)
_WRITE_ORDER_CREDIT = (
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
    " SELECT (SELECT id FROM led) AS entry_id, (SELECT id FROM lot) AS lot_id"
)
_SOURCE = "loyalty"  # the service's default service_name, its outbox source
_POINTS = _GROWTH = 64  # the default programme on 6,400 fen: 1 point and 1 growth per yuan


def _envelope(message: Message) -> tuple[str, bytes]:
    envelope = build_envelope(message, source=_SOURCE, brand_id=BRAND, subject=str(uuid.uuid4()))
    return envelope.type, envelope.SerializeToString()


_RECORDED_TYPE, _RECORDED_ENVELOPE = _envelope(events_pb2.OrderRecorded(
    brand_id=BRAND, order_id=str(uuid.uuid4()), external_id=f"B-{uuid.uuid4().hex}", store_id=STORE,
    member_id="bare-m-0000", total_fen=6400, item_count=2,
    lines=[events_pb2.OrderLine(sku="LATTE", category="coffee", quantity=2, amount_fen=6400)],
    occurred_at=Timestamp(seconds=int(time.time())),
))
_EARNED_TYPE, _EARNED_ENVELOPE = _envelope(events_pb2.PointsEarned(
    brand_id=BRAND, member_id="bare-m-0000", order_id=str(uuid.uuid4()), points=_POINTS, balance_after=6400,
))


async def _bare_order(pool: asyncpg.Pool, member_id: str) -> None:
    order_id, external_id = str(uuid.uuid4()), f"B-{uuid.uuid4().hex}"
    trace = json.dumps(trace_carrier())
    # The retry check with the programme version and the known-member lookup, on the pool, before the transaction.
    await pool.fetchrow(FIND_ORDER_AND_PROGRAM, BRAND, external_id, member_id)
    recorded_at = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        # Before the lock: order + lines + account (opened if missing) + OrderRecorded, one statement.
        await conn.fetchval(
            _CLAIM_ORDER, order_id, BRAND, external_id, STORE, member_id, recorded_at, 6400, 2, "f" * 64, None, 0,
            ["LATTE"], [""], ["coffee"], [2], [6400], None,
            new_event_id(), _SOURCE, _RECORDED_TYPE, _RECORDED_ENVELOPE, trace, None,
        )
        # Under the lock: the FOR UPDATE read and one write statement.
        acct = await conn.fetchrow(_LOCK_ACCOUNT, BRAND, member_id)
        balance, growth_value = acct["balance"] + _POINTS, acct["growth_value"] + _GROWTH
        answer = {"order_id": order_id, "points_earned": _POINTS,
                  "member": {"member_id": member_id, "points_balance": balance, "tier": acct["tier"]}}
        await conn.fetchrow(
            _WRITE_ORDER_CREDIT, BRAND, member_id, _POINTS, order_id, balance, 0, acct["debt"], recorded_at, None,
            _GROWTH, growth_value, acct["tier"], acct["tier_floor"], acct["tier_review_at"], None, _POINTS, _GROWTH,
            json.dumps(answer), [new_event_id()], [_SOURCE], [_EARNED_TYPE], [_EARNED_ENVELOPE], [trace],
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
    """Start embedded PostgreSQL + NATS and the loyalty service in a process of its own (as deployed, so the
    load generator does not share its event loop), measure; return report rows."""
    progress("loyalty accrual: starting embedded PostgreSQL and NATS")
    with tempfile.TemporaryDirectory(prefix="bench-loyalty-") as tmp:
        # MongoDB is not needed here; an override in the given environment keeps Infra from starting it.
        infra = Infra(tmp, fsync=False, environ={"CRM_MONGO_URI": "mongodb://127.0.0.1:1/unused"}, progress=progress)
        await infra.astart()
        try:
            return await _run(infra, Path(tmp))
        finally:
            await infra.astop()


async def _register_members(nats_url: str, pool: asyncpg.Pool) -> None:
    """Publish MemberRegistered for the bench's members, as the members service would, and wait until loyalty
    knows them: orders then resolve their member from loyalty's own accounts, as in production, where a
    member rarely orders twice within the member cache's 30 s."""
    members = [_member(0, hot=True), *(_member(i, hot=False) for i in range(SPREAD_MEMBERS))]
    progress(f"loyalty accrual: registering {len(members):,} members through the members stream")
    bus = await EventBus.connect(nats_url, name="bench-loyalty")
    try:
        await bus.ensure_stream("members")
        for start in range(0, len(members), 500):
            batch = [
                (build_envelope(members_events.MemberRegistered(brand_id=BRAND, member_id=m, store_id=STORE),
                                source="members", brand_id=BRAND, subject=m), None)
                for m in members[start:start + 500]
            ]
            _, error = await bus.publish_batch(batch)
            if error is not None:
                raise error
    finally:
        await bus.close()
    deadline = time.monotonic() + 120
    while (known := await pool.fetchval(
        "SELECT count(*) FROM points_accounts WHERE brand_id = $1 AND member_known_at IS NOT NULL", BRAND
    )) < len(members):
        if time.monotonic() > deadline:
            raise RuntimeError(f"loyalty knows {known} of {len(members)} registered members after 120 s")
        await asyncio.sleep(0.2)


async def _run(infra: Infra, tmp: Path) -> list[str]:
    await ensure_database(infra.pg_admin_dsn, "bench_loyalty")
    dsn = infra.pg_dsn_for("bench_loyalty")
    members = _Directory()
    directory = Service("members-fake", [(members_pb2_grpc.add_MembersServiceServicer_to_server, members,
                                          "crm.members.v1.MembersService")])
    async with serving(directory, ServiceSettings(service_name="members-fake", grpc_port=0)) as members_addr:
        port = free_port()
        env = {
            **os.environ, "CRM_ENV": "dev", "CRM_SERVICE_NAME": "loyalty", "CRM_PG_DSN": dsn,
            "CRM_NATS_URL": infra.nats_url, "CRM_MEMBERS_ADDR": members_addr, "CRM_GRPC_PORT": str(port),
            "CRM_METRICS_PORT": str(free_port()),
            "CRM_SHUTDOWN_GRACE_SECONDS": "1", "CRM_DRAIN_DELAY_SECONDS": "0",
        }
        argv = [sys.executable, "-m", "loyalty"]
        migrate = await asyncio.create_subprocess_exec(*argv, "migrate", env=env)
        if await migrate.wait() != 0:
            raise RuntimeError("loyalty migrate failed")
        service = ManagedProcess("loyalty", argv, log_path=tmp / "loyalty.log", env=env)
        service.start()
        try:
            addr = f"127.0.0.1:{port}"
            await wait_grpc_serving(addr, service)
            progress(f"loyalty accrual: service pid {service.pid} serving on {addr}")
            stub, channel = grpc_client.stub(LoyaltyServiceStub, addr, service="loyalty", timeout=30.0)
            pool = await pg.create_pool(dsn, min_size=CONCURRENCY, max_size=CONCURRENCY)
            try:
                await _register_members(infra.nats_url, pool)
                rows = await _measure(stub, pool)
                progress(f"loyalty accrual: GetMember calls to the directory, whole run: {members.member_lookups}")
                return rows
            finally:
                await pool.close()
                await channel.close()
        finally:
            await asyncio.to_thread(service.stop)


async def _measure(stub: LoyaltyServiceStub, pool: asyncpg.Pool) -> list[str]:
    async def via_grpc(hot: bool) -> Callable[[int], Awaitable[None]]:
        async def op(n: int) -> None:
            await _spread(lambda i: stub.RecordOrder(_request(_member(i, hot))), n)  # type: ignore[arg-type,return-value]

        return op

    async def bare(n: int) -> None:
        await _spread(lambda i: _bare_order(pool, f"bare-{_member(i, False)}"), n)

    spread_op, hot_op = await via_grpc(False), await via_grpc(True)
    progress("loyalty accrual: warming up (connections, prepared statements, the programme cache)")
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
