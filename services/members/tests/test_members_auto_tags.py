"""Component tests of time-based automatic tags: the daily claimed job per brand keeps new_member and
churn_risk current as time passes (the job's clock is moved into the future), once per brand and day,
idempotent, and resumable after a crash — real gRPC, MongoDB-wire and NATS JetStream."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from crm.loyalty.v1 import events_pb2 as loyalty_events
from crm.members.v1 import events_pb2, members_pb2
from crm.members.v1.members_pb2_grpc import MembersServiceStub
from crm_common.bus import EventBus
from crm_common.errors import RemoteError
from crm_common.events import build_envelope, decode
from crm_common.jobs import MongoJob, MongoJobWorker
from members.adapters.auto_tags import DAILY
from members.bootstrap import Settings

from .conftest import phone as _phone
from .conftest import uid as _uid

pb = members_pb2


@pytest.fixture
def travel(service: Any) -> Callable[[timedelta], None]:
    """Move the jobs' clock (what is due, and the "now" tags are evaluated at) by ``delta`` from real time."""
    auto_tags = service.extra["auto_tags"]
    original = auto_tags.clock

    def to(delta: timedelta) -> None:
        auto_tags.clock = lambda: datetime.now(UTC) + delta

    yield to
    auto_tags.clock = original


async def _brand_with_store(client: MembersServiceStub) -> tuple[pb.Brand, pb.Store]:
    brand = await client.CreateBrand(pb.CreateBrandRequest(code=f"t{_uid()}", name="Tea", timezone="Asia/Shanghai"))
    store = await client.CreateStore(pb.CreateStoreRequest(brand_id=brand.id, code="s1", name="S1"))
    return brand, store


async def _register(client: MembersServiceStub, brand: pb.Brand, store: pb.Store) -> pb.Member:
    return await client.RegisterMember(pb.RegisterMemberRequest(brand_id=brand.id, phone=_phone(), store_id=store.id))


async def _daily_jobs(db: Any, brand_id: str, state: str | None = None) -> list[dict[str, Any]]:
    query: dict[str, Any] = {"kind": DAILY, "payload.brand_id": brand_id}
    if state:
        query["state"] = state
    return [j async for j in db["jobs"].find(query).sort("run_at", 1)]


async def _run_daily(service: Any, db: Any, brand_id: str) -> None:
    """Run due jobs until the brand has no due daily job left (the background worker may help)."""
    worker: MongoJobWorker = service.extra["jobs"]
    now = service.extra["auto_tags"].clock()
    for _ in range(200):
        due = await db["jobs"].count_documents(
            {"kind": DAILY, "payload.brand_id": brand_id, "state": "pending", "run_at": {"$lte": now}}
        )
        if not due:
            return
        await worker.run_once()
        await asyncio.sleep(0.05)
    jobs = await _daily_jobs(db, brand_id)
    raise AssertionError(f"the daily job did not finish: {jobs}")


async def _tag_events(db: Any, brand_id: str, member_id: str) -> list[events_pb2.MemberUpdated]:
    out = []
    async for row in db["outbox"].find({"brand_id": brand_id, "event_type": "crm.members.v1.MemberUpdated"}):
        event = decode(row["envelope"], None)
        if event.payload.member_id == member_id:  # type: ignore[attr-defined]
            out.append(event.payload)
    return out


async def _get(client: MembersServiceStub, brand: pb.Brand, member: pb.Member) -> pb.Member:
    return await client.GetMember(pb.GetMemberRequest(brand_id=brand.id, member_id=member.id))


async def test_a_new_brand_gets_its_daily_run_at_4_local(client: MembersServiceStub, db: Any) -> None:
    brand, _ = await _brand_with_store(client)

    [job] = await _daily_jobs(db, brand.id)

    local = job["run_at"].astimezone(ZoneInfo("Asia/Shanghai"))
    assert (local.hour, local.minute, job["state"]) == (4, 0, "pending")
    assert timedelta(0) < job["run_at"] - datetime.now(UTC) <= timedelta(days=1)


async def test_new_member_tag_drops_a_month_after_registration_with_one_event(
    client: MembersServiceStub, db: Any, service: Any, travel: Callable[[timedelta], None]
) -> None:
    brand, store = await _brand_with_store(client)
    member = await _register(client, brand, store)
    assert "new_member" in member.auto_tags

    travel(timedelta(days=10))
    await _run_daily(service, db, brand.id)
    assert "new_member" in (await _get(client, brand, member)).auto_tags
    assert await _tag_events(db, brand.id, member.id) == []

    travel(timedelta(days=32))
    await _run_daily(service, db, brand.id)

    assert "new_member" not in (await _get(client, brand, member)).auto_tags
    [event] = await _tag_events(db, brand.id, member.id)
    assert "new_member" not in event.tags
    done = await _daily_jobs(db, brand.id, "done")
    assert len(done) == 2
    [upcoming] = await _daily_jobs(db, brand.id, "pending")
    assert upcoming["run_at"] > datetime.now(UTC) + timedelta(days=32)

    # The same day's work again (another replica, a retried run) finds nothing to change: no second event.
    await service.extra["auto_tags"].queue.schedule(DAILY, datetime.now(UTC), {"brand_id": brand.id}, key="again")
    await _run_daily(service, db, brand.id)
    assert len(await _tag_events(db, brand.id, member.id)) == 1


async def test_churn_risk_appears_half_a_year_after_the_last_order(
    client: MembersServiceStub, db: Any, service: Any, settings: Settings, travel: Callable[[timedelta], None]
) -> None:
    brand, store = await _brand_with_store(client)
    buyer = await _register(client, brand, store)
    browser = await _register(client, brand, store)
    bus = await EventBus.connect(settings.nats_url, name="test-loyalty-churn")
    try:
        await bus.ensure_stream("loyalty")
        order = loyalty_events.OrderRecorded(
            brand_id=brand.id,
            order_id=f"o{_uid()}",
            external_id="POS-1",
            store_id=store.id,
            member_id=buyer.id,
            total_fen=1000,
        )
        order.occurred_at.FromDatetime(datetime.now(UTC))
        await bus.publish(build_envelope(order, source="loyalty", brand_id=brand.id, subject=order.order_id))
    finally:
        await bus.close()
    for _ in range(100):
        if (await _get(client, brand, buyer)).facts.order_count == 1:
            break
        await asyncio.sleep(0.1)

    travel(timedelta(days=2))  # the first run looks at everyone once
    await _run_daily(service, db, brand.id)
    travel(timedelta(days=170))
    await _run_daily(service, db, brand.id)
    assert "churn_risk" not in (await _get(client, brand, buyer)).auto_tags

    travel(timedelta(days=182))
    await _run_daily(service, db, brand.id)

    got = await _get(client, brand, buyer)
    assert "churn_risk" in got.auto_tags and "new_member" not in got.auto_tags
    assert "churn_risk" in (await _tag_events(db, brand.id, buyer.id))[-1].tags
    assert "churn_risk" not in (await _get(client, brand, browser)).auto_tags  # never bought: not at risk


async def test_a_crashed_daily_run_resumes_after_its_last_step_without_repeating_events(
    client: MembersServiceStub, db: Any, service: Any, travel: Callable[[timedelta], None]
) -> None:
    brand, store = await _brand_with_store(client)
    members = [await _register(client, brand, store) for _ in range(4)]
    auto_tags = service.extra["auto_tags"]
    auto_tags.batch = 1
    steps = 0

    async def crashes_on_third_step(job: MongoJob) -> None:
        real = job.step

        async def step(work: Any, progress: Any = None) -> Any:
            nonlocal steps
            steps += 1
            if steps == 3:
                raise asyncio.CancelledError  # the process dies here
            return await real(work, progress)

        job.step = step  # type: ignore[method-assign]
        await auto_tags._daily(job)

    await service.extra["jobs"].stop()  # the service's own worker would race the crashing one to the job
    try:
        travel(timedelta(days=40))
        crashing = MongoJobWorker(
            service.extra["jobs"].client,
            service.extra["repo"].db,
            {DAILY: crashes_on_third_step},
            lease_seconds=1,
            clock=auto_tags.clock,
        )
        # Other brands' daily runs may be due too: keep claiming until ours crashes.
        with pytest.raises(asyncio.CancelledError):
            for _ in range(50):
                await crashing.run_once()
        [job] = await _daily_jobs(db, brand.id, "pending")
        assert job["progress"]["processed"] == 1 and job["attempts"] == 1

        await service.extra["jobs"].start()
        await asyncio.sleep(1.1)  # the crashed run's lease expires
        await _run_daily(service, db, brand.id)
    finally:
        auto_tags.batch = 100
        await service.extra["jobs"].start()

    [job] = await _daily_jobs(db, brand.id, "done")
    assert job["attempts"] == 2 and job["progress"]["processed"] == 4 and job["progress"]["changed"] == 4
    for member in members:
        assert "new_member" not in (await _get(client, brand, member)).auto_tags
        assert len(await _tag_events(db, brand.id, member.id)) == 1


# --- brand rules ----------------------------------------------------------------------------------------


async def _error(call: Any) -> RemoteError:
    with pytest.raises(RemoteError) as err:
        await call
    return err.value


def _rule(tag: str, *conditions: tuple[str, str, str]) -> pb.TagRule:
    return pb.TagRule(tag=tag, conditions=[pb.TagCondition(field=f, op=o, value_json=v) for f, o, v in conditions])


async def test_a_brand_starts_with_the_default_rules(client: MembersServiceStub) -> None:
    brand, _ = await _brand_with_store(client)

    rules = await client.GetTagRules(pb.GetTagRulesRequest(brand_id=brand.id))

    assert rules.is_default and not rules.HasField("reevaluation")
    assert [r.tag for r in rules.rules] == [
        "high_value",
        "repeat_buyer",
        "churn_risk",
        "churn_risk",
        "new_member",
        "new_product_tryer",
    ]
    assert (await _error(client.GetTagRules(pb.GetTagRulesRequest(brand_id="b_nope")))).reason == "BRAND_NOT_FOUND"


async def test_invalid_rules_name_the_field_and_change_nothing(client: MembersServiceStub) -> None:
    brand, _ = await _brand_with_store(client)
    ok = _rule("ok", ("order_count", ">", "1"))
    request = pb.PutTagRulesRequest(brand_id=brand.id, rules=[ok, ok, _rule("x", ("shoe_size", "=", "42"))])

    err = await _error(client.PutTagRules(request))

    assert err.code.name == "INVALID_ARGUMENT" and err.field == "rules[2].conditions[0].field"
    assert "未知" in err.message and "unknown fact" in err.message
    bad_json = pb.PutTagRulesRequest(brand_id=brand.id, rules=[_rule("x", ("order_count", ">", "{oops"))])
    assert (await _error(client.PutTagRules(bad_json))).field == "rules[0].conditions[0].value"
    assert (await client.GetTagRules(pb.GetTagRulesRequest(brand_id=brand.id))).is_default


async def test_new_rules_reevaluate_the_brands_members_in_a_job_with_progress(
    client: MembersServiceStub, db: Any, service: Any
) -> None:
    brand, store = await _brand_with_store(client)
    other, other_store = await _brand_with_store(client)
    members = [await _register(client, brand, store) for _ in range(3)]
    bystander = await _register(client, other, other_store)
    service.extra["auto_tags"].batch = 2
    try:
        put = await client.PutTagRules(
            pb.PutTagRulesRequest(
                brand_id=brand.id,
                actor_id="st_admin",
                rules=[
                    _rule("fresh", ("days_since_registration", "<=", "7")),
                    _rule("fresh", ("attributes.level", "in", '["gold"]')),
                ],
            )
        )
        assert not put.is_default and put.updated_by == "st_admin" and put.reevaluation.state == "pending"
        # The rules apply to new writes at once.
        late = await _register(client, brand, store)
        assert list(late.auto_tags) == ["fresh"]

        rules = put
        for _ in range(300):
            rules = await client.GetTagRules(pb.GetTagRulesRequest(brand_id=brand.id))
            if rules.reevaluation.state == "done":
                break
            await asyncio.sleep(0.1)
    finally:
        service.extra["auto_tags"].batch = 100

    job = rules.reevaluation
    assert (job.state, job.total, job.processed, job.changed) == ("done", 4, 4, 3)
    for member in members:
        assert list((await _get(client, brand, member)).auto_tags) == ["fresh"]
        [event] = await _tag_events(db, brand.id, member.id)
        assert "fresh" in event.tags and "new_member" not in event.tags
    assert list((await _get(client, other, bystander)).auto_tags) == ["new_member"]

    back = await client.PutTagRules(pb.PutTagRulesRequest(brand_id=brand.id, use_defaults=True))
    assert back.is_default and [r.tag for r in back.rules][-2] == "new_member"
