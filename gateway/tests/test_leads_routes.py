"""Leads work lists, follow-ups and stage changes: scoping, validation, error mapping and translation."""

from __future__ import annotations

import pytest

LEADS = "/v1/brands/brand-a/leads"
PROBLEM = "application/problem+json"


async def _lead(client, as_role, backends, *, store_id: str = "store-a1", assignee: str = "staff-clerk") -> str:
    r = await client.post(LEADS, json={"source": "web", "phone": "13900139003", "store_id": store_id},
                          headers=as_role("brand_admin"))
    assert r.status_code == 201, r.text
    lead_id = r.json()["id"]
    backends.leads.leads[lead_id].assignee_id = assignee
    return lead_id


def _clerk(as_role, store: str = "store-a1"):
    return as_role("clerk", store_ids=(store,))  # staff id "staff-clerk"


async def test_list_forwards_every_filter_and_pages(client, as_role, backends):
    made = [await _lead(client, as_role, backends) for _ in range(3)]
    admin = as_role("brand_admin")

    first = await client.get(f"{LEADS}?limit=2&stage=new&assignee_id=staff-clerk&store_id=store-a1", headers=admin)
    cursor = first.json()["next_cursor"]
    second = await client.get(f"{LEADS}?limit=2&stage=new&assignee_id=staff-clerk&store_id=store-a1&cursor={cursor}",
                              headers=admin)

    assert first.status_code == second.status_code == 200
    assert [lead["id"] for lead in first.json()["items"] + second.json()["items"]] == made[::-1]
    assert second.json()["next_cursor"] is None
    sent = backends.leads.last_list
    assert (sent.brand_id, sent.assignee_id, sent.stage, sent.store_id, sent.limit) == (
        "brand-a", "staff-clerk", "new", "store-a1", 2)
    assert not sent.HasField("scope")  # a brand admin sees the whole brand


async def test_a_clerk_lists_only_their_stores_leads(client, as_role, backends):
    own = await _lead(client, as_role, backends, store_id="store-a1")
    await _lead(client, as_role, backends, store_id="store-a2")

    mine = await client.get(LEADS, headers=_clerk(as_role))
    other_store = await client.get(f"{LEADS}?store_id=store-a2", headers=_clerk(as_role))

    assert [lead["id"] for lead in mine.json()["items"]] == [own]
    assert list(backends.leads.last_list.scope.store_ids) == ["store-a1"]
    assert other_store.status_code == 404
    assert other_store.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("query", "field"),
    [("stage=closed", "stage"), ("limit=0", "limit"), ("limit=201", "limit"), ("cursor=not-ours", "cursor"),
     ("assignee_id=", "assignee_id")],
)
async def test_bad_list_query_is_422_naming_the_field(client, as_role, query, field):
    r = await client.get(f"{LEADS}?{query}", headers=as_role("brand_admin"))

    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert [e["field"] for e in r.json()["errors"]] == [field]


async def test_analyst_may_not_read_leads(client, as_role):
    r = await client.get(LEADS, headers=as_role("analyst"))

    assert r.status_code == 403


async def test_the_assignee_adds_a_follow_up_and_reads_it_back(client, as_role, backends):
    lead_id = await _lead(client, as_role, backends)
    body = {"note": " Called; fitting on Saturday. ", "channel": "phone",
            "next_follow_up_at": "2099-05-02T10:00:00+08:00"}

    r = await client.post(f"{LEADS}/{lead_id}/followups", json=body, headers=_clerk(as_role))
    listed = await client.get(f"{LEADS}/{lead_id}/followups", headers=_clerk(as_role))
    lead = await client.get(f"{LEADS}/{lead_id}", headers=_clerk(as_role))

    assert r.status_code == 201, r.text
    follow_up = r.json()
    assert (follow_up["lead_id"], follow_up["author_id"], follow_up["note"], follow_up["channel"]) == (
        lead_id, "staff-clerk", "Called; fitting on Saturday.", "phone")
    assert follow_up["next_follow_up_at"] == "2099-05-02T02:00:00Z"
    sent = backends.leads.last_follow_up
    assert (sent.actor.staff_id, sent.actor.manager, list(sent.scope.store_ids)) == (
        "staff-clerk", False, ["store-a1"])
    assert listed.status_code == 200 and listed.json()["items"] == [follow_up]
    assert (lead.json()["stage"], lead.json()["follow_up_count"]) == ("contacted", 1)


async def test_a_retried_follow_up_with_its_key_is_added_once(client, as_role, backends):
    lead_id = await _lead(client, as_role, backends)
    headers = {**_clerk(as_role), "Idempotency-Key": "fu-7f3a"}

    first = await client.post(f"{LEADS}/{lead_id}/followups", json={"note": "left a voicemail"}, headers=headers)
    again = await client.post(f"{LEADS}/{lead_id}/followups", json={"note": "left a voicemail"}, headers=headers)

    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert backends.leads.last_follow_up.idempotency_key == "fu-7f3a"
    assert len(backends.leads.follow_ups[lead_id]) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "note"), ({"note": "  "}, "note"), ({"note": "x" * 2001}, "note"),
     ({"note": "hi", "channel": "fax"}, "channel"),
     ({"note": "hi", "next_follow_up_at": "2099-05-02T10:00:00"}, "next_follow_up_at"),
     ({"note": "hi", "next_follow_up_at": "0001-01-01T00:00:00+05:00"}, "next_follow_up_at"),
     ({"note": "hi", "colour": "red"}, "colour")],
)
async def test_bad_follow_up_is_422_naming_the_field(client, as_role, backends, body, field):
    lead_id = await _lead(client, as_role, backends)

    r = await client.post(f"{LEADS}/{lead_id}/followups", json=body, headers=_clerk(as_role))

    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field
    assert lead_id not in backends.leads.follow_ups


async def test_bad_idempotency_key_is_422_naming_it(client, as_role, backends):
    lead_id = await _lead(client, as_role, backends)

    r = await client.post(f"{LEADS}/{lead_id}/followups", json={"note": "hi"},
                          headers={**_clerk(as_role), "Idempotency-Key": "has spaces"})

    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_a_clerk_of_another_store_gets_404_on_every_lead_route(client, as_role, backends):
    lead_id = await _lead(client, as_role, backends, store_id="store-a1")
    stranger = _clerk(as_role, "store-a2")

    responses = [
        await client.get(f"{LEADS}/{lead_id}", headers=stranger),
        await client.get(f"{LEADS}/{lead_id}/followups", headers=stranger),
        await client.post(f"{LEADS}/{lead_id}/followups", json={"note": "hi"}, headers=stranger),
        await client.post(f"{LEADS}/{lead_id}/stage", json={"stage": "contacted"}, headers=stranger),
    ]
    missing = await client.get(f"{LEADS}/no-such-lead", headers=as_role("brand_admin"))

    assert [r.status_code for r in responses] == [404] * 4
    # The same body as a lead that does not exist: nothing tells the two apart.
    assert all(r.json() == missing.json() for r in responses)
    assert lead_id not in backends.leads.follow_ups and backends.leads.leads[lead_id].stage == "new"


async def test_another_clerk_of_the_store_may_read_but_not_work_the_lead(client, as_role, backends):
    lead_id = await _lead(client, as_role, backends, assignee="staff-someone-else")

    read = await client.get(f"{LEADS}/{lead_id}", headers=_clerk(as_role))
    follow_up = await client.post(f"{LEADS}/{lead_id}/followups", json={"note": "hi"}, headers=_clerk(as_role))
    stage = await client.post(f"{LEADS}/{lead_id}/stage", json={"stage": "contacted"}, headers=_clerk(as_role))
    manager = await client.post(f"{LEADS}/{lead_id}/stage", json={"stage": "contacted"},
                                headers=as_role("store_manager", store_ids=("store-a1",)))

    assert read.status_code == 200
    assert follow_up.status_code == stage.status_code == 403
    assert follow_up.json()["type"].endswith("/not-assignee")
    assert manager.status_code == 200 and manager.json()["stage"] == "contacted"
    assert backends.leads.last_stage.actor.manager is True


async def test_stage_moves_and_an_invalid_move_is_409_naming_the_reason(client, as_role, backends):
    lead_id = await _lead(client, as_role, backends)
    url = f"{LEADS}/{lead_id}/stage"

    skip = await client.post(url, json={"stage": "won"}, headers=_clerk(as_role))
    contacted = await client.post(url, json={"stage": "contacted"}, headers=_clerk(as_role))
    again = await client.post(url, json={"stage": "contacted"}, headers=_clerk(as_role))
    lost = await client.post(url, json={"stage": "lost", "reason": "bought elsewhere"}, headers=_clerk(as_role))
    after = await client.post(f"{LEADS}/{lead_id}/followups", json={"note": "hi"}, headers=_clerk(as_role))

    assert skip.status_code == 409
    assert skip.headers["content-type"] == PROBLEM
    problem = skip.json()
    assert problem["type"].endswith("/invalid-stage-transition")
    assert (problem["from"], problem["to"], problem["allowed"]) == ("new", "won", ["contacted", "lost"])
    assert "new" in problem["detail"] and "won" in problem["detail"]
    assert contacted.status_code == again.status_code == 200 and again.json()["stage"] == "contacted"
    assert lost.json()["stage"] == "lost" and backends.leads.last_stage.reason == "bought elsewhere"
    assert after.status_code == 409 and after.json()["type"].endswith("/lead-closed")


@pytest.mark.parametrize(("body", "field"), [({"stage": "closed"}, "stage"), ({}, "stage"),
                                             ({"stage": "won", "reason": "x" * 201}, "reason")])
async def test_bad_stage_change_is_422_naming_the_field(client, as_role, backends, body, field):
    lead_id = await _lead(client, as_role, backends)

    r = await client.post(f"{LEADS}/{lead_id}/stage", json=body, headers=_clerk(as_role))

    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == field
    assert backends.leads.leads[lead_id].stage == "new"
