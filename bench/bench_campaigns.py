"""Campaigns, "segments in seconds": ``PreviewSegment`` over gRPC (the campaigns service in a process of its own)
for a simple, a typical and a heavy rule and a store manager's scoped rule, over a brand of 200,000 members
(plus two brands of 50,000, so brand scoping matters), vs a hand-written ``SELECT count(*)`` of the same
conditions run by a bare asyncpg connection on the same database in the same run.

The audience is written straight into the campaigns database with binary COPY after the service's migrations:
50 stores around Hangzhou and Shanghai (two without a known location), guides, tiers, tags on ~30% of members,
birthdays, consents, registrations over three years, and purchase histories replayed from the CDNOW master
file (a real customer's order count, spend and purchase days, shifted to start after the member registered,
cut at today), which gives ~2.4 daily-spend rows per buyer. A preview's latency is measured at the client,
one call at a time; medians over several rounds after a warm-up, service and bare query alternating.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import numpy as np
import pandas as pd

from bench.harness import progress
from crm.campaigns.v1 import campaigns_pb2
from crm.campaigns.v1.campaigns_pb2_grpc import CampaignsServiceStub
from crm_common import grpc_client
from crm_common.testing import server_data_dir
from crm_devstack.infra import Infra, ManagedProcess, ensure_database, free_port
from crm_devstack.runner import wait_grpc_serving

BRAND = "b_bench0000000000000000000000000"
OTHER_BRANDS = ("b_bench1111111111111111111111111", "b_bench2222222222222222222222222")
MEMBERS = 200_000
OTHER_MEMBERS = 50_000
STORES = 50
OTHER_STORES = 20
GUIDES_PER_STORE = 10
YEARS = 3
TIMEZONE = "Asia/Shanghai"
UTC_OFFSET_S = 8 * 3600  # Asia/Shanghai has no daylight saving time
ROUNDS = 7
GOAL_MS = 2_000.0
SCOPE_STORES = 5
CDNOW_MASTER = Path(__file__).parent / "data" / "CDNOW_master.txt"
YUAN_PER_DOLLAR = 7.0
HANGZHOU, SHANGHAI = (30.2741, 120.1551), (31.2304, 121.4737)
TIERS = (None, "silver", "gold", "platinum")
TIER_FLOORS_FEN = (30_000, 150_000, 500_000)
# Tags a brand's staff and automations set; each tagged member has each tag with this probability.
TAGS = (("vip", 0.18), ("coffee_lover", 0.30), ("tea", 0.20), ("office", 0.22), ("student", 0.12),
        ("new_parent", 0.08), ("wechat_group", 0.25), ("birthday_club", 0.10), ("wholesale", 0.03),
        ("blocked", 0.05), ("complaint", 0.04), ("pet_owner", 0.07), ("vegan", 0.04), ("dessert", 0.15),
        ("morning", 0.18))
COPY_CHUNK = 25_000
MEMBER_COLUMNS = ("brand_id", "member_id", "store_id", "guide_id", "gender", "birthday", "registered_at",
                  "consents", "order_count", "total_spend_fen", "last_purchase_at", "first_purchase_at", "tags",
                  "attributes", "profile_as_of", "tier", "tier_as_of", "points_balance", "points_as_of",
                  "erased_at")


# Data ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Histories:
    """CDNOW purchase days, flattened: customer c's days are rows start[c] .. start[c] + days[c] - 1."""

    start: np.ndarray
    days: np.ndarray
    offset: np.ndarray  # days since the customer's first purchase
    orders: np.ndarray  # transactions that day
    dollars: np.ndarray


def _histories() -> Histories:
    df = pd.read_csv(CDNOW_MASTER, sep=r"\s+", skiprows=1, header=None,
                     names=["customer", "date", "cds", "dollars"], dtype={"customer": str, "date": str})
    df["day"] = (pd.to_datetime(df["date"], format="%Y%m%d") - pd.Timestamp("1997-01-01")).dt.days
    g = (df.groupby(["customer", "day"], sort=True)
         .agg(orders=("cds", "size"), dollars=("dollars", "sum")).reset_index())
    first = g.groupby("customer")["day"].transform("min").to_numpy()
    customer = g["customer"].to_numpy()
    start = np.flatnonzero(np.r_[True, customer[1:] != customer[:-1]])
    days = np.diff(np.r_[start, len(g)])
    return Histories(start, days, g["day"].to_numpy() - first, g["orders"].to_numpy(), g["dollars"].to_numpy())


def _ids(rng: np.random.Generator, prefix: str, n: int) -> list[str]:
    """Opaque ids as the members service makes them (``m_`` + a random UUID's hex)."""
    raw = rng.bytes(16 * n)
    return [f"{prefix}_{uuid.UUID(bytes=raw[i:i + 16], version=4).hex}" for i in range(0, 16 * n, 16)]


@dataclass
class Brand:
    brand_id: str
    stores: list[tuple[str, float | None, float | None]]  # id, lat, lng
    members: list[tuple[Any, ...]]  # rows of MEMBER_COLUMNS
    daily: list[tuple[str, str, date, int]]  # (brand_id, member_id, day, spend_fen)


def _timestamps(seconds: np.ndarray, present: np.ndarray) -> list[datetime | None]:
    return [datetime.fromtimestamp(s, UTC) if p else None for s, p in zip(seconds.tolist(), present.tolist(),
                                                                          strict=True)]


def _brand(seed: int, brand_id: str, n: int, n_stores: int, hangzhou_share: float, today: int,
           histories: Histories) -> Brand:
    """One brand's stores, members and daily spend. ``today`` is the brand's local date as days since 1970."""
    rng = np.random.default_rng(seed)
    # Stores: some around Hangzhou, the rest around Shanghai, two new ones without a location yet; sizes skewed.
    store_ids = _ids(rng, "s", n_stores)
    in_hangzhou = rng.random(n_stores) < hangzhou_share
    centre = np.where(in_hangzhou[:, None], HANGZHOU, SHANGHAI)
    loc = centre + rng.normal(0.0, 0.06, (n_stores, 2))
    stores: list[tuple[str, float | None, float | None]] = [
        (s, float(la), float(ln)) if i >= 2 else (s, None, None)
        for i, (s, (la, ln)) in enumerate(zip(store_ids, loc, strict=True))
    ]
    size = rng.lognormal(0.0, 0.6, n_stores)
    guide_ids = _ids(rng, "st", n_stores * GUIDES_PER_STORE)

    store = rng.choice(n_stores, n, p=size / size.sum())
    has_guide = rng.random(n) < 0.8
    guide = store * GUIDES_PER_STORE + rng.integers(0, GUIDES_PER_STORE, n)
    gender = rng.choice(np.array(["f", "m", ""], dtype=object), n, p=[0.6, 0.35, 0.05])
    has_birthday = rng.random(n) < 0.75
    birthday = (np.datetime64("1962-01-01") + rng.integers(0, 44 * 365, n)).astype("datetime64[D]")
    # Registrations over three years, more of them lately; local opening hours.
    reg_day = today - (YEARS * 365 * rng.random(n) ** 1.3).astype(np.int64)
    reg_at = reg_day * 86400 + rng.integers(9 * 3600, 22 * 3600, n) - UTC_OFFSET_S

    # Buyers replay a CDNOW customer's purchase days, from a first purchase soon after registering.
    buyer = np.flatnonzero(rng.random(n) < 0.72)
    c = rng.integers(0, len(histories.start), len(buyer))
    lag = np.where(rng.random(len(buyer)) < 0.55, 0, rng.exponential(20, len(buyer)).astype(np.int64))
    first_day = np.minimum(reg_day[buyer] + lag, today)
    scale = rng.lognormal(0.0, 0.3, len(buyer)) * YUAN_PER_DOLLAR * 100
    lens = histories.days[c]
    owner = np.repeat(np.arange(len(buyer)), lens)
    k = histories.start[c][owner] + np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
    day = first_day[owner] + histories.offset[k]
    keep = day <= today
    owner, k, day = owner[keep], k[keep], day[keep]
    fen = np.round(histories.dollars[k] * scale[owner]).astype(np.int64)
    order_count = np.zeros(n, np.int64)
    total = np.zeros(n, np.int64)
    last_day = np.full(n, -1, np.int64)
    order_count[buyer] = np.bincount(owner, histories.orders[k], len(buyer)).astype(np.int64)
    total[buyer] = np.bincount(owner, fen, len(buyer)).astype(np.int64)
    np.maximum.at(last_day, buyer[owner], day)
    first = np.full(n, -1, np.int64)
    first[buyer] = first_day
    bought = order_count > 0
    last_at = last_day * 86400 + rng.integers(9 * 3600, 22 * 3600, n) - UTC_OFFSET_S
    first_at = np.where(first == reg_day, reg_at + 600, first * 86400 + 10 * 3600 - UTC_OFFSET_S)
    last_at = np.maximum(last_at, first_at)

    # Tier follows spend, loosely (growth windows, floors); points are what is left after redemptions.
    tier = np.digitize(total * rng.lognormal(0.0, 0.3, n), TIER_FLOORS_FEN)
    points = (total // 100 * rng.uniform(0.1, 1.0, n)).astype(np.int64)

    tagged = rng.random(n) < 0.30
    pick = rng.random((n, len(TAGS))) < np.array([p for _, p in TAGS])
    fallback = rng.integers(0, len(TAGS), n)
    consent_keys = ("sms", "wechat", "email", "push")
    consent_p = np.array([0.6, 0.85, 0.3, 0.5])
    consent_bits = (rng.random((n, 4)) < consent_p) @ (1 << np.arange(4))
    consent_json = [json.dumps({key: bool(bits >> i & 1) for i, key in enumerate(consent_keys)})
                    for bits in range(16)]
    no_consents = rng.random(n) < 0.08
    sizes = rng.choice(np.array(["S", "M", "L", "XL"], dtype=object), n)
    has_size = rng.random(n) < 0.15
    # A few rows are special: an order arrived before the registration (no profile yet), or the member was erased.
    kind = rng.random(n)
    no_profile, erased = kind < 0.005, (kind >= 0.005) & (kind < 0.008)

    member_ids = _ids(rng, "m", n)
    registered = _timestamps(reg_at, ~no_profile)
    last_ts = _timestamps(last_at, bought)
    first_ts = _timestamps(first_at, bought)
    erased_at = _timestamps(np.full(n, today * 86400), erased)
    birthdays = birthday.tolist()
    members: list[tuple[Any, ...]] = []
    for i in range(n):
        tags: list[str] = []
        if tagged[i] and not erased[i]:
            tags = [TAGS[j][0] for j in np.flatnonzero(pick[i])] or [TAGS[fallback[i]][0]]
        profiled = not no_profile[i] and not erased[i]
        members.append((
            brand_id, member_ids[i],
            store_ids[store[i]] if not no_profile[i] else None,
            guide_ids[guide[i]] if profiled and has_guide[i] else None,
            (gender[i] or None) if profiled else None,
            birthdays[i] if profiled and has_birthday[i] else None,
            registered[i],
            consent_json[consent_bits[i]] if profiled and not no_consents[i] else "{}",
            int(order_count[i]), int(total[i]), last_ts[i], first_ts[i], tags,
            json.dumps({"size": sizes[i]}) if profiled and has_size[i] else "{}",
            registered[i],
            TIERS[tier[i]] if bought[i] else None, last_ts[i] if bought[i] and tier[i] else None,
            int(points[i]), last_ts[i],
            erased_at[i],
        ))
    days = (np.datetime64("1970-01-01") + day.astype("timedelta64[D]")).tolist()
    owners = buyer[owner].tolist()
    daily = [(brand_id, member_ids[m], d, f) for m, d, f in zip(owners, days, fen.tolist(), strict=True)]
    return Brand(brand_id, stores, members, daily)


async def _copy(conn: asyncpg.Connection, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]],
                what: str) -> None:
    started = time.perf_counter()
    for i in range(0, len(rows), COPY_CHUNK):
        await conn.copy_records_to_table(table, records=rows[i:i + COPY_CHUNK], columns=list(columns))
        done = min(i + COPY_CHUNK, len(rows))
        if done == len(rows) or (i // COPY_CHUNK) % 4 == 3:
            progress(f"  {what}: {done:,}/{len(rows):,} rows ({time.perf_counter() - started:.1f} s)")


async def _load(dsn: str, today: date) -> dict[str, Brand]:
    progress("campaigns: reading CDNOW purchase histories")
    histories = _histories()
    local_today = (today - date(1970, 1, 1)).days
    brands: dict[str, Brand] = {}
    conn = await asyncpg.connect(dsn)
    try:
        specs = [(BRAND, MEMBERS, STORES, 0.6), (OTHER_BRANDS[0], OTHER_MEMBERS, OTHER_STORES, 0.2),
                 (OTHER_BRANDS[1], OTHER_MEMBERS, OTHER_STORES, 0.8)]
        for seed, (brand_id, n, n_stores, hangzhou) in enumerate(specs, start=11):
            started = time.perf_counter()
            brand = _brand(seed, brand_id, n, n_stores, hangzhou, local_today, histories)
            progress(f"campaigns: brand {brand_id}: {n:,} members, {len(brand.daily):,} daily-spend rows,"
                     f" {n_stores} stores generated in {time.perf_counter() - started:.1f} s")
            await conn.execute("INSERT INTO audience_brands (brand_id, timezone) VALUES ($1, $2)", brand_id, TIMEZONE)
            await conn.copy_records_to_table("audience_stores", records=[(brand_id, *s) for s in brand.stores],
                                             columns=["brand_id", "store_id", "lat", "lng"])
            await _copy(conn, "audience_members", MEMBER_COLUMNS, brand.members, "audience_members")
            await _copy(conn, "audience_daily_spend", ("brand_id", "member_id", "day", "spend_fen"), brand.daily,
                        "audience_daily_spend")
            brands[brand_id] = brand
        started = time.perf_counter()
        # What autovacuum does soon after a bulk load: statistics, and the visibility map.
        await conn.execute("VACUUM ANALYZE audience_members, audience_daily_spend, audience_stores")
        progress(f"campaigns: VACUUM ANALYZE {time.perf_counter() - started:.1f} s")
    finally:
        await conn.close()
    return brands


# Rules and their hand-written SQL ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One preview: the rule (and scope) sent to the service, and a hand-written count of the same members."""

    name: str
    rule: Any
    scope: list[str] | None
    sql: str
    args: tuple[Any, ...]


_MEMBERS = ("SELECT count(*) FROM audience_members m"
            " WHERE m.brand_id = $1 AND m.erased_at IS NULL AND m.profile_as_of IS NOT NULL AND ")
# days_since_last_purchase > 90 ⟺ the last purchase was before the start of the local day today − 90.
_LAPSED = f"m.last_purchase_at < ($2::date - 90)::timestamp AT TIME ZONE '{TIMEZONE}'"


def _cases(brand: Brand, today: date) -> list[Case]:
    located = [s for s in brand.stores if s[1] is not None]
    # The flagship the distance is measured from: the store nearest Hangzhou's centre.
    flagship = min(located, key=lambda s: (s[1] - HANGZHOU[0]) ** 2 + (s[2] - HANGZHOU[1]) ** 2)  # type: ignore[operator]
    sizes: dict[str, int] = {}
    for row in brand.members:
        sizes[row[2]] = sizes.get(row[2], 0) + 1
    # A store manager's five stores: mid-sized ones.
    by_size = sorted((s[0] for s in brand.stores), key=lambda s: sizes.get(s, 0))
    middle = len(by_size) // 2
    scope = by_size[middle - SCOPE_STORES // 2: middle - SCOPE_STORES // 2 + SCOPE_STORES]
    typical = {"all": [{"field": "consent.sms", "op": "=", "value": True},
                       {"field": "days_since_last_purchase", "op": ">", "value": 90},
                       {"field": "total_spend_fen", "op": ">=", "value": 50_000}]}
    heavy = {"all": [
        {"any": [{"field": "tier", "op": "in", "value": ["gold", "platinum"]},
                 {"field": "spend_90d_fen", "op": ">=", "value": 20_000}]},
        {"field": "birthday_in_days", "op": "<=", "value": 30},
        {"field": "distance_km", "op": "<=", "value": 5, "store_id": flagship[0]},
        {"not": {"field": "tags", "op": "contains", "value": "blocked"}},
    ]}
    typical_sql = f"""m.consents @> '{{"sms": true}}' AND {_LAPSED} AND m.total_spend_fen >= 50000"""
    # What one would write by hand: the stores within 5 km and the members who spent enough in the last 90 days
    # as sets, the birthday with the schema's helper (29 February falls on 28 February in common years).
    heavy_sql = """
        m.store_id IN (SELECT store_id FROM audience_stores
                       WHERE brand_id = $1 AND distance_km(lat, lng, $3, $4) <= 5)
        AND days_until_birthday(m.birthday, $2) <= 30
        AND NOT m.tags @> '{blocked}'
        AND (m.tier IN ('gold', 'platinum')
             OR m.member_id IN (SELECT member_id FROM audience_daily_spend
                                WHERE brand_id = $1 AND day > $2::date - 90
                                GROUP BY member_id HAVING sum(spend_fen) >= 20000))"""
    return [
        Case("simple: tags contains vip", {"field": "tags", "op": "contains", "value": "vip"}, None,
             _MEMBERS + "m.tags @> '{vip}'", (brand.brand_id,)),
        Case("typical: sms consent, lapsed > 90 days, spend ≥ ¥500", typical, None,
             _MEMBERS + typical_sql, (brand.brand_id, today)),
        Case("heavy: (gold/platinum or ¥200 in 90 days), birthday ≤ 30 days, ≤ 5 km, not blocked", heavy, None,
             _MEMBERS + heavy_sql, (brand.brand_id, today, flagship[1], flagship[2])),
        Case(f"store manager ({SCOPE_STORES} stores), the typical rule", typical, scope,
             _MEMBERS + typical_sql + " AND m.store_id = ANY($3::text[])", (brand.brand_id, today, scope)),
    ]


# Measurement -------------------------------------------------------------------------------------------------


async def _ms(op: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await op()
    return (time.perf_counter() - started) * 1000, result


async def _measure(stub: CampaignsServiceStub, conn: asyncpg.Connection, cases: list[Case]) -> list[str]:
    def preview(case: Case) -> Callable[[], Awaitable[Any]]:
        request = campaigns_pb2.PreviewSegmentRequest(brand_id=BRAND, rule_json=json.dumps(case.rule))
        if case.scope is not None:
            request.scope.store_ids.extend(case.scope)
        return lambda: stub.PreviewSegment(request)

    def bare(case: Case) -> Callable[[], Awaitable[Any]]:
        return lambda: conn.fetchval(case.sql, *case.args)

    service_ms: dict[str, list[float]] = {c.name: [] for c in cases}
    bare_ms: dict[str, list[float]] = {c.name: [] for c in cases}
    counts: dict[str, int] = {}
    progress("campaigns: warming up (one preview and one bare count per rule)")
    for case in cases:
        (_, got), (_, want) = await _ms(preview(case)), await _ms(bare(case))
        if got.count != want:  # the two must select the same members, or the comparison means nothing
            raise AssertionError(f"{case.name}: service counts {got.count}, hand-written SQL {want}")
        counts[case.name] = want
        progress(f"  {case.name}: {want:,} members")
    for r in range(ROUNDS):  # alternate so machine noise hits both alike
        for case in cases:
            service_ms[case.name].append((await _ms(preview(case)))[0])
            bare_ms[case.name].append((await _ms(bare(case)))[0])
        progress(f"  round {r + 1}/{ROUNDS}: " + "; ".join(
            f"{service_ms[c.name][-1]:,.0f} / {bare_ms[c.name][-1]:,.0f} ms" for c in cases) + " (service / bare)")
    rows = []
    for case in cases:
        s, b = statistics.median(service_ms[case.name]), statistics.median(bare_ms[case.name])
        spread = f"{min(service_ms[case.name]):,.0f}–{max(service_ms[case.name]):,.0f}"
        verdict = "✅" if s < GOAL_MS else "❌"
        progress(f"  {case.name}: service {s:,.1f} ms ({spread}), bare {b:,.1f} ms, {counts[case.name]:,} members")
        rows.append(
            f"| campaigns segment preview, {case.name} ({counts[case.name]:,} of {MEMBERS:,} members;"
            f" PreviewSegment over gRPC, service in its own process) | {s:,.1f} ms ({spread}) {verdict}"
            f" (goal < {GOAL_MS:,.0f} ms) | {b:,.1f} ms (hand-written count(*), bare asyncpg)"
            f" | **{b / s:.2f}** (bare ÷ service) |"
        )
    return rows


# Entry point ---------------------------------------------------------------------------------------------------


async def run() -> list[str]:
    """Start embedded PostgreSQL + NATS, migrate and load the audience, start campaigns in its own process,
    time the previews against the hand-written counts; return report rows."""
    began = time.perf_counter()
    progress("campaigns: starting embedded PostgreSQL and NATS")
    with server_data_dir("bench-campaigns") as data_dir:
        # MongoDB is not needed here; an override in the given environment keeps Infra from starting it.
        infra = Infra(data_dir, fsync=False, environ={"CRM_MONGO_URI": "mongodb://127.0.0.1:1/unused"},
                      progress=progress)
        await infra.astart()
        try:
            rows = await _run(infra, data_dir)
        finally:
            await infra.astop()
    progress(f"campaigns: done in {time.perf_counter() - began:.0f} s")
    return rows


async def _run(infra: Infra, tmp: Path) -> list[str]:
    await ensure_database(infra.pg_admin_dsn, "bench_campaigns")
    dsn = infra.pg_dsn_for("bench_campaigns")
    port = free_port()
    env = {
        **os.environ, "CRM_ENV": "dev", "CRM_SERVICE_NAME": "campaigns", "CRM_PG_DSN": dsn,
        "CRM_NATS_URL": infra.nats_url, "CRM_GRPC_PORT": str(port), "CRM_METRICS_PORT": str(free_port()),
        "CRM_SHUTDOWN_GRACE_SECONDS": "1", "CRM_DRAIN_DELAY_SECONDS": "0",
    }
    argv = [sys.executable, "-m", "campaigns"]
    migrate = await asyncio.create_subprocess_exec(*argv, "migrate", env=env)
    if await migrate.wait() != 0:
        raise RuntimeError("campaigns migrate failed")
    today = datetime.now(ZoneInfo(TIMEZONE)).date()
    brands = await _load(dsn, today)
    service = ManagedProcess("campaigns", argv, log_path=tmp / "campaigns.log", env=env)
    service.start()
    try:
        addr = f"127.0.0.1:{port}"
        await wait_grpc_serving(addr, service)
        progress(f"campaigns: service pid {service.pid} serving on {addr}")
        stub, channel = grpc_client.stub(CampaignsServiceStub, addr, service="campaigns", timeout=60.0)
        conn = await asyncpg.connect(dsn)
        try:
            if datetime.now(ZoneInfo(TIMEZONE)).date() != today:
                raise RuntimeError("the brand's day changed during the load; run again")
            return await _measure(stub, conn, _cases(brands[BRAND], today))
        finally:
            await conn.close()
            await channel.close()
    finally:
        await asyncio.to_thread(service.stop)


if __name__ == "__main__":
    print(*asyncio.run(run()), sep="\n")
