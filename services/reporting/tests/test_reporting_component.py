"""Component tests: the reporting service on real PostgreSQL and NATS, fed by real events, read over gRPC.

The members service it asks for brand timezones is a small fake served over real gRPC.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import grpc
import pytest
from google.protobuf.message import Message

from crm.loyalty.v1.events_pb2 import OrderRecorded
from crm.members.v1 import members_pb2, members_pb2_grpc
from crm.members.v1.events_pb2 import BrandCreated, MemberRegistered
from crm.reporting.v1 import reporting_pb2
from crm.reporting.v1.reporting_pb2_grpc import ReportingServiceStub
from crm_common.bus import EventBus
from crm_common.errors import NotFound, RemoteError
from crm_common.events import MSG_ID, build_envelope, headers_for
from crm_common.grpc_client import stub
from crm_common.grpc_server import Service, serving
from crm_common.settings import ServiceSettings
from reporting.bootstrap import ReportingSettings, build, migrate

T = TypeVar("T")
WAIT_SECONDS = 10.0


async def eventually(probe: Callable[[], Awaitable[T]], done: Callable[[T], bool]) -> T:
    """Poll ``probe`` until ``done`` holds for its result (events are applied asynchronously)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        result = await probe()
        if done(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {WAIT_SECONDS}s; last result: {result}")
        await asyncio.sleep(0.05)


class FakeMembers(members_pb2_grpc.MembersServiceServicer):
    """Just enough of the members service: GetBrand.

    Every brand exists (in Shanghai unless a test says otherwise), because events of earlier tests stay
    in the shared streams and reach this test's fresh database too; a test hides a brand to see retries.
    """

    def __init__(self) -> None:
        self.timezones: dict[str, str] = {}
        self.hidden: set[str] = set()
        self.calls: list[str] = []

    async def GetBrand(
        self, request: members_pb2.GetBrandRequest, context: grpc.aio.ServicerContext
    ) -> members_pb2.Brand:
        self.calls.append(request.brand_id)
        if request.brand_id in self.hidden:
            raise NotFound("brand not found", reason="BRAND_NOT_FOUND")
        timezone = self.timezones.get(request.brand_id, "Asia/Shanghai")
        return members_pb2.Brand(id=request.brand_id, timezone=timezone)


@dataclass
class Harness:
    """A running reporting service, a client of it, the fake members service and a publisher."""

    client: ReportingServiceStub
    bus: EventBus
    members: FakeMembers
    brand_id: str = field(default_factory=lambda: f"b-{uuid.uuid4().hex[:12]}")

    async def publish(self, msg: Message, source: str) -> None:
        await self.bus.publish(build_envelope(msg, source=source, brand_id=self.brand_id, subject=""))

    async def kpis(self, from_date: str, to_date: str, store_id: str = "") -> reporting_pb2.Kpis:
        return await self.client.GetKpis(
            reporting_pb2.GetKpisRequest(
                brand_id=self.brand_id, from_date=from_date, to_date=to_date, store_id=store_id
            )
        )


@pytest.fixture
async def reporting(
    request: pytest.FixtureRequest, pg_dsn_factory: Callable[[str], str], nats_url: str
) -> AsyncIterator[Harness]:
    fake = FakeMembers()
    members_name = members_pb2.DESCRIPTOR.services_by_name["MembersService"].full_name
    members_service = Service(
        name="members-fake",
        servicers=[(members_pb2_grpc.add_MembersServiceServicer_to_server, fake, members_name)],
    )
    bus = await EventBus.connect(nats_url, name="reporting-test-publisher")
    for producer in ("members", "loyalty"):
        await bus.ensure_stream(producer)
    members_settings = ServiceSettings(service_name="members-fake", env="test")
    async with serving(members_service, members_settings) as members_addr:
        settings = ReportingSettings(
            pg_dsn=pg_dsn_factory(f"reporting_{request.node.name}"),
            nats_url=nats_url,
            members_addr=members_addr,
            env="test",
            pg_pool_min=1,
        )
        await migrate(settings)
        async with serving(await build(settings), settings) as addr:
            client, channel = stub(ReportingServiceStub, addr, service="reporting")
            try:
                yield Harness(client, bus, fake)
            finally:
                await channel.close()
    await bus.close()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def order(
    brand_id: str, order_id: str, store_id: str, member_id: str, at: str, total_fen: int
) -> OrderRecorded:
    msg = OrderRecorded(
        brand_id=brand_id,
        order_id=order_id,
        external_id=f"ext-{order_id}",
        store_id=store_id,
        member_id=member_id,
        total_fen=total_fen,
    )
    msg.occurred_at.FromDatetime(utc(at))
    return msg


def registration(brand_id: str, member_id: str, store_id: str, at: str) -> MemberRegistered:
    msg = MemberRegistered(brand_id=brand_id, member_id=member_id, store_id=store_id)
    msg.registered_at.FromDatetime(utc(at))
    return msg


def as_tuple(k: reporting_pb2.Kpis) -> tuple[int, int, int, int, int, float, int]:
    return (k.orders, k.revenue_fen, k.aov_fen, k.buyers, k.repeat_buyers, k.repurchase_rate, k.new_members)


async def test_kpis_match_a_hand_computation_in_shanghai_days(reporting: Harness) -> None:
    b = reporting.brand_id
    reporting.members.timezones[b] = "Asia/Shanghai"  # learnt over gRPC: no BrandCreated in this test
    await reporting.publish(registration(b, "A", "S1", "2026-02-28T16:30:00Z"), "members")  # local 03-01
    await reporting.publish(registration(b, "B", "S2", "2026-02-28T15:00:00Z"), "members")  # local 02-28
    # Local (UTC+8) days in the comments. Range 03-01..03-02 holds o1, o2, o3, o4, o5 and o7.
    orders = [
        order(b, "o1", "S1", "A", "2026-03-01T02:00:00Z", 10000),  # 03-01
        order(b, "o2", "S1", "A", "2026-03-01T17:00:00Z", 5001),  # 03-02 01:00 — the next local day
        order(b, "o3", "S2", "B", "2026-03-01T05:00:00Z", 20000),  # 03-01
        order(b, "o4", "S2", "B", "2026-03-01T08:00:00Z", 3000),  # 03-01 again: B is no repeat buyer
        order(b, "o5", "S2", "", "2026-03-02T03:00:00Z", 1999),  # 03-02, not a member
        order(b, "o6", "S1", "C", "2026-02-28T15:59:00Z", 7000),  # 02-28 23:59 — before the range
        order(b, "o7", "S2", "A", "2026-03-02T15:59:59Z", 4000),  # 03-02 23:59:59
    ]
    for msg in orders:
        await reporting.publish(msg, "loyalty")
    # The same o1 event again under another Nats-Msg-Id (only the inbox can stop it), and o1 re-emitted
    # as a new event (only the order id can stop it).
    first = build_envelope(orders[0], source="loyalty", brand_id=b, subject="")
    await reporting.bus.publish(first)
    headers = {**headers_for(first), MSG_ID: f"again-{uuid.uuid4()}"}
    await reporting.bus.js.publish(first.type, first.SerializeToString(), headers=headers)
    # Last on the stream: once it is counted, everything published before it has been handled.
    await reporting.publish(order(b, "o8", "S2", "C", "2026-03-02T16:00:00Z", 1), "loyalty")  # 03-03 00:00

    await eventually(
        lambda: reporting.kpis("2026-02-28", "2026-03-03"), lambda k: k.orders >= 8 and k.new_members == 2
    )

    # orders 6; revenue 10000+5001+20000+3000+1999+4000 = 44000; aov 7333.33 → 7333;
    # buyers A and B; repeat A (03-01 and 03-02); B bought twice but on one day; rate 1/2; new: A.
    assert as_tuple(await reporting.kpis("2026-03-01", "2026-03-02")) == (6, 44000, 7333, 2, 1, 0.5, 1)
    # Store S1: o1, o2 → 15001 / 2 = 7500.5 → 7501; A bought there on two days; A registered there.
    assert as_tuple(await reporting.kpis("2026-03-01", "2026-03-02", "S1")) == (2, 15001, 7501, 1, 1, 1.0, 1)
    # Store S2: o3, o4, o5, o7 → 28999 / 4 = 7249.75 → 7250; A (03-02) and B (03-01) one day each.
    assert as_tuple(await reporting.kpis("2026-03-01", "2026-03-02", "S2")) == (4, 28999, 7250, 2, 0, 0.0, 0)
    # The local day before: only o6 and B's registration.
    assert as_tuple(await reporting.kpis("2026-02-28", "2026-02-28")) == (1, 7000, 7000, 1, 0, 0.0, 1)
    # The whole span: o1 counted once despite two more deliveries.
    assert as_tuple(await reporting.kpis("2026-02-28", "2026-03-03")) == (8, 51001, 6375, 3, 2, 2 / 3, 2)
    # Once cached, the timezone is read locally (the two consumers may each have asked once meanwhile).
    asked = reporting.members.calls.count(b)
    await reporting.publish(order(b, "o9", "S1", "A", "2026-03-05T01:00:00Z", 100), "loyalty")
    await eventually(lambda: reporting.kpis("2026-03-05", "2026-03-05"), lambda k: k.orders == 1)
    assert reporting.members.calls.count(b) == asked <= 2


async def test_brand_created_sets_the_report_timezone(reporting: Harness) -> None:
    b = reporting.brand_id
    # Members will not answer for this brand: if the order overtakes BrandCreated it is retried until
    # BrandCreated has been applied, never dated with a guessed timezone.
    reporting.members.hidden.add(b)
    created = BrandCreated(brand_id=b, code="ny", name="NY", timezone="America/New_York")
    await reporting.publish(created, "members")
    # 03:00Z on 2 March is 22:00 on 1 March in New York.
    await reporting.publish(order(b, "n1", "S1", "M", "2026-03-02T03:00:00Z", 2500), "loyalty")

    kpis = await eventually(lambda: reporting.kpis("2026-03-01", "2026-03-01"), lambda k: k.orders == 1)
    assert (kpis.revenue_fen, kpis.buyers) == (2500, 1)
    assert (await reporting.kpis("2026-03-02", "2026-03-02")).orders == 0


@pytest.mark.parametrize(
    ("from_date", "to_date", "field"),
    [
        ("", "2026-03-01", "from"),
        ("2026/03/01", "2026-03-01", "from"),
        ("2026-03-01", "tomorrow", "to"),
        ("2026-03-02", "2026-03-01", "to"),
        ("2020-01-01", "2026-03-01", "to"),
    ],
)
async def test_bad_date_range_is_invalid_argument_naming_the_field(
    reporting: Harness, from_date: str, to_date: str, field: str
) -> None:
    with pytest.raises(RemoteError) as err:
        await reporting.kpis(from_date, to_date)
    assert (err.value.code, err.value.field) == (grpc.StatusCode.INVALID_ARGUMENT, field)


async def test_brand_without_facts_reports_zeros(reporting: Harness) -> None:
    assert as_tuple(await reporting.kpis("2026-03-01", "2026-03-31")) == (0, 0, 0, 0, 0, 0.0, 0)
