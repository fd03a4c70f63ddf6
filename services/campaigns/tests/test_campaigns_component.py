"""Component tests: the campaigns service on real PostgreSQL and NATS, driven by real events and gRPC."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import grpc
import pytest

from crm.campaigns.v1 import campaigns_pb2
from crm.loyalty.v1.events_pb2 import OrderRecorded
from crm.members.v1.events_pb2 import MemberRegistered
from crm_common.errors import RemoteError
from crm_common.events import MSG_ID, build_envelope, headers_for

from .conftest import Harness, eventually


def registration(brand_id: str, member_id: str, at: datetime) -> MemberRegistered:
    msg = MemberRegistered(brand_id=brand_id, member_id=member_id, store_id="s-1", guide_id="g-1", gender="f")
    msg.registered_at.FromDatetime(at)
    msg.consents["sms"] = True
    return msg


def order(brand_id: str, member_id: str, at: datetime, total_fen: int) -> OrderRecorded:
    msg = OrderRecorded(
        brand_id=brand_id,
        order_id=f"o-{uuid.uuid4().hex[:12]}",
        external_id=uuid.uuid4().hex,
        store_id="s-2",
        member_id=member_id,
        total_fen=total_fen,
    )
    msg.occurred_at.FromDatetime(at)
    return msg


EARLY = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
LATE = datetime(2026, 3, 5, 9, 30, tzinfo=UTC)


async def test_two_orders_fold_into_registered_member_even_out_of_order(campaigns: Harness) -> None:
    registered = datetime(2026, 2, 1, tzinfo=UTC)
    await campaigns.publish(registration(campaigns.brand_id, "m-1", registered), "members")
    # The later order is delivered first: last_purchase_at must still end up at the later one.
    await campaigns.publish(order(campaigns.brand_id, "m-1", LATE, 3000), "loyalty")
    await campaigns.publish(order(campaigns.brand_id, "m-1", EARLY, 12345), "loyalty")

    member = await eventually(
        lambda: campaigns.member("m-1"), lambda m: m.order_count == 2 and m.HasField("registered_at")
    )
    assert member.total_spend_fen == 15345
    assert member.last_purchase_at.ToDatetime(tzinfo=UTC) == LATE
    assert member.registered_at.ToDatetime(tzinfo=UTC) == registered
    assert member.store_id == "s-1"  # the owning store, not the store of the last order


async def test_order_before_registration_keeps_its_facts(campaigns: Harness) -> None:
    await campaigns.publish(order(campaigns.brand_id, "m-2", EARLY, 999), "loyalty")
    await eventually(lambda: campaigns.member("m-2"), lambda m: m.order_count == 1)
    await campaigns.publish(registration(campaigns.brand_id, "m-2", LATE), "members")

    member = await eventually(lambda: campaigns.member("m-2"), lambda m: m.HasField("registered_at"))
    assert (member.order_count, member.total_spend_fen) == (1, 999)
    assert member.last_purchase_at.ToDatetime(tzinfo=UTC) == EARLY
    assert member.store_id == "s-1"


async def test_same_order_delivered_twice_counts_once(campaigns: Harness) -> None:
    msg = order(campaigns.brand_id, "m-3", EARLY, 1000)
    first = build_envelope(msg, source="loyalty", brand_id=campaigns.brand_id, subject="")
    await campaigns.bus.publish(first)
    # The same event again under another Nats-Msg-Id, so JetStream's dedupe lets it through and only the
    # consumer's inbox can stop it.
    headers = {**headers_for(first), MSG_ID: f"redelivery-{uuid.uuid4()}"}
    ack = await campaigns.bus.js.publish(first.type, first.SerializeToString(), headers=headers)
    assert not ack.duplicate
    # A later order on the same consumer: once it shows, the duplicate before it has been handled.
    await campaigns.publish(order(campaigns.brand_id, "m-3", LATE, 7), "loyalty")

    member = await eventually(
        lambda: campaigns.member("m-3"), lambda m: m.last_purchase_at.ToDatetime(tzinfo=UTC) == LATE
    )
    assert (member.order_count, member.total_spend_fen) == (2, 1007)


async def test_order_without_member_makes_no_audience_row(campaigns: Harness) -> None:
    await campaigns.publish(order(campaigns.brand_id, "", EARLY, 500), "loyalty")
    # Handled in stream order: once m-4's order shows, the anonymous one before it has been handled.
    await campaigns.publish(order(campaigns.brand_id, "m-4", EARLY, 1), "loyalty")
    await eventually(lambda: campaigns.member("m-4"), lambda m: m.order_count == 1)

    conn = await asyncpg.connect(campaigns.pg_dsn)
    try:
        rows = await conn.fetch(
            "SELECT member_id FROM audience_members WHERE brand_id = $1", campaigns.brand_id
        )
    finally:
        await conn.close()
    assert [r["member_id"] for r in rows] == ["m-4"]

    with pytest.raises(RemoteError) as err:
        await campaigns.member("")
    assert (err.value.code, err.value.field) == (grpc.StatusCode.INVALID_ARGUMENT, "member_id")


async def test_member_of_another_brand_is_not_found(campaigns: Harness) -> None:
    await campaigns.publish(registration(campaigns.brand_id, "m-5", EARLY), "members")
    await eventually(lambda: campaigns.member("m-5"), lambda m: m.HasField("registered_at"))

    with pytest.raises(RemoteError) as err:
        await campaigns.client.GetAudienceMember(
            campaigns_pb2.GetAudienceMemberRequest(brand_id="some-other-brand", member_id="m-5")
        )
    assert err.value.code == grpc.StatusCode.NOT_FOUND
