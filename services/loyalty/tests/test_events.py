"""Component tests of loyalty's events: what it publishes on LOYALTY, and the members events it consumes."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest
from google.protobuf.message import Message
from nats.js.errors import NotFoundError
from prometheus_client import REGISTRY

from crm.loyalty.v1 import events_pb2 as loyalty_events
from crm.loyalty.v1 import loyalty_pb2
from crm.members.v1 import events_pb2 as members_events
from crm_common.events import MSG_ID, Event, build_envelope, decode, headers_for, stream_for

from .conftest import Brand, Stack
from .test_orders import order_request, rejected

CONSUMER = "loyalty-members"


async def events_of_brand(stack: Stack, service: str, brand: Brand) -> list[tuple[Event, dict[str, str]]]:
    """Every event of ``brand`` now stored in ``service``'s stream, read straight from JetStream."""
    stream = stream_for(service)
    state = (await stack.bus.js.stream_info(stream)).state
    found = []
    for seq in range(max(state.first_seq, 1), state.last_seq + 1):  # an empty stream reports 0
        try:
            msg = await stack.bus.js.get_msg(stream, seq)
        except NotFoundError:
            continue
        headers = msg.headers or {}
        if headers.get("crm-brand-id") == brand.id:
            found.append((decode(msg.data, headers), headers))
    return found


async def publish_member_event(stack: Stack, brand_id: str, member_id: str, message: Message) -> str:
    """Publish a members event about ``member_id`` as the members service would; returns its event id."""
    envelope = build_envelope(message, source="members", brand_id=brand_id, subject=member_id)
    await stack.bus.publish(envelope)
    return envelope.id


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    """Poll ``check`` until it holds; fail the test after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        await asyncio.sleep(0.1)


async def test_order_events_reach_jetstream_exactly_once(stack: Stack, brand: Brand) -> None:
    request = order_request(brand)
    first = await stack.loyalty.RecordOrder(request)
    await stack.loyalty.RecordOrder(request)  # a replay publishes nothing
    await asyncio.gather(*(stack.loyalty.RecordOrder(request) for _ in range(5)))

    async def both_there() -> bool:
        types = {e.type for e, _ in await events_of_brand(stack, "loyalty", brand)}
        return {"crm.loyalty.v1.OrderRecorded", "crm.loyalty.v1.PointsEarned"} <= types

    await eventually(both_there)
    await asyncio.sleep(1.0)  # give a stray duplicate time to show up before counting
    published = await events_of_brand(stack, "loyalty", brand)

    assert Counter(e.type for e, _ in published) == {
        "crm.loyalty.v1.OrderRecorded": 1,
        "crm.loyalty.v1.PointsEarned": 1,
    }
    for event, headers in published:
        assert headers[MSG_ID] == event.id == headers["ce-id"]
        assert event.source == "loyalty"
    by_type = {e.type: e for e, _ in published}
    recorded = by_type["crm.loyalty.v1.OrderRecorded"].payload
    assert isinstance(recorded, loyalty_events.OrderRecorded)
    assert (recorded.order_id, recorded.external_id, recorded.member_id) == (
        first.order_id,
        request.external_id,
        brand.member_id,
    )
    assert (recorded.total_fen, recorded.item_count, len(recorded.lines)) == (12345, 3, 2)
    assert by_type["crm.loyalty.v1.OrderRecorded"].subject == first.order_id
    earned = by_type["crm.loyalty.v1.PointsEarned"].payload
    assert isinstance(earned, loyalty_events.PointsEarned)
    assert (earned.member_id, earned.order_id, earned.points, earned.balance_after) == (
        brand.member_id,
        first.order_id,
        123,
        123,
    )


async def test_member_registered_opens_an_account_once_even_when_delivered_twice(stack: Stack, brand: Brand) -> None:
    member_id = "member-registered-by-event"
    envelope = build_envelope(
        members_events.MemberRegistered(brand_id=brand.id, member_id=member_id, store_id=brand.store_id),
        source="members",
        brand_id=brand.id,
        subject=member_id,
    )

    def duplicates() -> float:
        return REGISTRY.get_sample_value("crm_consumer_duplicates_total", {"durable": CONSUMER}) or 0.0

    seen_before = duplicates()
    await stack.bus.ensure_stream("members")
    await stack.bus.publish(envelope)
    # JetStream drops a re-publish with the same Nats-Msg-Id, so send the second copy without it: that is
    # what a redelivery looks like to the consumer (same event id), and only the inbox can stop it.
    headers = headers_for(envelope)
    del headers[MSG_ID]
    await stack.bus.js.publish(envelope.type, envelope.SerializeToString(), headers=headers)

    async def second_copy_skipped() -> bool:
        # The consumer runs in this process: its duplicates counter says when the inbox turned the copy away.
        # (The consumer's ack floor is no signal: any earlier event of the shared stream still being retried
        # holds it back.)
        return duplicates() > seen_before

    await eventually(second_copy_skipped, within=60.0)

    assert (
        await stack.fetchval(
            "SELECT count(*) FROM points_accounts WHERE brand_id = $1 AND member_id = $2", brand.id, member_id
        )
        == 1
    )
    assert (
        await stack.fetchval(
            "SELECT count(*) FROM processed_events WHERE consumer = $1 AND event_id = $2",
            CONSUMER,
            envelope.id,
        )
        == 1
    )
    # The directory (the fake) has never heard of this member: the answer comes from the opened account.
    account = await stack.loyalty.GetPointsAccount(
        loyalty_pb2.GetPointsAccountRequest(brand_id=brand.id, member_id=member_id)
    )
    assert (account.member_id, account.balance, account.growth_value) == (member_id, 0, 0)


async def test_order_of_a_member_opened_by_event_credits_the_same_account(stack: Stack, brand: Brand) -> None:
    envelope = build_envelope(
        members_events.MemberRegistered(brand_id=brand.id, member_id=brand.member_id),
        source="members",
        brand_id=brand.id,
        subject=brand.member_id,
    )
    await stack.bus.ensure_stream("members")
    await stack.bus.publish(envelope)

    async def opened() -> bool:
        return bool(
            await stack.fetchval(
                "SELECT count(*) FROM points_accounts WHERE brand_id = $1 AND member_id = $2",
                brand.id,
                brand.member_id,
            )
        )

    await eventually(opened)
    response = await stack.loyalty.RecordOrder(order_request(brand))

    assert response.member.points_balance == 123
    assert await stack.fetchval("SELECT count(*) FROM points_accounts WHERE brand_id = $1", brand.id) == 1


async def test_a_birthday_set_in_the_directory_reaches_the_account_without_an_order(
    stack: Stack, brand: Brand
) -> None:
    member_id = "member-sets-birthday"

    async def publish(message: Message) -> str:
        return await publish_member_event(stack, brand.id, member_id, message)

    async def birthday() -> object:
        return await stack.fetchval(
            "SELECT birthday::text FROM points_accounts WHERE brand_id = $1 AND member_id = $2", brand.id, member_id
        )

    await stack.bus.ensure_stream("members")
    await publish(members_events.MemberRegistered(brand_id=brand.id, member_id=member_id, store_id=brand.store_id))
    await publish(members_events.MemberUpdated(brand_id=brand.id, member_id=member_id, birthday="1990-03-14"))

    async def taken() -> bool:
        return await birthday() == "1990-03-14"

    await eventually(taken)
    # A later profile update that does not carry a birthday (or carries a malformed one) leaves it alone.
    ignored = [
        await publish(members_events.MemberUpdated(brand_id=brand.id, member_id=member_id, gender="female")),
        await publish(members_events.MemberUpdated(brand_id=brand.id, member_id=member_id, birthday="14/03/1990")),
    ]

    async def handled() -> bool:
        query = "SELECT count(*) FROM processed_events WHERE consumer = $1 AND event_id = ANY($2)"
        return await stack.fetchval(query, CONSUMER, ignored) == len(ignored)

    await eventually(handled)
    assert await birthday() == "1990-03-14"
    await publish(members_events.MemberUpdated(brand_id=brand.id, member_id=member_id, birthday="1990-03-15"))

    async def changed() -> bool:
        return await birthday() == "1990-03-15"

    await eventually(changed)
    assert (
        await stack.fetchval(
            "SELECT count(*) FROM points_accounts WHERE brand_id = $1 AND member_id = $2", brand.id, member_id
        )
        == 1
    )


async def test_a_member_known_from_the_directorys_events_orders_without_a_call_to_it(
    stack: Stack, brand: Brand
) -> None:
    # Registered through the stream only: the fake directory has never heard of this member, so any call to it
    # would answer NOT_FOUND and the order would be refused.
    member_id = f"member-by-event-{brand.id}"

    async def publish(message: Message) -> str:
        return await publish_member_event(stack, brand.id, member_id, message)

    async def handled(event_id: str) -> bool:
        query = "SELECT count(*) FROM processed_events WHERE consumer = $1 AND event_id = $2"
        return await stack.fetchval(query, CONSUMER, event_id) == 1

    await stack.bus.ensure_stream("members")
    registered = await publish(members_events.MemberRegistered(brand_id=brand.id, member_id=member_id))
    await eventually(lambda: handled(registered))
    response = await stack.loyalty.RecordOrder(order_request(brand, member_id=member_id))
    assert (response.member.member_id, response.member.points_balance) == (member_id, 123)
    # Another brand's order for the same id is not this member's: it goes to the directory, which says no.
    other = stack.new_brand()
    refused = await rejected(stack.loyalty.RecordOrder(order_request(other, member_id=member_id)))
    assert refused.reason == "UNKNOWN_MEMBER"

    # Erased: never known again, not even when an older profile update arrives afterwards.
    erased = await publish(members_events.MemberErased(brand_id=brand.id, member_id=member_id))
    late = await publish(members_events.MemberUpdated(brand_id=brand.id, member_id=member_id, birthday="1990-01-01"))
    await eventually(lambda: handled(erased))
    await eventually(lambda: handled(late))
    refused = await rejected(stack.loyalty.RecordOrder(order_request(brand, member_id=member_id)))
    assert refused.reason == "UNKNOWN_MEMBER"
    assert await stack.fetchval(
        "SELECT birthday FROM points_accounts WHERE brand_id = $1 AND member_id = $2", brand.id, member_id
    ) is None
