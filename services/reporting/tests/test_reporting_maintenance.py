"""Rebuild from the streams and reconciliation with loyalty, on real PostgreSQL, NATS and gRPC.

The live service runs throughout the rebuild (its consumers keep writing); members and loyalty are small
fakes served over real gRPC.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime

import asyncpg
import grpc
import pytest

from crm.loyalty.v1 import loyalty_pb2, loyalty_pb2_grpc
from crm.loyalty.v1.events_pb2 import OrderRecorded, OrderRefunded
from crm.loyalty.v1.loyalty_pb2_grpc import LoyaltyServiceStub
from crm.members.v1.events_pb2 import BrandCreated, MemberMerged, MemberRegistered
from crm.reporting.v1 import reporting_pb2
from crm_common.bus import EventBus
from crm_common.grpc_client import stub
from crm_common.grpc_server import serving
from crm_common.settings import ServiceSettings
from reporting import commands
from reporting.adapters import repository
from reporting.adapters.maintenance import Rebuild, reconcile
from reporting.bootstrap import ReportingSettings, migrate

from .conftest import FakeLoyalty, Live, eventually, fake_service


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _order(b: str, order_id: str, member: str, at: str, fen: int, store: str = "S1") -> OrderRecorded:
    msg = OrderRecorded(
        brand_id=b, order_id=order_id, external_id=order_id, store_id=store, member_id=member, total_fen=fen
    )
    msg.occurred_at.FromDatetime(_at(at))
    return msg


def _registered(b: str, member: str) -> MemberRegistered:
    msg = MemberRegistered(brand_id=b, member_id=member, store_id="S1")
    msg.registered_at.FromDatetime(_at("2026-03-01T10:00:00+08:00"))
    return msg


async def _seed(live: Live, b: str) -> None:
    """A brand with two members (B later merged into A), three orders and a refund, all in March 2026."""
    await live.publish(BrandCreated(brand_id=b, code=b, name=b, timezone="Asia/Shanghai"), "members", b)
    for m in ("A", "B"):
        await live.publish(_registered(b, m), "members", b)
    await live.publish(_order(b, "o1", "A", "2026-03-02T12:00:00+08:00", 10_000), "loyalty", b)
    await live.publish(_order(b, "o2", "B", "2026-03-03T12:00:00+08:00", 4_000), "loyalty", b)
    await live.publish(_order(b, "o3", "B", "2026-03-04T12:00:00+08:00", 6_000, "S2"), "loyalty", b)
    refund = OrderRefunded(brand_id=b, order_id="o3", refund_id="r1", store_id="S2", member_id="B", amount_fen=1_000)
    refund.occurred_at.FromDatetime(_at("2026-03-05T12:00:00+08:00"))
    await live.publish(refund, "loyalty", b)
    await eventually(lambda: live.kpis(b), lambda k: k.refunded_fen == 1_000 and k.new_members == 2)
    await live.publish(MemberMerged(brand_id=b, survivor_member_id="A", merged_member_id="B"), "members", b)
    await eventually(lambda: live.kpis(b), lambda k: k.buyers == 1)


def _figures(k: reporting_pb2.Kpis) -> tuple[int, ...]:
    return (k.orders, k.revenue_fen, k.gross_revenue_fen, k.refunded_fen, k.buyers, k.repeat_buyers, k.new_members)


async def test_rebuild_of_one_brand_restores_its_facts_and_leaves_others_alone(live: Live) -> None:
    b, other = f"rb-{uuid.uuid4().hex[:10]}", f"rb-{uuid.uuid4().hex[:10]}"
    await _seed(live, b)
    await _seed(live, other)
    # 3 orders, 20000 gross − 1000 refunded; after the merge one buyer (A) on three days; A alone remains.
    expected = (3, 19_000, 20_000, 1_000, 1, 1, 1)
    assert _figures(await live.kpis(b)) == expected
    # Facts drift (a lost order, a corrupted rollup, a merge not applied), in both brands.
    for brand in (b, other):
        await live.pool.execute("DELETE FROM order_facts WHERE brand_id = $1 AND order_id = 'o1'", brand)
        await live.pool.execute("UPDATE daily_store_rollup SET revenue_fen = 0 WHERE brand_id = $1", brand)
        await live.pool.execute("UPDATE order_facts SET member_id = 'B' WHERE brand_id = $1 AND order_id = 'o2'", brand)
        # Whole-brand buyers come from the purchase days: lose them too.
        await live.pool.execute("DELETE FROM purchase_day_facts WHERE brand_id = $1", brand)
        await live.pool.execute("DELETE FROM member_purchase_days WHERE brand_id = $1", brand)
        await live.pool.execute(
            "INSERT INTO purchase_day_facts (brand_id, member_id, local_date) VALUES ($1, 'Z', '2026-03-09')", brand
        )
    drifted = _figures(await live.kpis(other))
    assert drifted != expected

    lines: list[str] = []
    result = await Rebuild(live.pool, live.dsn, live.bus, live.members, brand_id=b, progress=lines.append).run()

    assert _figures(await live.kpis(b)) == expected
    assert (result.orders, result.members) == (3, 1)
    assert _figures(await live.kpis(other)) == drifted  # another brand's facts were not touched
    # The live consumer goes on after the swap, and counts a new order exactly once.
    await live.publish(_order(b, "o4", "A", "2026-03-06T12:00:00+08:00", 500), "loyalty", b)
    k = await eventually(lambda: live.kpis(b), lambda k: k.orders >= 4)
    await asyncio.sleep(0.5)
    assert _figures(await live.kpis(b)) == (4, 19_500, 20_500, 1_000, 1, 1, 1) == _figures(k)
    days = await live.pool.fetch(
        "SELECT local_date, prev_date FROM purchase_day_facts WHERE brand_id = $1 ORDER BY local_date", b
    )
    assert [(r["local_date"].day, r["prev_date"] and r["prev_date"].day) for r in days] == [
        (2, None),
        (3, 2),
        (4, 3),
        (6, 4),
    ]
    # Nothing of the rebuild is left behind: schema, inbox rows, consumers.
    assert await live.pool.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'rebuild\\_%'") == 0
    assert await live.pool.fetchval("SELECT count(*) FROM processed_events WHERE consumer LIKE 'rebuild-%'") == 0
    names = [c.name async for c in _consumer_names(live.bus)]
    assert not [n for n in names if n.startswith("rebuild-")]


async def _consumer_names(bus: EventBus):  # type: ignore[no-untyped-def]
    for stream in ("members", "loyalty"):
        from crm_common.events import stream_for

        for info in await bus.js.consumers_info(stream_for(stream)):
            yield info


async def test_full_rebuild_replays_every_brand(live: Live) -> None:
    b = f"rb-{uuid.uuid4().hex[:10]}"
    await _seed(live, b)
    await live.pool.execute("DELETE FROM order_facts")
    await live.pool.execute("DELETE FROM daily_store_rollup")
    assert (await live.kpis(b)).orders == 0

    await Rebuild(live.pool, live.dsn, live.bus, live.members, progress=lambda _: None).run()

    assert _figures(await live.kpis(b)) == (3, 19_000, 20_000, 1_000, 1, 1, 1)


# Reconciliation ------------------------------------------------------------------------------------------------


async def test_reconcile_reports_each_brand_and_the_differences(
    pg_dsn_factory: Callable[[str], str], nats_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dsn = pg_dsn_factory("reporting_reconcile")
    await migrate(ReportingSettings(pg_dsn=dsn, nats_url=nats_url))
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    fake = FakeLoyalty()
    service = fake_service(
        "loyalty-fake", loyalty_pb2_grpc.add_LoyaltyServiceServicer_to_server, fake, loyalty_pb2, "LoyaltyService"
    )
    try:
        async with pool.acquire() as conn, conn.transaction():
            for brand, orders in (("good", [1000, 2500]), ("short", [700])):
                await repository.save_brand(conn, brand, "Asia/Shanghai", authoritative=True)
                for i, fen in enumerate(orders):
                    await repository.add_order(
                        conn,
                        repository.OrderFact(
                            brand, f"{brand}-{i}", "S1", "M", datetime(2026, 3, 1, tzinfo=UTC), date(2026, 3, 1), fen
                        ),
                    )
            await repository.add_refund(
                conn,
                repository.RefundFact(
                    "good", "r1", "good-1", "S1", "M", datetime(2026, 3, 2, tzinfo=UTC), date(2026, 3, 2), 500
                ),
            )
        fake.totals["good"] = loyalty_pb2.OrderTotals(orders=2, total_fen=3500, refunds=1, refunded_fen=500)
        fake.totals["short"] = loyalty_pb2.OrderTotals(orders=2, total_fen=1500, refunds=0, refunded_fen=0)
        async with serving(service, ServiceSettings(service_name="loyalty-fake", env="test")) as addr:
            loyalty, channel = stub(LoyaltyServiceStub, addr, service="loyalty")
            try:
                results = {r.brand_id: r for r in await reconcile(pool, loyalty, ["good", "short"])}
            finally:
                await channel.close()
            assert results["good"].ok and results["good"].facts == (2, 3500, 1, 500)
            assert not results["short"].ok
            assert results["short"].describe() == (
                "short: MISMATCH orders facts=1 loyalty=2 (Δ -1); total_fen facts=700 loyalty=1500 (Δ -800)"
            )
            # The command: every brand reporting knows, exit status 1 when any differs.
            settings = ReportingSettings(pg_dsn=dsn, nats_url=nats_url, loyalty_addr=addr, env="test")
            assert await commands.reconcile_command(settings, None) == 1
            assert await commands.reconcile_command(settings, "good") == 0
        out = capsys.readouterr().out
        assert "good: OK orders=2 total_fen=3500 refunds=1 refunded_fen=500" in out
        assert "short: MISMATCH" in out
    finally:
        await pool.close()


async def test_reconcile_surfaces_a_loyalty_outage(pg_dsn_factory: Callable[[str], str], nats_url: str) -> None:
    dsn = pg_dsn_factory("reporting_reconcile_down")
    await migrate(ReportingSettings(pg_dsn=dsn, nats_url=nats_url))
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    loyalty, channel = stub(LoyaltyServiceStub, "127.0.0.1:1", service="loyalty", timeout=1.0)
    try:
        with pytest.raises(Exception) as err:
            await reconcile(pool, loyalty, ["any"])
        assert grpc.StatusCode.UNAVAILABLE.name in str(err.value) or "unavailable" in str(err.value).lower()
    finally:
        await channel.close()
        await pool.close()
