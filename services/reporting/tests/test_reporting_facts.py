"""Component tests of the facts: refunds and net revenue (by category too), coupon redemption rates, points
held for their order, transfers and merges, anomaly detection, and scheduled delivery by email (a local
aiosmtpd server) and webhook (a local HTTP server)."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from email.message import Message as EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import nats.errors
import pytest
from aiosmtpd.controller import Controller

from crm.loyalty.v1.events_pb2 import (
    CouponGranted,
    CouponRedeemed,
    OrderLine,
    OrderRecorded,
    OrderRefunded,
    PointsEarned,
)
from crm.members.v1.events_pb2 import BrandCreated, MemberRegistered, MembersTransferred
from crm.reporting.v1 import reporting_pb2
from crm_common.errors import InvalidArgument
from crm_common.events import decode, stream_for
from crm_common.grpc_client import RemoteError
from crm_devstack.infra import free_port
from reporting.adapters import delivery
from reporting.adapters.delivery import SmtpSettings
from reporting.app import Reports, Schedule, new_schedule_id
from reporting.domain.webhooks import AllowList

from .conftest import Live, eventually

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=SHANGHAI).astimezone(UTC)


def _order(
    b: str, order_id: str, member: str, day: str, lines: list[tuple[str, int]], store: str = "S1"
) -> OrderRecorded:
    msg = OrderRecorded(
        brand_id=b,
        order_id=order_id,
        external_id=order_id,
        store_id=store,
        member_id=member,
        total_fen=sum(fen for _, fen in lines),
        lines=[OrderLine(sku=f"{c}-1", category=c, quantity=1, amount_fen=fen) for c, fen in lines],
    )
    msg.occurred_at.FromDatetime(_at(day))
    return msg


def _refund(
    b: str,
    refund_id: str,
    order_id: str,
    member: str,
    day: str,
    fen: int,
    lines: list[tuple[str, int]] = (),
    store: str = "S1",
) -> OrderRefunded:  # type: ignore[assignment]
    msg = OrderRefunded(
        brand_id=b,
        order_id=order_id,
        refund_id=refund_id,
        store_id=store,
        member_id=member,
        amount_fen=fen,
        lines=[OrderLine(sku=f"{c}-1", category=c, quantity=1, amount_fen=f) for c, f in lines],
    )
    msg.occurred_at.FromDatetime(_at(day))
    return msg


async def _kpis(live: Live, b: str, first: str, last: str, **scope: str) -> reporting_pb2.Kpis:
    return await live.client.GetKpis(reporting_pb2.GetKpisRequest(brand_id=b, from_date=first, to_date=last, **scope))


async def _brand(live: Live) -> str:
    b = f"f-{uuid.uuid4().hex[:10]}"
    await live.publish(BrandCreated(brand_id=b, code=b, name=b, timezone="Asia/Shanghai"), "members", b)
    return b


async def test_refunds_reduce_net_revenue_on_their_day_and_by_category(live: Live) -> None:
    b = await _brand(live)
    await live.publish(_order(b, "o1", "A", "2026-03-02", [("coffee", 6000), ("bakery", 4000)]), "loyalty", b)
    await live.publish(_order(b, "o2", "A", "2026-03-03", [("coffee", 2000)]), "loyalty", b)
    # Without lines: split pro rata over o1's categories (3000 coffee, 2000 bakery); with lines: as given.
    await live.publish(_refund(b, "r1", "o1", "A", "2026-03-10", 5000), "loyalty", b)
    await live.publish(_refund(b, "r2", "o2", "A", "2026-03-11", 500, [("coffee", 500)]), "loyalty", b)
    k = await eventually(lambda: _kpis(live, b, "2026-03-01", "2026-03-31"), lambda k: k.refunds == 2)

    assert (k.orders, k.gross_revenue_fen, k.refunded_fen, k.revenue_fen, k.aov_fen) == (2, 12000, 5500, 6500, 3250)
    # A refund counts on the day it is made: the order's week keeps its gross, the refund's day goes negative.
    first_week = await _kpis(live, b, "2026-03-01", "2026-03-07")
    assert (first_week.revenue_fen, first_week.refunded_fen) == (12000, 0)
    refund_day = await _kpis(live, b, "2026-03-10", "2026-03-10")
    assert (refund_day.orders, refund_day.revenue_fen, refund_day.aov_fen) == (0, -5000, 0)
    coffee = await _kpis(live, b, "2026-03-01", "2026-03-31", category="coffee")
    bakery = await _kpis(live, b, "2026-03-01", "2026-03-31", category="bakery")
    assert (coffee.orders, coffee.gross_revenue_fen, coffee.refunded_fen, coffee.revenue_fen) == (2, 8000, 3500, 4500)
    assert (bakery.orders, bakery.gross_revenue_fen, bakery.refunded_fen, bakery.revenue_fen) == (1, 4000, 2000, 2000)


async def test_coupon_redemption_rate_by_template_and_points_on_their_orders_day(live: Live) -> None:
    b = await _brand(live)
    for i in range(4):
        await live.publish(
            CouponGranted(brand_id=b, member_id="A", coupon_code=f"T1-{i}", template_id="T1"), "loyalty", b
        )
    await live.publish(CouponGranted(brand_id=b, member_id="A", coupon_code="T2-0", template_id="T2"), "loyalty", b)
    await live.publish(
        CouponRedeemed(brand_id=b, member_id="A", coupon_code="T1-0", template_id="T1", store_id="S1"), "loyalty", b
    )
    # Loyalty sends an order's points just before the order: they wait and land on the order's day and store.
    await live.publish(PointsEarned(brand_id=b, member_id="A", order_id="o1", points=120), "loyalty", b)
    await live.publish(_order(b, "o1", "A", "2026-03-02", [("coffee", 12000)], store="S2"), "loyalty", b)
    today = datetime.now(SHANGHAI).date()
    span = ((today - timedelta(days=1)).isoformat(), (today + timedelta(days=1)).isoformat())

    k = await eventually(
        lambda: _kpis(live, b, *span),
        lambda k: sum(c.redeemed for c in k.coupons) == 1 and sum(c.granted for c in k.coupons) == 5,
    )

    rates = {c.template_id: (c.granted, c.redeemed, c.redemption_rate) for c in k.coupons}
    assert rates == {"T1": (4, 1, 0.25), "T2": (1, 0, 0.0)}
    points = await eventually(
        lambda: _kpis(live, b, "2026-03-02", "2026-03-02", store_id="S2"), lambda k: k.points_issued > 0
    )
    assert points.points_issued == 120
    assert (await _kpis(live, b, "2026-03-02", "2026-03-02", store_id="S1")).points_issued == 0


async def test_transfers_move_guide_figures_and_merges_move_facts(live: Live) -> None:
    b = await _brand(live)
    for m in ("A", "B"):
        reg = MemberRegistered(brand_id=b, member_id=m, store_id="S1", guide_id="G1")
        reg.registered_at.FromDatetime(_at("2026-03-01", 10))
        await live.publish(reg, "members", b)
    await live.publish(_order(b, "o1", "A", "2026-03-02", [("coffee", 1000)]), "loyalty", b)
    await live.publish(_order(b, "o2", "B", "2026-03-03", [("coffee", 3000)]), "loyalty", b)
    month = ("2026-03-01", "2026-03-31")
    g1 = await eventually(lambda: _kpis(live, b, *month, guide_id="G1"), lambda k: k.orders == 2)
    assert (g1.revenue_fen, g1.buyers, g1.new_members) == (4000, 2, 2)

    await live.publish(
        MembersTransferred(
            brand_id=b,
            transfer_id="t1",
            from_store_id="S1",
            from_guide_id="G1",
            to_store_id="S2",
            to_guide_id="G2",
            member_ids=["B"],
        ),
        "members",
        b,
    )
    g2 = await eventually(lambda: _kpis(live, b, *month, guide_id="G2"), lambda k: k.orders == 1)
    assert (g2.revenue_fen, g2.buyers) == (3000, 1)
    assert ((await _kpis(live, b, *month, guide_id="G1")).revenue_fen) == 1000
    # Orders stay where they were taken: store S1 keeps both.
    assert (await _kpis(live, b, *month, store_id="S1")).orders == 2

    from crm.members.v1.events_pb2 import MemberMerged

    await live.publish(MemberMerged(brand_id=b, survivor_member_id="A", merged_member_id="B"), "members", b)
    merged = await eventually(lambda: _kpis(live, b, *month), lambda k: k.buyers == 1)
    # One person now, buying on two days: a repeat buyer; orders and revenue unchanged.
    assert (merged.orders, merged.revenue_fen, merged.buyers, merged.repeat_buyers) == (2, 4000, 1, 1)


def _expected_buyers(days: dict[str, set[date]], first: date, last: date, window: int) -> tuple[int, ...]:
    """(buyers, repeat buyers, active, churned) straight from the definitions, per member."""
    current = last - timedelta(days=window - 1)
    previous = current - timedelta(days=window)
    inside = [sum(first <= d <= last for d in ds) for ds in days.values()]
    now = [any(current <= d <= last for d in ds) for ds in days.values()]
    before = [any(previous <= d < current for d in ds) for ds in days.values()]
    return (
        sum(n >= 1 for n in inside),
        sum(n >= 2 for n in inside),
        sum(now),
        sum(b and not n for b, n in zip(before, now, strict=True)),
    )


async def test_buyers_and_churn_stay_exact_with_late_and_same_day_orders(live: Live) -> None:
    import random

    b = await _brand(live)
    rng = random.Random(6)
    start = date(2026, 1, 1)
    orders = [(f"o{i}", f"M{rng.randrange(6)}", start + timedelta(days=rng.randrange(90))) for i in range(60)]
    rng.shuffle(orders)  # late orders: a member's earlier days arrive after later ones
    for order_id, member, day in orders:
        await live.publish(_order(b, order_id, member, day.isoformat(), [("coffee", 1000)]), "loyalty", b)
    await eventually(lambda: _kpis(live, b, "2026-01-01", "2026-03-31"), lambda k: k.orders == len(orders))
    days: dict[str, set[date]] = {}
    for _, member, day in orders:
        days.setdefault(member, set()).add(day)

    for first, last, window in [
        (date(2026, 1, 1), date(2026, 3, 31), 30),
        (date(2026, 2, 10), date(2026, 2, 20), 7),
        (date(2026, 1, 15), date(2026, 3, 1), 20),
        (date(2026, 3, 1), date(2026, 3, 1), 1),
    ]:
        k = await live.client.GetKpis(
            reporting_pb2.GetKpisRequest(
                brand_id=b, from_date=first.isoformat(), to_date=last.isoformat(), churn_window_days=window
            )
        )
        assert (k.buyers, k.repeat_buyers, k.active_members, k.churned_members) == _expected_buyers(
            days, first, last, window
        ), (first, last, window)
    # The stored previous days are exactly each member's preceding purchase days.
    stored = await live.pool.fetch(
        "SELECT member_id, local_date, prev_date, prev2_date FROM purchase_day_facts WHERE brand_id = $1", b
    )
    expected = set()
    for member, ds in days.items():
        ordered = sorted(ds)
        for i, d in enumerate(ordered):
            expected.add((member, d, ordered[i - 1] if i >= 1 else None, ordered[i - 2] if i >= 2 else None))
    assert {tuple(r) for r in stored} == expected


async def test_a_collapse_in_a_stores_revenue_is_an_anomaly_once(live: Live) -> None:
    b = await _brand(live)
    start = date(2026, 2, 1)
    # 28 steady days around 10000 fen at S1, then a day of 500.
    for i in range(28):
        day = (start + timedelta(days=i)).isoformat()
        await live.publish(_order(b, f"o{i}", f"M{i % 5}", day, [("coffee", 9500 + (i % 3) * 500)]), "loyalty", b)
    crash = (start + timedelta(days=28)).isoformat()
    await live.publish(_order(b, "crash", "M1", crash, [("coffee", 500)]), "loyalty", b)
    await eventually(lambda: _kpis(live, b, "2026-02-01", crash), lambda k: k.orders == 29)

    found = await live.client.DetectAnomalies(reporting_pb2.DetectAnomaliesRequest(brand_id=b, day=crash))
    again = await live.client.DetectAnomalies(reporting_pb2.DetectAnomaliesRequest(brand_id=b, day=crash))
    listed = await live.client.ListAnomalies(reporting_pb2.ListAnomaliesRequest(brand_id=b))

    revenue = [a for a in found.anomalies if a.metric == "revenue_fen"]
    assert [(a.store_id, a.day, a.value) for a in revenue] == [("S1", crash, 500.0)]
    assert revenue[0].low > 500
    assert not again.anomalies  # stored once, emitted once
    assert [a.id for a in listed.anomalies if a.metric == "revenue_fen"] == [revenue[0].id]
    # Announced through the outbox on the reporting stream, for the console and campaigns.
    announced = await eventually(lambda: _announced(live, b), lambda ids: revenue[0].id in ids)
    assert announced.count(revenue[0].id) == 1


async def _announced(live: Live, brand_id: str) -> list[str]:
    """Anomaly ids of the brand's AnomalyDetected events on the reporting stream so far."""
    await live.bus.ensure_stream("reporting")
    sub = await live.bus.js.pull_subscribe("crm.reporting.v1.AnomalyDetected", stream=stream_for("reporting"))
    ids = []
    try:
        while True:
            try:
                msgs = await sub.fetch(200, timeout=0.5)
            except (nats.errors.TimeoutError, TimeoutError):  # nats.py raises either when the poll is empty
                break
            for msg in msgs:
                event = decode(msg.data, msg.headers or {})
                if event.brand_id == brand_id:
                    ids.append(event.payload.anomaly_id)
    finally:
        await sub.unsubscribe()
    return ids


# Delivery ------------------------------------------------------------------------------------------------------


class _Inbox:
    """aiosmtpd handler keeping every message."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Any:
    inbox = _Inbox()
    port = free_port()  # aiosmtpd's readiness probe connects to the given port, so 0 will not do
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
async def webhook() -> AsyncIterator[tuple[list[dict[str, Any]], str]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(
                {**json.loads(self.rfile.read(int(self.headers["Content-Length"]))), "_host": self.headers["Host"]}
            )
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()


def _attachments(msg: EmailMessage) -> dict[str, bytes]:
    return {part.get_filename(): part.get_payload(decode=True) for part in msg.walk() if part.get_filename()}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_scheduled_report_by_email_and_webhook(live: Live, smtp: Any, webhook: Any, fmt: str) -> None:
    inbox, port = smtp
    received, url = webhook
    b = await _brand(live)
    await live.publish(_order(b, "o1", "A", "2026-03-02", [("coffee", 4200)]), "loyalty", b)
    await eventually(lambda: _kpis(live, b, "2026-03-02", "2026-03-02"), lambda k: k.orders == 1)
    reports = Reports(
        live.pool,
        smtp=SmtpSettings("127.0.0.1", port, "reports@crm.test"),
        webhook_allow=AllowList.parse(["127.0.0.1"]),
    )
    schedule, run_at = await reports.create_schedule(
        Schedule(new_schedule_id(), b, "Daily KPIs", "kpis", "08:00", ("boss@example.com",), url, fmt, 1)
    )
    assert run_at.astimezone(SHANGHAI).strftime("%H:%M") == "08:00"

    out = await reports.deliver(b, schedule.id, on=date(2026, 3, 3))

    assert out == {
        "schedule_id": schedule.id,
        "emails": 1,
        "webhook": True,
        "from_date": "2026-03-02",
        "to_date": "2026-03-02",
    }
    await eventually(lambda: asyncio.sleep(0, len(inbox.messages)), lambda n: n == 1)
    mail = inbox.messages[0]
    assert mail["To"] == "boss@example.com" and "Daily KPIs" in mail["Subject"]
    files = _attachments(mail)
    stem = "kpis_2026-03-02_2026-03-02"
    assert set(files) == {f"{stem}.{fmt}", f"{stem}.png"}
    assert files[f"{stem}.png"].startswith(b"\x89PNG\r\n\x1a\n")
    if fmt == "csv":
        assert b"orders,1" in files[f"{stem}.csv"] and b"revenue_fen,4200" in files[f"{stem}.csv"]
    else:
        assert files[f"{stem}.xlsx"].startswith(b"PK")  # a zip container, as every xlsx is
    [hook] = received
    assert (hook["schedule_id"], hook["report"], hook["from"], hook["to"]) == (
        schedule.id,
        "kpis",
        "2026-03-02",
        "2026-03-02",
    )
    assert ["orders", 1] in hook["rows"]
    attached = {a["filename"]: base64.b64decode(a["content_base64"]) for a in hook["attachments"]}
    assert attached[f"{stem}.png"].startswith(b"\x89PNG")


async def test_a_run_of_orders_in_one_statement_counts_as_one_by_one(live: Live) -> None:
    from reporting.adapters import repository

    def facts(b: str) -> list[repository.OrderFact]:
        rows = [
            ("o1", "A", 5, [("coffee", 300), ("tea", 200)]),
            ("o2", "A", 3, [("coffee", 100)]),
            ("o3", None, 5, [("bakery", 700)]),
            ("o1", "A", 5, [("coffee", 999)]),  # a re-emitted order
            ("o4", "B", 5, [("coffee", 50), ("coffee", 60)]),
            ("o5", "A", 1, []),
            ("o6", "A", 5, [("tea", 10)]),
        ]
        return [
            repository.OrderFact(
                b,
                oid,
                f"S{len(lines) % 2}",
                member,
                _at(f"2026-03-0{day}"),
                date(2026, 3, day),
                sum(fen for _, fen in lines),
                tuple(repository.Line(f"{c}-1", c, 1, fen) for c, fen in lines),
            )
            for oid, member, day, lines in rows
        ]

    one_by_one, together = f"obo-{uuid.uuid4().hex[:8]}", f"run-{uuid.uuid4().hex[:8]}"
    async with live.pool.acquire() as conn, conn.transaction():
        for b in (one_by_one, together):
            await repository.hold_order_points(conn, b, "o2", 40)
            # A bought on day 5 already: o2 (day 3) and o5 (day 1) arrive late.
            await repository.add_order(conn, facts(b)[-1])
        sequential = [await repository.add_order(conn, f) for f in facts(one_by_one)[:-1]]
        batched = await repository.add_orders(conn, facts(together)[:-1])
    assert sequential == batched == [True, True, True, False, True, True]

    tables = [
        "order_facts",
        "order_line_facts",
        "daily_store_rollup",
        "daily_category_rollup",
        "daily_points_rollup",
        "pending_order_points",
        "member_purchase_days",
        "purchase_day_facts",
    ]
    for table in tables:
        rows = {
            b: sorted(
                tuple(v for k, v in r.items() if k != "brand_id")
                for r in await live.pool.fetch(f"SELECT * FROM {table} WHERE brand_id = $1", b)
            )
            for b in (one_by_one, together)
        }
        assert rows[one_by_one] == rows[together], table
        assert rows[together] or table == "pending_order_points", table


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest",
        "http://10.0.0.8/hook",
        "https://224.0.0.1/hook",
        "http://[::ffff:192.168.1.1]/hook",
        "http://0.0.0.0/",
    ],
)
async def test_webhook_to_an_internal_address_is_refused_at_creation_naming_the_field(live: Live, url: str) -> None:
    b = await _brand(live)
    with pytest.raises(RemoteError) as err:
        await live.client.CreateReportSchedule(
            reporting_pb2.CreateReportScheduleRequest(
                brand_id=b, name="leak", report="kpis", local_time="08:00", webhook_url=url
            )
        )
    assert (err.value.code, err.value.field, err.value.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "webhook_url",
        "WEBHOOK_URL_FORBIDDEN",
    )
    assert await live.pool.fetchval("SELECT count(*) FROM report_schedules WHERE brand_id = $1", b) == 0


async def test_webhook_is_checked_again_at_delivery(live: Live, webhook: Any) -> None:
    received, url = webhook
    b = await _brand(live)
    allowed = Reports(live.pool, webhook_allow=AllowList.parse(["127.0.0.1"]))
    schedule, _ = await allowed.create_schedule(
        Schedule(new_schedule_id(), b, "Hook", "kpis", "08:00", (), url, "csv", 1)
    )
    # The same stored schedule, delivered by a service whose allow-list no longer has the address (as when a
    # name that resolved to a public address is re-pointed at an internal one): nothing leaves.
    strict = Reports(live.pool)
    with pytest.raises(InvalidArgument) as err:
        await strict.deliver(b, schedule.id, on=date(2026, 3, 3))
    assert (err.value.field, err.value.reason) == ("webhook_url", "WEBHOOK_URL_FORBIDDEN")
    assert received == []


async def test_delivery_goes_to_the_address_that_was_checked(
    live: Live, webhook: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ipaddress

    received, url = webhook
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    lookups: list[str] = []
    answers = iter(["127.0.0.1", "10.9.9.9"])  # a rebinding DNS: a second answer would be internal

    async def rebinding(host: str, port: int) -> list[Any]:
        lookups.append(host)
        return [ipaddress.ip_address(next(answers))]

    monkeypatch.setattr(delivery, "resolve_host", rebinding)
    b = await _brand(live)
    hook = f"http://hooks.example.test:{port}/hook"  # a name only the fake DNS above knows
    await live.pool.execute(
        "INSERT INTO report_schedules (id, brand_id, name, report, local_time, webhook_url, format, period_days)"
        " VALUES ('rs-pin', $1, 'Hook', 'kpis', '08:00', $2, 'csv', 1)",
        b,
        hook,
    )

    await Reports(live.pool, webhook_allow=AllowList.parse(["127.0.0.1"])).deliver(b, "rs-pin", on=date(2026, 3, 3))

    # One lookup, checked, and the request went to that address with the URL's host in the Host header.
    assert lookups == ["hooks.example.test"]
    [sent] = received
    assert (sent["schedule_id"], sent["_host"]) == ("rs-pin", f"hooks.example.test:{port}")
