"""Campaigns on real PostgreSQL: activation freezes the audience once, the claimed send jobs obey consent,
the frequency cap (exactly, under concurrency) and quiet hours, retry transient failures, and orders are
attributed to the last message within its window.

The channel here is a recording double of the ``Channel`` port (the adapters' own tests speak each
provider's protocol to local servers); the members directory is a small fake of ``MemberContacts``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from campaigns.adapters import consumers
from campaigns.adapters.channels import Outcome
from campaigns.app.campaigns import SEND_JOB
from campaigns.domain.campaign import Content
from crm.loyalty.v1.events_pb2 import OrderRecorded, OrderRefunded
from crm_common.errors import InvalidArgument, NotFound
from crm_common.events import Event
from crm_common.jobs import RunLater

from .conftest import BRAND, NOON, VIP, Rig


async def test_activation_freezes_the_audience_once_and_every_consenting_member_gets_one_message(rig: Rig) -> None:
    for i in range(4):
        await rig.member(f"m{i}")
    await rig.member("no-consent", sms=False)
    await rig.member("not-vip", tags=())
    campaign_id = await rig.campaign(await rig.segment(VIP))

    first = await rig.app.activate(BRAND, campaign_id, None, "staff-2")
    again = await rig.app.activate(BRAND, campaign_id, None, "staff-2")
    assert (first.status, first.audience) == ("active", 5)
    assert (again.status, again.audience, again.activated_at) == ("active", 5, first.activated_at)
    assert await rig.pool.fetchval("SELECT count(*) FROM jobs WHERE kind = $1", SEND_JOB) == 4
    # A member who joins the segment after activation is not added.
    await rig.member("late")
    await rig.app.activate(BRAND, campaign_id, None, "staff-2")

    await rig.drain()
    assert sorted(m.recipient.member_id for m in rig.channel.sent) == ["m0", "m1", "m2", "m3"]
    assert {m.idempotency_key for m in rig.channel.sent} == {f"{campaign_id}:m{i}" for i in range(4)}
    assert rig.channel.sent[0].content.params == {"gift": "咖啡"} and rig.channel.sent[0].recipient.phone
    assert set(rig.contacts.purposes) == {f"campaign {campaign_id}"}
    stats = await rig.app.stats(BRAND, campaign_id, None)
    assert (stats.status, stats.outcomes.sent, stats.outcomes.suppressed_no_consent,
            stats.outcomes.pending, stats.cost_fen) == ("completed", 4, 1, 0, 4 * 5)
    events = await rig.pool.fetch("SELECT event_type FROM outbox ORDER BY event_id")
    assert [e["event_type"] for e in events] == ["crm.campaigns.v1.CampaignActivated"] + [
        "crm.campaigns.v1.CampaignMessageSent"] * 4
    await rig.drain()  # nothing left to do, nothing sent twice
    assert len(rig.channel.sent) == 4


async def test_the_frequency_cap_holds_exactly_even_with_concurrent_workers(rig: Rig) -> None:
    await rig.member("m1")
    segment = await rig.segment(VIP)
    campaigns = [await rig.campaign(segment) for _ in range(4)]
    for c in campaigns:
        await rig.app.activate(BRAND, c, None, "staff-2")
    rig.channel.delay = 0.05
    await rig.drain(workers=4)
    outcomes = [(await rig.statuses(c))["m1"] for c in campaigns]
    assert sorted(outcomes) == ["sent", "sent", "suppressed_frequency_cap", "suppressed_frequency_cap"]
    assert len(rig.channel.sent) == 2
    # A week later the member may be messaged again.
    rig.clock[0] = NOON + timedelta(days=7, minutes=1)
    later = await rig.campaign(segment)
    await rig.app.activate(BRAND, later, None, "staff-2")
    await rig.drain()
    assert (await rig.statuses(later))["m1"] == "sent"


async def test_quiet_hours_move_the_send_to_the_morning(rig: Rig) -> None:
    await rig.member("m1")
    rig.clock[0] = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai
    campaign_id = await rig.campaign(await rig.segment(VIP))
    await rig.app.activate(BRAND, campaign_id, None, "staff-2")
    morning = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    assert await rig.pool.fetchval("SELECT run_at FROM jobs") == morning
    # A send that comes due inside the window (e.g. a retry) is put back, not sent and not failed.
    async with rig.pool.acquire() as conn, conn.transaction():
        later = await rig.app.send(conn, {"campaign_id": campaign_id, "member_id": "m1", "brand_id": BRAND})
    assert later == RunLater(morning) and rig.channel.sent == []


async def test_consent_withdrawn_after_activation_and_members_who_left(rig: Rig) -> None:
    for m in ("stays", "withdrew", "erased"):
        await rig.member(m)
    campaign_id = await rig.campaign(await rig.segment(VIP))
    await rig.app.activate(BRAND, campaign_id, None, "staff-2")
    rig.contacts.consents["withdrew"] = {"sms": False}
    rig.contacts.gone.add("erased")
    await rig.drain()
    assert await rig.statuses(campaign_id) == {"stays": "sent", "withdrew": "suppressed_no_consent",
                                               "erased": "failed"}
    assert [m.recipient.member_id for m in rig.channel.sent] == ["stays"]


async def test_transient_failures_are_retried_then_given_up_and_rejections_fail_at_once(rig: Rig) -> None:
    for m in ("flaky", "down", "bad-number"):
        await rig.member(m)
    rig.channel.script = {"flaky": [Outcome.RETRY], "down": [Outcome.RETRY] * 5, "bad-number": [Outcome.REJECTED]}
    campaign_id = await rig.campaign(await rig.segment(VIP))
    await rig.app.activate(BRAND, campaign_id, None, "staff-2")
    for _ in range(6):
        await rig.drain()
        await rig.pool.execute("UPDATE jobs SET run_at = now() WHERE state = 'pending'")  # skip the back-off
    rows = {r["member_id"]: r for r in await rig.pool.fetch("SELECT * FROM campaign_recipients")}
    assert (rows["flaky"]["status"], rows["flaky"]["attempts"]) == ("sent", 2)
    assert (rows["down"]["status"], rows["down"]["attempts"]) == ("failed", 5)
    assert (rows["bad-number"]["status"], rows["bad-number"]["attempts"]) == ("failed", 1)
    assert rows["down"]["detail"] == "provider said retry"
    assert [m.recipient.member_id for m in rig.channel.sent].count("down") == 5
    assert (await rig.app.stats(BRAND, campaign_id, None)).status == "completed"


def _event(msg: object, at: datetime) -> Event:
    return Event(id=str(uuid.uuid4()), type=type(msg).DESCRIPTOR.full_name, source="loyalty", time=at,  # type: ignore[attr-defined]
                 subject="", brand_id=BRAND, payload=msg, traceparent=None)  # type: ignore[arg-type]


async def _order(rig: Rig, member: str, order_id: str, at: datetime, total: int) -> None:
    msg = OrderRecorded(brand_id=BRAND, order_id=order_id, member_id=member, store_id="s1", total_fen=total)
    msg.occurred_at.FromDatetime(at)
    async with rig.pool.acquire() as conn, conn.transaction():
        await consumers.on_order_recorded(conn, _event(msg, at))


async def test_orders_are_attributed_to_the_last_message_within_its_window(rig: Rig) -> None:
    for m in ("buyer", "late-buyer", "early-buyer", "silent"):
        await rig.member(m)
    segment = await rig.segment(VIP)
    first = await rig.campaign(segment, cost_per_message_fen=10)
    await rig.app.activate(BRAND, first, None, "staff-2")
    await rig.drain()
    await _order(rig, "early-buyer", "o-before", NOON - timedelta(hours=1), 9_999)  # before the message
    await _order(rig, "buyer", "o-1", NOON + timedelta(days=2), 30_000)
    await _order(rig, "buyer", "o-2", NOON + timedelta(days=3), 10_000)
    await _order(rig, "late-buyer", "o-late", NOON + timedelta(days=8), 50_000)  # after the 7-day window
    refund = OrderRefunded(brand_id=BRAND, order_id="o-2", member_id="buyer", amount_fen=4_000)
    async with rig.pool.acquire() as conn, conn.transaction():
        await consumers.on_order_refunded(conn, _event(refund, NOON + timedelta(days=4)))
    await _order(rig, "late-buyer", "o-refunded", NOON + timedelta(days=1), 5_000)
    whole = OrderRefunded(brand_id=BRAND, order_id="o-refunded", member_id="late-buyer", amount_fen=5_000)
    async with rig.pool.acquire() as conn, conn.transaction():
        await consumers.on_order_refunded(conn, _event(whole, NOON + timedelta(days=2)))
    stats = await rig.app.stats(BRAND, first, None)
    # o-refunded was refunded in full: not a conversion, no revenue.
    assert (stats.conversions, stats.converted_members, stats.revenue_fen) == (2, 1, 36_000)
    assert (stats.outcomes.sent, stats.cost_fen) == (4, 40)
    assert stats.roi == pytest.approx((36_000 - 40) / 40)
    assert stats.conversion_rate == pytest.approx(1 / 4)

    # A second campaign's message is the last touch for orders after it.
    rig.clock[0] = NOON + timedelta(days=10)
    second = await rig.campaign(segment)
    await rig.app.activate(BRAND, second, None, "staff-2")
    await rig.drain()
    await _order(rig, "silent", "o-3", NOON + timedelta(days=11), 7_000)
    assert (await rig.app.stats(BRAND, second, None)).revenue_fen == 7_000
    assert (await rig.app.stats(BRAND, first, None)).revenue_fen == 36_000


async def test_a_store_managers_campaign_reaches_only_their_stores(rig: Rig) -> None:
    await rig.member("mine", store="s1")
    await rig.member("theirs", store="s2")
    segment = await rig.segment(VIP, scope=["s1"])
    campaign_id = await rig.campaign(segment, scope=["s1"])
    assert (await rig.app.activate(BRAND, campaign_id, ["s1"], "manager")).audience == 1
    with pytest.raises(NotFound):
        await rig.app.get(BRAND, campaign_id, ["s2"])
    with pytest.raises(NotFound):
        await rig.app.activate(BRAND, campaign_id, ["s2"], "other-manager")
    brand_wide = await rig.segment(VIP)
    with pytest.raises(NotFound):  # a segment the store manager cannot see
        await rig.campaign(brand_wide, scope=["s1"])


async def test_channels_not_configured_and_unknown_segments_are_refused(rig: Rig) -> None:
    segment = await rig.segment(VIP)
    with pytest.raises(InvalidArgument) as err:
        await rig.campaign(segment, channel="email", content=Content(subject="s", text="t"))
    assert err.value.field == "channel"
    with pytest.raises(NotFound):
        await rig.campaign("no-such-segment")
    assert await rig.pool.fetchval("SELECT count(*) FROM campaigns") == 0


async def test_the_last_two_sends_finishing_together_complete_the_campaign(rig: Rig) -> None:
    await rig.member("a")
    await rig.member("b")
    segment = await rig.segment(VIP)
    rig.channel.delay = 0.05
    for _ in range(3):  # a race: a few rounds, each must complete
        campaign_id = await rig.campaign(segment)
        await rig.pool.execute("DELETE FROM campaign_recipients")  # no frequency cap across rounds
        await rig.app.activate(BRAND, campaign_id, None, "staff-2")
        await rig.drain(workers=2)
        assert (await rig.app.stats(BRAND, campaign_id, None)).status == "completed"


async def test_a_directory_that_stays_away_fails_the_recipient_after_five_tries(rig: Rig) -> None:
    await rig.member("m1")
    rig.contacts.unreachable = True
    campaign_id = await rig.campaign(await rig.segment(VIP))
    await rig.app.activate(BRAND, campaign_id, None, "staff-2")
    for _ in range(6):
        await rig.drain()
        await rig.pool.execute("UPDATE jobs SET run_at = now() WHERE state = 'pending'")
    row = await rig.pool.fetchrow("SELECT status, attempts, detail FROM campaign_recipients")
    assert (row["status"], row["attempts"], row["detail"]) == ("failed", 5, "members service: UNAVAILABLE")
    assert (await rig.app.stats(BRAND, campaign_id, None)).status == "completed"
    assert rig.channel.sent == []
