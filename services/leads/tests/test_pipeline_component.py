"""Component tests of working leads: lists, follow-ups and stage changes over real gRPC, PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from crm.leads.v1.events_pb2 import LeadFollowedUp, LeadStageChanged
from crm.leads.v1.leads_pb2 import (
    Actor,
    AddFollowUpRequest,
    AddFollowUpResponse,
    ChangeLeadStageRequest,
    CreateLeadRequest,
    GetLeadRequest,
    Lead,
    ListFollowUpsRequest,
    ListLeadsRequest,
    StoreScope,
)
from crm_common.errors import RemoteError
from crm_common.events import decode

from .conftest import Brand, LeadsUnderTest

MANAGER = Actor(staff_id="manager-1", manager=True)


async def _create(leads: LeadsUnderTest, brand: Brand, store_id: str) -> Lead:
    return await leads.client.CreateLead(CreateLeadRequest(brand_id=brand.id, source="web", phone="13800138000",
                                                           store_id=store_id))


async def _follow_up(
    leads: LeadsUnderTest, lead: Lead, actor: Actor = MANAGER, **fields: object
) -> AddFollowUpResponse:
    values: dict[str, object] = {"note": "called, wants a fitting"} | fields
    return await leads.client.AddFollowUp(
        AddFollowUpRequest(brand_id=lead.brand_id, lead_id=lead.id, actor=actor, **values)  # type: ignore[arg-type]
    )


async def _stage(leads: LeadsUnderTest, lead: Lead, stage: str, actor: Actor = MANAGER, **fields: object) -> Lead:
    return await leads.client.ChangeLeadStage(
        ChangeLeadStageRequest(brand_id=lead.brand_id, lead_id=lead.id, actor=actor, stage=stage,
                               **fields)  # type: ignore[arg-type]
    )


async def _error(call: object) -> RemoteError:
    with pytest.raises(RemoteError) as exc:
        await call  # type: ignore[misc]
    return exc.value


async def _events(leads: LeadsUnderTest, brand_id: str, kind: type[Message]) -> list[Message]:
    """The brand's events of one type in the outbox, in the order they were written."""
    rows = await leads.db.fetch(
        "SELECT envelope FROM outbox WHERE brand_id = $1 AND event_type = $2 ORDER BY seq",
        brand_id, kind.DESCRIPTOR.full_name,
    )
    return [decode(row["envelope"], None).payload for row in rows]


def _in(days: float) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(datetime.now(UTC) + timedelta(days=days))
    return ts


async def test_lists_filter_by_store_assignee_stage_and_scope(leads: LeadsUnderTest) -> None:
    brand = leads.brand()
    north, south = brand.store("north"), brand.store("south")
    clerk_a, clerk_b = brand.staff("a", "clerk", north), brand.staff("b", "clerk", north)
    clerk_s = brand.staff("s", "clerk", south)
    made = [await _create(leads, brand, north) for _ in range(4)] + [await _create(leads, brand, south)]
    await _stage(leads, made[0], "lost", reason="wrong number")

    async def ids(**filters: object) -> list[str]:
        page = await leads.client.ListLeads(ListLeadsRequest(brand_id=brand.id, **filters))  # type: ignore[arg-type]
        return [lead.id for lead in page.leads]

    newest_first = [lead.id for lead in reversed(made)]
    assert await ids() == newest_first
    assert await ids(store_id=north) == newest_first[1:]
    assert await ids(assignee_id=clerk_a) == [made[2].id, made[0].id]
    assert await ids(assignee_id=clerk_b, store_id=north) == [made[3].id, made[1].id]
    assert await ids(assignee_id=clerk_s) == [made[4].id]
    assert await ids(stage="lost") == [made[0].id]
    assert await ids(stage="new", assignee_id=clerk_a) == [made[2].id]
    # A store-scoped caller sees its stores only, whatever it filters on; a scope of no store sees nothing.
    assert await ids(scope=StoreScope(store_ids=[south])) == [made[4].id]
    assert await ids(scope=StoreScope(store_ids=[south]), store_id=north) == []
    assert await ids(scope=StoreScope()) == []
    assert await ids(stage="won") == []


async def test_lists_page_without_gaps_or_repeats(leads: LeadsUnderTest) -> None:
    brand = leads.brand()
    store = brand.store("s")
    brand.staff("a", "clerk", store)
    made = await asyncio.gather(*(_create(leads, brand, store) for _ in range(7)))

    seen: list[Lead] = []
    cursor, pages = "", 0
    while True:
        page = await leads.client.ListLeads(ListLeadsRequest(brand_id=brand.id, limit=3, cursor=cursor))
        seen += page.leads
        pages += 1
        cursor = page.next_cursor
        if not cursor:
            break

    assert pages == 3
    assert sorted(lead.id for lead in seen) == sorted(lead.id for lead in made)
    keys = [(lead.created_at.ToDatetime(), lead.id) for lead in seen]
    assert keys == sorted(keys, reverse=True)


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [({"cursor": "garbage"}, "cursor"), ({"cursor": "12:"}, "cursor"), ({"limit": 201}, "limit"),
     ({"stage": "closed"}, "stage")],
)
async def test_bad_list_request_is_invalid_argument_naming_the_field(
    leads: LeadsUnderTest, request_fields: dict[str, object], field: str
) -> None:
    err = await _error(leads.client.ListLeads(ListLeadsRequest(brand_id="b", **request_fields)))  # type: ignore[arg-type]
    assert (err.code, err.field) == (grpc.StatusCode.INVALID_ARGUMENT, field)


async def test_follow_up_is_stored_returned_and_marks_a_new_lead_contacted(leads: LeadsUnderTest) -> None:
    brand = leads.brand()
    store = brand.store("s")
    clerk = brand.staff("a", "clerk", store)
    lead = await _create(leads, brand, store)

    first = await _follow_up(leads, lead, Actor(staff_id=clerk), channel="phone", next_follow_up_at=_in(2))
    second = await _follow_up(leads, lead, MANAGER, note="came to the store", channel="visit")

    assert (first.follow_up.author_id, first.follow_up.channel, first.follow_up.note) == (
        clerk, "phone", "called, wants a fitting")
    assert first.follow_up.HasField("next_follow_up_at") and not first.replayed
    assert first.lead.stage == "contacted" and first.lead.follow_up_count == 1
    assert first.lead.next_follow_up_at == first.follow_up.next_follow_up_at
    # The latest follow-up sets the plan: none given, none planned.
    assert second.lead.stage == "contacted" and second.lead.follow_up_count == 2
    assert not second.lead.HasField("next_follow_up_at")
    assert second.lead.last_follow_up_at == second.follow_up.created_at

    page = await leads.client.ListFollowUps(ListFollowUpsRequest(brand_id=brand.id, lead_id=lead.id, limit=1))
    rest = await leads.client.ListFollowUps(
        ListFollowUpsRequest(brand_id=brand.id, lead_id=lead.id, cursor=page.next_cursor))
    assert [f.id for f in page.follow_ups] == [second.follow_up.id]
    assert [f.id for f in rest.follow_ups] == [first.follow_up.id] and rest.next_cursor == ""

    changes = await leads.db.fetch(
        "SELECT from_stage, to_stage, changed_by, follow_up_id FROM lead_stage_changes"
        " WHERE brand_id = $1 AND lead_id = $2", brand.id, lead.id)
    assert [tuple(c) for c in changes] == [("new", "contacted", clerk, first.follow_up.id)]


async def test_follow_up_retry_with_the_same_key_is_stored_once(leads: LeadsUnderTest) -> None:
    brand = leads.brand()
    store = brand.store("s")
    brand.staff("a", "clerk", store)
    lead = await _create(leads, brand, store)
    key = str(uuid.uuid4())

    replies = await asyncio.gather(*(_follow_up(leads, lead, idempotency_key=key) for _ in range(3)))
    other = await _error(_follow_up(leads, lead, note="something else", idempotency_key=key))

    assert len({r.follow_up.id for r in replies}) == 1
    assert sorted(r.replayed for r in replies) == [False, True, True]
    assert all(r.lead.follow_up_count == 1 for r in replies)
    assert (other.code, other.reason, other.field) == (
        grpc.StatusCode.ALREADY_EXISTS, "IDEMPOTENCY_CONFLICT", "idempotency_key")
    assert len(await _events(leads, brand.id, LeadFollowedUp)) == 1
    assert len(await _events(leads, brand.id, LeadStageChanged)) == 1


async def test_follow_up_events_carry_no_note(leads: LeadsUnderTest) -> None:
    brand = leads.brand()
    store = brand.store("s")
    clerk = brand.staff("a", "clerk", store)
    lead = await _create(leads, brand, store)

    reply = await _follow_up(leads, lead, Actor(staff_id=clerk), note="customer's address is ...", channel="sms")

    [followed] = await _events(leads, brand.id, LeadFollowedUp)
    [moved] = await _events(leads, brand.id, LeadStageChanged)
    assert isinstance(followed, LeadFollowedUp) and isinstance(moved, LeadStageChanged)
    assert (followed.lead_id, followed.follow_up_id, followed.store_id, followed.author_id, followed.channel) == (
        lead.id, reply.follow_up.id, store, clerk, "sms")
    assert "address" not in str(followed)
    assert (moved.from_stage, moved.to_stage, moved.changed_by, moved.assignee_id) == (
        "new", "contacted", clerk, clerk)


async def test_stage_moves_along_the_pipeline_and_announces_each_move(leads: LeadsUnderTest) -> None:
    brand = leads.brand()
    store = brand.store("s")
    clerk = brand.staff("a", "clerk", store)
    lead = await _create(leads, brand, store)
    await _follow_up(leads, lead, next_follow_up_at=_in(1))

    qualified = await _stage(leads, lead, "qualified", Actor(staff_id=clerk))
    won = await _stage(leads, lead, "won", reason="bought the ring")
    again = await _stage(leads, lead, "won")  # a retry: nothing changes, nothing is announced twice

    assert (qualified.stage, won.stage) == ("qualified", "won")
    assert again == won
    assert not won.HasField("next_follow_up_at")  # closing a lead ends its plan
    assert won.stage_changed_at.ToDatetime() >= lead.created_at.ToDatetime()
    moves = await _events(leads, brand.id, LeadStageChanged)
    assert [(m.from_stage, m.to_stage, m.changed_by, m.reason) for m in moves] == [  # type: ignore[attr-defined]
        ("new", "contacted", MANAGER.staff_id, ""),
        ("contacted", "qualified", clerk, ""),
        ("qualified", "won", MANAGER.staff_id, "bought the ring"),
    ]


async def test_invalid_transition_and_unknown_stage_change_nothing(leads: LeadsUnderTest) -> None:
    brand = leads.brand()
    store = brand.store("s")
    lead = await _create(leads, brand, store)

    skip = await _error(_stage(leads, lead, "won"))
    unknown = await _error(_stage(leads, lead, "closed"))
    lost = await _stage(leads, lead, "lost", reason="unreachable")
    after_close = await _error(_stage(leads, lead, "contacted"))
    follow_up = await _error(_follow_up(leads, lead))

    assert (skip.code, skip.reason, skip.details["from"], skip.details["to"]) == (
        grpc.StatusCode.FAILED_PRECONDITION, "INVALID_STAGE_TRANSITION", "new", "won")
    assert (unknown.code, unknown.field) == (grpc.StatusCode.INVALID_ARGUMENT, "stage")
    assert lost.stage == "lost"
    assert after_close.reason == "INVALID_STAGE_TRANSITION"
    assert (follow_up.code, follow_up.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "LEAD_CLOSED")
    assert len(await _events(leads, brand.id, LeadStageChanged)) == 1


async def test_concurrent_closes_of_one_lead_let_exactly_one_through(leads: LeadsUnderTest) -> None:
    brand = leads.brand()
    store = brand.store("s")
    lead = await _create(leads, brand, store)
    await _stage(leads, lead, "contacted")
    await _stage(leads, lead, "qualified")

    results = await asyncio.gather(_stage(leads, lead, "won"), _stage(leads, lead, "lost"),
                                   return_exceptions=True)

    assert sum(isinstance(r, Lead) for r in results) == 1
    assert [r.reason for r in results if isinstance(r, RemoteError)] == ["INVALID_STAGE_TRANSITION"]


async def test_other_brand_or_store_gets_not_found_and_other_clerks_permission_denied(
    leads: LeadsUnderTest,
) -> None:
    brand = leads.brand()
    store, other_store = brand.store("s"), brand.store("t")
    brand.staff("a", "clerk", store)
    other_clerk = brand.staff("b", "clerk", other_store)
    lead = await _create(leads, brand, store)
    stranger = Lead(id=lead.id, brand_id=leads.brand().id)
    scoped = {"scope": StoreScope(store_ids=[other_store])}

    for call in (
        _follow_up(leads, stranger),
        _stage(leads, stranger, "contacted"),
        leads.client.ListFollowUps(ListFollowUpsRequest(brand_id=stranger.brand_id, lead_id=lead.id)),
        _follow_up(leads, lead, Actor(staff_id=other_clerk), **scoped),
        _stage(leads, lead, "contacted", Actor(staff_id=other_clerk), **scoped),
        leads.client.ListFollowUps(ListFollowUpsRequest(brand_id=brand.id, lead_id=lead.id, **scoped)),
        _follow_up(leads, Lead(id="no\x00such", brand_id=brand.id)),
    ):
        err = await _error(call)
        assert (err.code, err.reason) == (grpc.StatusCode.NOT_FOUND, "LEAD_NOT_FOUND")

    # In scope, but not theirs: a clerk works only the leads assigned to them.
    for call in (_follow_up(leads, lead, Actor(staff_id=other_clerk)),
                 _stage(leads, lead, "contacted", Actor(staff_id=other_clerk))):
        err = await _error(call)
        assert (err.code, err.reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_ASSIGNEE")

    rows = await leads.db.fetchval("SELECT count(*) FROM lead_follow_ups WHERE brand_id = $1", brand.id)
    assert rows == 0
    assert (await leads.client.GetLead(GetLeadRequest(brand_id=brand.id, lead_id=lead.id))).stage == "new"
