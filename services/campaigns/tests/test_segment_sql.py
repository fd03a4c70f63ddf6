"""The SQL a rule compiles to selects exactly the members the Python evaluator selects.

Random members (missing facts, time zones around midnight, leap-day birthdays, numeric and text attributes)
go into real PostgreSQL; random rules over every field and operator are evaluated both ways.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from campaigns.adapters import segment_store
from campaigns.bootstrap import CampaignsSettings, migrate
from campaigns.domain.segments import FIELDS, Clock, MemberFacts, matches, parse_rule

BRAND = "brand-sql"
NOW = datetime(2026, 2, 28, 17, 30, tzinfo=UTC)  # 01:30 on 1 March in Shanghai: days roll over
STORES = {"s1": (30.2590, 120.1500), "s2": (30.2700, 120.0800), "s3": (31.2304, 121.4737), "s4": None}
TAGS = ["vip", "coffee", "tea", "新客"]
ATTRS = {"size": ["38", "40", "42.5", "-3", "big", "42\n"], "city": ["Hangzhou", "hangzhou", "上海", "B"]}


def _member(rng: random.Random, i: int) -> MemberFacts:
    def maybe(value: Any) -> Any:
        return value if rng.random() < 0.8 else None

    bought = rng.random() < 0.7
    return MemberFacts(
        store_id=maybe(rng.choice(list(STORES))),
        guide_id=maybe(rng.choice(["g1", "g2"])),
        tier=maybe(rng.choice(["silver", "gold"])),
        gender=maybe(rng.choice(["f", "m"])),
        tags=tuple(rng.sample(TAGS, rng.randint(0, 3))),
        birthday=maybe(rng.choice([date(2000, 2, 29), date(1990, 3, 1), date(1985, 2, 28),
                                   date(1999, 12, 31), date(1970, 1, 1) + timedelta(days=rng.randint(0, 20000))])),
        registered_at=NOW - timedelta(hours=rng.randint(0, 24 * 800)),
        first_purchase_at=NOW - timedelta(hours=rng.randint(24 * 400, 24 * 900)) if bought else None,
        last_purchase_at=NOW - timedelta(hours=rng.randint(0, 24 * 400)) if bought else None,
        order_count=rng.randint(1, 20) if bought else 0,
        total_spend_fen=rng.randint(0, 200_000) if bought else 0,
        daily_spend={(NOW - timedelta(days=d)).date(): rng.randint(-500, 9_000)
                     for d in rng.sample(range(0, 120), rng.randint(0, 4))} if bought else {},
        points_balance=rng.randint(-50, 5_000),
        consents={k: rng.random() < 0.5 for k in ("sms", "wechat", "email", "push") if rng.random() < 0.7},
        attributes={k: rng.choice(v) for k, v in ATTRS.items() if rng.random() < 0.7},
    )


def _leaf(rng: random.Random) -> dict[str, Any]:
    field = rng.choice([*FIELDS, "attributes.size", "attributes.city"])
    if field == "distance_km":
        return {"field": field, "store_id": rng.choice(["s1", "s3"]), "op": rng.choice(["<", "<=", ">", ">="]),
                "value": rng.choice([0.5, 3, 7, 200])}
    if field == "tags":
        op = rng.choice(["contains", "contains_any", "exists"])
        value: Any = {"contains": rng.choice(TAGS), "contains_any": rng.sample(TAGS, 2),
                      "exists": rng.random() < 0.5}[op]
        return {"field": field, "op": op, "value": value}
    if rng.random() < 0.1:
        return {"field": field, "op": "exists", "value": rng.random() < 0.5}
    if field.startswith("consent."):
        return {"field": field, "op": rng.choice(["=", "!="]), "value": rng.random() < 0.5}
    if field in ("store_id", "guide_id", "tier", "gender"):
        pool = {"store_id": list(STORES), "guide_id": ["g1", "g2"], "tier": ["silver", "gold"],
                "gender": ["f", "m"]}[field]
        op = rng.choice(["=", "!=", "in", "not_in"])
        return {"field": field, "op": op, "value": rng.sample(pool, 2) if "in" in op else rng.choice(pool)}
    if field.startswith("attributes."):
        op = rng.choice(["=", "!=", ">", ">=", "<", "<=", "in", "not_in", "contains"])
        choices: list[Any] = [40, 42.5, -3, "Hangzhou", "B", "hang", "上海", True]
        if op == "contains":
            return {"field": field, "op": op, "value": rng.choice(["ang", "42", "上"])}
        if op in (">", ">=", "<", "<="):
            choices.remove(True)  # true/false are compared for equality only
        return {"field": field, "op": op,
                "value": rng.sample(choices, 3) if "in" in op else rng.choice(choices)}
    op = rng.choice(["=", "!=", ">", ">=", "<", "<=", "in", "not_in"])
    numbers = [0, 1, 2, 5, 30, 89, 90, 365, 1000, 5000.5, 100_000]
    if field == "repurchase_due_in_days":
        numbers = [-30, -1, 0, 1, 2, 7, 30]
    return {"field": field, "op": op, "value": rng.sample(numbers, 3) if "in" in op else rng.choice(numbers)}


def _rule(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    if depth >= 3 or rng.random() < 0.4:
        return _leaf(rng)
    kind = rng.choice(["all", "any", "not"])
    if kind == "not":
        return {"not": _rule(rng, depth + 1)}
    return {kind: [_rule(rng, depth + 1) for _ in range(rng.randint(1, 3))]}


@pytest.fixture
async def pool(pg_dsn_factory: Callable[[str], str], nats_url: str) -> AsyncIterator[asyncpg.Pool]:
    dsn = pg_dsn_factory("campaigns_segment_sql")
    await migrate(CampaignsSettings(pg_dsn=dsn, nats_url=nats_url, env="test"))
    async with asyncpg.create_pool(dsn, min_size=1, max_size=2) as pool:
        yield pool


async def _insert(pool: asyncpg.Pool, members: dict[str, MemberFacts]) -> None:
    await pool.executemany(
        "INSERT INTO audience_stores (brand_id, store_id, lat, lng) VALUES ($1, $2, $3, $4)",
        [(BRAND, s, *(loc or (None, None))) for s, loc in STORES.items()],
    )
    await pool.executemany(
        """
        INSERT INTO audience_members (brand_id, member_id, store_id, guide_id, tier, gender, tags, birthday,
            registered_at, profile_as_of, last_purchase_at, order_count, total_spend_fen, points_balance,
            consents, attributes, first_purchase_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, $13, $14::jsonb, $15::jsonb, $16)
        """,
        [(BRAND, mid, m.store_id, m.guide_id, m.tier, m.gender, list(m.tags), m.birthday, m.registered_at,
          m.last_purchase_at, m.order_count, m.total_spend_fen, m.points_balance, json.dumps(m.consents),
          json.dumps(m.attributes), m.first_purchase_at) for mid, m in members.items()],
    )
    await pool.executemany(
        "INSERT INTO audience_daily_spend (brand_id, member_id, day, spend_fen) VALUES ($1, $2, $3, $4)",
        [(BRAND, mid, day, v) for mid, m in members.items() for day, v in m.daily_spend.items()],
    )


async def test_sql_and_python_select_the_same_members(pool: asyncpg.Pool) -> None:
    rng = random.Random(20261127)
    members = {f"m{i:04d}": _member(rng, i) for i in range(300)}
    await _insert(pool, members)
    clock = Clock.at(NOW, "Asia/Shanghai")
    stores = {s: loc for s, loc in STORES.items() if loc}
    selected_somewhere = 0
    for n in range(400):
        raw = _rule(rng)
        rule = parse_rule(raw)
        expected = sorted(mid for mid, m in members.items() if matches(rule, m, clock, stores))
        got = await segment_store.member_ids(pool, BRAND, rule, clock, stores, None)
        assert got == expected, f"rule #{n} {json.dumps(raw, ensure_ascii=False)}"
        selected_somewhere += 0 < len(expected) < len(members)
    # The rules discriminate (neither all nor none) often enough for the comparison to mean something.
    assert selected_somewhere > 150


async def test_store_scope_limits_the_selection(pool: asyncpg.Pool) -> None:
    rng = random.Random(7)
    members = {f"m{i:04d}": _member(rng, i) for i in range(100)}
    await _insert(pool, members)
    clock = Clock.at(NOW, "Asia/Shanghai")
    rule = parse_rule({"field": "order_count", "op": ">=", "value": 0})
    scoped = await segment_store.member_ids(pool, BRAND, rule, clock, {}, ["s1", "s2"])
    assert scoped == sorted(mid for mid, m in members.items() if m.store_id in ("s1", "s2"))
    assert await segment_store.member_ids(pool, BRAND, rule, clock, {}, []) == []
    assert await segment_store.member_ids(pool, "other-brand", rule, clock, {}, None) == []
