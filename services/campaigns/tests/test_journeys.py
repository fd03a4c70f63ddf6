"""Journeys on real PostgreSQL: the trigger saved as a segment, one campaign per brand-local day (a re-run of
the day finds it), each occasion messaged once, pause and resume, stats over the runs."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from campaigns.adapters import repository
from campaigns.app.journeys import RUN_JOB, JourneysApp
from campaigns.domain.campaign import Content, Draft
from crm_common.errors import InvalidArgument, NotFound

from .conftest import BRAND, NOON, Rig

SMS = Draft(name="生日关怀", segment_id="", channel="sms", content=Content(template_id="SMS_9"), send_at=None,
            attribution_days=0, cost_per_message_fen=0)


async def _born(rig: Rig, member_id: str, birthday: date, store: str = "s1") -> None:
    async with rig.pool.acquire() as conn:
        await repository.upsert_profile(
            conn, BRAND, member_id,
            repository.Profile(store, None, "f", birthday, NOON - timedelta(days=400), {"sms": True}),
            NOON - timedelta(days=400), tags=[], attributes={},
        )


async def _run(rig: Rig, journeys: JourneysApp, journey_id: str) -> None:
    async with rig.pool.acquire() as conn, conn.transaction():
        await journeys.run(conn, {"journey_id": journey_id, "brand_id": BRAND})


@pytest.fixture
def journeys(rig: Rig) -> JourneysApp:
    return JourneysApp(rig.pool, rig.app, now=lambda: rig.clock[0])


async def test_a_birthday_journey_messages_each_member_once_on_their_day(rig: Rig, journeys: JourneysApp) -> None:
    # NOON is 12:00 on 2 Nov in Shanghai: the first run is 10:00 on 3 Nov, for birthdays on 6 Nov.
    await _born(rig, "on-6-nov", date(1990, 11, 6))
    await _born(rig, "on-7-nov", date(1985, 11, 7))
    await _born(rig, "on-6-nov-elsewhere", date(1992, 11, 6), store="s2")
    journey = await journeys.create(BRAND, SMS, "birthday", None, "", ["s1"], "manager-1")
    first_run = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
    assert (journey.days, journey.status, journey.next_run_at, journey.store_ids) == (3, "active", first_run,
                                                                                      ("s1",))
    job = await rig.pool.fetchrow("SELECT key, run_at FROM jobs WHERE kind = $1", RUN_JOB)
    assert (job["key"], job["run_at"]) == (f"{journey.id}:2026-11-03", first_run)

    rig.clock[0] = first_run
    await _run(rig, journeys, journey.id)
    await _run(rig, journeys, journey.id)  # the day's job run again (a crash after it committed its campaign)
    await rig.drain()
    assert [m.recipient.member_id for m in rig.channel.sent] == ["on-6-nov"]  # store s1 only, once
    runs = await rig.pool.fetch("SELECT run_date, status, audience FROM campaigns WHERE journey_id = $1", journey.id)
    assert [(r["run_date"], r["status"], r["audience"]) for r in runs] == [(date(2026, 11, 3), "completed", 1)]
    nxt = await rig.pool.fetchrow("SELECT run_at FROM jobs WHERE kind = $1 AND key = $2", RUN_JOB,
                                  f"{journey.id}:2026-11-04")
    assert nxt["run_at"] == datetime(2026, 11, 4, 2, 0, tzinfo=UTC)

    rig.clock[0] = datetime(2026, 11, 4, 2, 0, tzinfo=UTC)
    await _run(rig, journeys, journey.id)
    await rig.drain()
    assert [m.recipient.member_id for m in rig.channel.sent] == ["on-6-nov", "on-7-nov"]
    stats = await journeys.stats(BRAND, journey.id, ["s1"])
    assert (stats.outcomes.audience, stats.outcomes.sent, stats.cost_fen) == (2, 2, 10)
    assert (await journeys.get(BRAND, journey.id, None)).runs == 2


async def test_dormant_members_are_reached_the_day_they_lapse(rig: Rig, journeys: JourneysApp) -> None:
    for member_id, days_ago in (("lapsed-60", 60), ("lapsed-59", 59), ("lapsed-61", 61)):
        await _born(rig, member_id, date(1990, 1, 1))
        await rig.pool.execute(
            "UPDATE audience_members SET order_count = 3, last_purchase_at = $2 WHERE member_id = $1",
            member_id, datetime(2026, 11, 3, 4, 0, tzinfo=UTC) - timedelta(days=days_ago))
    journey = await journeys.create(BRAND, SMS, "dormant", None, json.dumps(
        {"field": "order_count", "op": ">=", "value": 2}), None, "admin")
    assert journey.extra_rule == {"field": "order_count", "op": ">=", "value": 2}
    rig.clock[0] = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
    await _run(rig, journeys, journey.id)
    await rig.drain()
    assert [m.recipient.member_id for m in rig.channel.sent] == ["lapsed-60"]


async def test_a_paused_journey_does_not_run_and_resumes_from_the_next_morning(rig: Rig, journeys: JourneysApp) -> None:
    await _born(rig, "m1", date(1990, 11, 6))
    journey = await journeys.create(BRAND, SMS, "birthday", 3, "", None, "admin")
    paused = await journeys.set_status(BRAND, journey.id, "paused", None)
    assert (paused.status, paused.next_run_at) == ("paused", None)
    rig.clock[0] = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
    await _run(rig, journeys, journey.id)
    assert await rig.pool.fetchval("SELECT count(*) FROM campaigns") == 0
    rig.clock[0] = datetime(2026, 11, 3, 3, 0, tzinfo=UTC)  # 11:00: resumed after today's run time
    resumed = await journeys.set_status(BRAND, journey.id, "active", None)
    assert (resumed.status, resumed.next_run_at) == ("active", datetime(2026, 11, 4, 2, 0, tzinfo=UTC))
    assert await journeys.set_status(BRAND, journey.id, "active", None) == resumed  # no change, no second job
    keys = [r["key"] for r in await rig.pool.fetch("SELECT key FROM jobs WHERE kind = $1 ORDER BY key", RUN_JOB)]
    assert keys == [f"{journey.id}:2026-11-03", f"{journey.id}:2026-11-04"]


async def test_bad_journeys_name_the_field_and_outsiders_see_nothing(rig: Rig, journeys: JourneysApp) -> None:
    cases = [(("birthday", 31, ""), "days"), (("dormant", 7, ""), "days"), (("weekly", 0, ""), "trigger"),
             (("birthday", 0, '{"field": "tier", "op": ">", "value": "gold"}'), "extra_rule.op")]
    for (trigger, days, extra), field in cases:
        with pytest.raises(InvalidArgument) as err:
            await journeys.create(BRAND, SMS, trigger, days, extra, None, "admin")
        assert err.value.field == field
    assert await rig.pool.fetchval("SELECT count(*) FROM journeys") == 0
    assert await rig.pool.fetchval("SELECT count(*) FROM segments") == 0
    journey = await journeys.create(BRAND, SMS, "repurchase", 0, "", ["s1"], "manager-1")
    assert journey.days == 0  # on the day the usual interval is reached, not the default
    for scope in (["s2"], []):
        with pytest.raises(NotFound):
            await journeys.get(BRAND, journey.id, scope)
    with pytest.raises(NotFound):
        await journeys.get("other-brand", journey.id, None)
    assert [j.id for j in (await journeys.list(BRAND, ["s1"], "", 0)).items] == [journey.id]
