"""Segment preview, creation and reads: what the gateway sends the campaigns service, who may call, the store
scope, and validation errors — the gateway's own and the service's list of rule problems."""

from __future__ import annotations

import base64
import json

import grpc
import pytest

from crm.campaigns.v1 import campaigns_pb2
from crm_common.errors import RemoteError
from gateway.auth import ROLE_PERMISSIONS, Permission, Role
from gateway.errors import problem_from_remote

from .conftest import BRAND_A, BRAND_B

SEGMENTS = f"/v1/brands/{BRAND_A}/segments"
PREVIEW = f"{SEGMENTS}/preview"
PROBLEM = "application/problem+json"
STORE_A1 = {"all": [{"field": "store_id", "op": "=", "value": "store-a1"}]}
VIP = {"field": "tags", "op": "contains", "value": "vip"}
# Two problems: the service names the first in `field` and lists both in `field_errors`.
BAD_RULE = {"all": [VIP, {"field": "tier", "op": "is", "value": "gold"}, {"any": [{"field": "tags", "op": "~"}]}]}


def _manager(as_role):
    return as_role("store_manager", store_ids=("store-a1",))  # staff id "staff-store_manager"


def _sent(backends, kind: type) -> list:
    return [r for r in backends.campaigns.requests if isinstance(r, kind)]


async def _create(client, headers, name: str = "Store a1 members", rule: dict | None = None) -> dict:
    r = await client.post(SEGMENTS, json={"name": name, "rule": rule or STORE_A1}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def test_preview_forwards_the_rule_as_json_and_answers_count_and_sample(client, as_role, backends):
    rule = {"any": [VIP, {"field": "attributes.城市", "op": "=", "value": "上海"}]}

    r = await client.post(PREVIEW, json={"rule": rule}, headers=as_role("brand_admin"))

    assert r.status_code == 200, r.text
    assert r.json() == {"count": 2, "sample": ["m-a1", "m-a2"]}
    [sent] = _sent(backends, campaigns_pb2.PreviewSegmentRequest)
    assert sent.brand_id == BRAND_A
    assert json.loads(sent.rule_json) == rule
    assert sent.sample_size == 20
    assert not sent.HasField("scope")  # a brand admin counts the whole brand


async def test_preview_sample_size_is_forwarded(client, as_role, backends):
    r = await client.post(PREVIEW, json={"rule": VIP, "sample_size": 1}, headers=as_role("brand_admin"))

    assert r.json() == {"count": 2, "sample": ["m-a1"]}
    assert _sent(backends, campaigns_pb2.PreviewSegmentRequest)[0].sample_size == 1


async def test_a_store_managers_preview_is_limited_to_their_stores(client, as_role, backends):
    r = await client.post(PREVIEW, json={"rule": VIP}, headers=_manager(as_role))

    assert r.json() == {"count": 1, "sample": ["m-a1"]}
    [sent] = _sent(backends, campaigns_pb2.PreviewSegmentRequest)
    assert sent.HasField("scope") and list(sent.scope.store_ids) == ["store-a1"]


async def test_create_answers_201_with_the_parsed_rule_and_the_caller_as_creator(client, as_role, backends):
    r = await client.post(SEGMENTS, json={"name": "  Store a1 members ", "rule": STORE_A1},
                          headers=as_role("brand_admin"))

    assert r.status_code == 201, r.text
    segment = r.json()
    assert segment["rule"] == STORE_A1  # an object, not the service's JSON text
    assert (segment["name"], segment["created_by"], segment["store_ids"], segment["member_count"]) == (
        "Store a1 members", "staff-brand_admin", [], 2)
    assert segment["id"] and segment["created_at"].endswith("Z")
    [sent] = _sent(backends, campaigns_pb2.CreateSegmentRequest)
    assert (sent.brand_id, sent.name, sent.created_by) == (BRAND_A, "Store a1 members", "staff-brand_admin")
    assert json.loads(sent.rule_json) == STORE_A1
    assert not sent.HasField("scope")


async def test_a_store_managers_segment_is_limited_to_their_stores(client, as_role, backends):
    segment = await _create(client, _manager(as_role), rule=VIP)

    [sent] = _sent(backends, campaigns_pb2.CreateSegmentRequest)
    assert list(sent.scope.store_ids) == ["store-a1"]
    assert sent.created_by == "staff-store_manager"
    assert (segment["store_ids"], segment["member_count"]) == (["store-a1"], 1)


async def test_get_and_list_return_the_brands_segments_newest_first(client, as_role, backends):
    admin = as_role("brand_admin")
    first = await _create(client, admin, "first")
    second = await _create(client, admin, "second", rule=VIP)

    got = await client.get(f"{SEGMENTS}/{first['id']}", headers=admin)
    page1 = await client.get(f"{SEGMENTS}?limit=1", headers=admin)
    page2 = await client.get(f"{SEGMENTS}?limit=1&cursor={page1.json()['next_cursor']}", headers=admin)

    assert got.status_code == 200 and got.json() == first
    assert page1.status_code == page2.status_code == 200
    assert page1.json()["items"] == [second]
    assert page2.json() == {"items": [first], "next_cursor": None}
    listed = _sent(backends, campaigns_pb2.ListSegmentsRequest)
    assert [(r.brand_id, r.limit, r.HasField("scope")) for r in listed] == [(BRAND_A, 1, False)] * 2
    assert (listed[0].cursor, listed[1].cursor) == ("", "1")  # the service's own cursor, passed back


async def test_a_store_manager_reads_only_segments_of_their_stores(client, as_role, backends):
    brand_wide = await _create(client, as_role("brand_admin"), "whole brand")
    own = await _create(client, _manager(as_role), "mine")

    listed = await client.get(SEGMENTS, headers=_manager(as_role))
    hidden = await client.get(f"{SEGMENTS}/{brand_wide['id']}", headers=_manager(as_role))
    missing = await client.get(f"{SEGMENTS}/no-such-segment", headers=as_role("brand_admin"))

    assert [s["id"] for s in listed.json()["items"]] == [own["id"]]
    assert list(_sent(backends, campaigns_pb2.ListSegmentsRequest)[0].scope.store_ids) == ["store-a1"]
    assert list(_sent(backends, campaigns_pb2.GetSegmentRequest)[0].scope.store_ids) == ["store-a1"]
    assert hidden.status_code == 404
    assert hidden.headers["content-type"] == PROBLEM
    assert hidden.json() == missing.json()  # nothing tells "not yours" from "does not exist"


async def test_an_analyst_previews_and_reads_the_whole_brand_but_saves_nothing(client, as_role, backends):
    segment = await _create(client, as_role("brand_admin"))
    analyst = as_role("analyst")

    preview = await client.post(PREVIEW, json={"rule": VIP}, headers=analyst)
    listed = await client.get(SEGMENTS, headers=analyst)
    got = await client.get(f"{SEGMENTS}/{segment['id']}", headers=analyst)
    create = await client.post(SEGMENTS, json={"name": "mine", "rule": VIP}, headers=analyst)

    assert preview.status_code == 200 and preview.json()["count"] == 2
    assert not _sent(backends, campaigns_pb2.PreviewSegmentRequest)[0].HasField("scope")
    assert listed.json()["items"] == [segment] and got.json() == segment
    assert create.status_code == 403  # analysts change nothing (see test_permissions.py)
    assert len(_sent(backends, campaigns_pb2.CreateSegmentRequest)) == 1


def test_segments_are_saved_by_admins_and_store_managers_only():
    holders = {role for role, granted in ROLE_PERMISSIONS.items() if Permission.SEGMENT_WRITE in granted}

    assert holders == {Role.GROUP_ADMIN, Role.BRAND_ADMIN, Role.STORE_MANAGER}


async def test_a_clerk_may_not_use_segments(client, as_role, backends):
    segment = await _create(client, as_role("brand_admin"))
    backends.campaigns.requests.clear()
    clerk = as_role("clerk", store_ids=("store-a1",))

    responses = [
        await client.post(PREVIEW, json={"rule": VIP}, headers=clerk),
        await client.post(SEGMENTS, json={"name": "mine", "rule": VIP}, headers=clerk),
        await client.get(SEGMENTS, headers=clerk),
        await client.get(f"{SEGMENTS}/{segment['id']}", headers=clerk),
    ]

    assert [r.status_code for r in responses] == [403] * 4
    assert all(r.headers["content-type"] == PROBLEM for r in responses)
    assert backends.campaigns.requests == []


async def test_another_brands_staff_get_404(client, as_role, backends):
    segment = await _create(client, as_role("brand_admin"))
    backends.campaigns.requests.clear()
    other = as_role("brand_admin", BRAND_B)

    responses = [
        await client.post(PREVIEW, json={"rule": VIP}, headers=other),
        await client.post(SEGMENTS, json={"name": "x", "rule": VIP}, headers=other),
        await client.get(SEGMENTS, headers=other),
        await client.get(f"{SEGMENTS}/{segment['id']}", headers=other),
    ]
    # Through its own brand's path, brand B's admin asks the service, which does not find brand A's segment.
    via_own_brand = await client.get(f"/v1/brands/{BRAND_B}/segments/{segment['id']}", headers=other)

    assert [r.status_code for r in responses] == [404] * 4
    assert all(r.json()["detail"] == "brand not found" for r in responses)
    assert via_own_brand.status_code == 404 and via_own_brand.json()["detail"] == "segment not found"
    assert [type(r) for r in backends.campaigns.requests] == [campaigns_pb2.GetSegmentRequest]


@pytest.mark.parametrize("rule", [[VIP], "{\"all\": []}", 3, None, True])
async def test_a_rule_that_is_not_an_object_is_422_naming_rule(client, as_role, backends, rule):
    preview = await client.post(PREVIEW, json={"rule": rule}, headers=as_role("brand_admin"))
    create = await client.post(SEGMENTS, json={"name": "x", "rule": rule}, headers=as_role("brand_admin"))

    for r in (preview, create):
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == PROBLEM
        assert [e["field"] for e in r.json()["errors"]] == ["rule"]
    assert backends.campaigns.requests == []


async def test_a_rule_with_a_number_json_cannot_hold_is_422_naming_rule(client, as_role, backends):
    body = '{"rule": {"field": "total_spend_fen", "op": ">", "value": NaN}}'

    r = await client.post(PREVIEW, content=body, headers={**as_role("brand_admin"), "content-type": "application/json"})

    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["rule"]
    assert backends.campaigns.requests == []


@pytest.mark.parametrize(
    ("body", "field"),
    [({"rule": VIP}, "name"), ({"name": "   ", "rule": VIP}, "name"), ({"name": "x" * 101, "rule": VIP}, "name"),
     ({"name": "x"}, "rule"), ({"name": "x", "rule": VIP, "colour": "red"}, "colour")],
)
async def test_a_bad_segment_is_422_naming_the_field(client, as_role, backends, body, field):
    r = await client.post(SEGMENTS, json=body, headers=as_role("brand_admin"))

    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert backends.campaigns.requests == []


@pytest.mark.parametrize(("sample_size", "ok"), [(100, True), (0, False), (101, False), ("5", False), (2.5, False)])
async def test_preview_sample_size_is_1_to_100(client, as_role, backends, sample_size, ok):
    r = await client.post(PREVIEW, json={"rule": VIP, "sample_size": sample_size}, headers=as_role("brand_admin"))

    if ok:
        assert r.status_code == 200 and _sent(backends, campaigns_pb2.PreviewSegmentRequest)[0].sample_size == 100
    else:
        assert r.status_code == 422
        assert [e["field"] for e in r.json()["errors"]] == ["sample_size"]


@pytest.mark.parametrize("url", [PREVIEW, SEGMENTS])
async def test_every_problem_the_service_finds_in_a_rule_is_listed_in_errors(client, as_role, backends, url):
    r = await client.post(url, json={"name": "x", "rule": BAD_RULE} if url == SEGMENTS else {"rule": BAD_RULE},
                          headers=as_role("brand_admin"))

    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert problem["type"].endswith("/invalid-rule")
    assert problem["errors"] == [
        {"field": "rule.all[1].op", "message": "unknown operator 'is'"},
        {"field": "rule.all[2].any[0].op", "message": "unknown operator '~'"},
    ]
    assert "field_errors" not in problem
    assert backends.campaigns.segments == {}


async def test_list_query_is_validated(client, as_role, backends):
    bad_limit = await client.get(f"{SEGMENTS}?limit=0", headers=as_role("brand_admin"))
    bad_cursor = await client.get(f"{SEGMENTS}?cursor=not-ours", headers=as_role("brand_admin"))

    assert [e["field"] for e in bad_limit.json()["errors"]] == ["limit"]
    assert [e["field"] for e in bad_cursor.json()["errors"]] == ["cursor"]
    assert backends.campaigns.requests == []


# --- the remote-error mapping of field_errors (gateway/errors.py) ---------------------------------------------


def _remote(code: grpc.StatusCode, **kwargs) -> RemoteError:
    return RemoteError(code=code, reason="INVALID_RULE", message="rule.all[0].op: unknown operator", **kwargs)


def test_field_errors_are_renamed_like_the_error_field():
    err = _remote(grpc.StatusCode.INVALID_ARGUMENT, field="rule_json", details={
        "field_errors": [{"field": "rule_json", "message": "not JSON"}, {"field": "sample_size", "message": "≤ 100"}]})

    body = json.loads(problem_from_remote(err, {"rule_json": "rule"}).to_response().body)

    assert body["errors"] == [{"field": "rule", "message": "not JSON"}, {"field": "sample_size", "message": "≤ 100"}]


@pytest.mark.parametrize("listed", [[], "rule.all[0].op", [{"field": 3, "message": "x"}], [{"message": "x"}]])
def test_a_malformed_field_errors_detail_falls_back_to_the_field(listed):
    err = _remote(grpc.StatusCode.INVALID_ARGUMENT, field="rule.all[0].op",
                  details={"field_errors": listed, "max_depth": 8})

    body = json.loads(problem_from_remote(err).to_response().body)

    assert body["errors"] == [{"field": "rule.all[0].op", "message": "rule.all[0].op: unknown operator"}]
    assert body["max_depth"] == 8 and "field_errors" not in body


def test_other_errors_keep_their_details_and_have_no_errors():
    err = RemoteError(code=grpc.StatusCode.ALREADY_EXISTS, reason="DUPLICATE_PHONE", message="taken",
                      details={"member_id": "m-1", "field_errors": [{"field": "phone", "message": "taken"}]})

    body = json.loads(problem_from_remote(err).to_response().body)

    assert body["status"] == 409 and body["member_id"] == "m-1"
    assert "errors" not in body and "field_errors" not in body


async def test_lone_surrogates_in_a_rule_a_name_or_a_cursor_are_the_clients_error(client, as_role, backends):
    headers = as_role("brand_admin")
    # Python's JSON reader turns the escape "\ud800" into a lone surrogate no UTF-8 field can hold.
    raw_rule = '{"rule": {"field": "tags", "op": "contains", "value": "\\ud800"}}'
    preview = await client.post(f"{SEGMENTS}/preview", content=raw_rule,
                                headers={**headers, "content-type": "application/json"})
    assert preview.status_code == 422, preview.text
    assert [e["field"] for e in preview.json()["errors"]] == ["rule"]
    raw_name = '{"name": "\\ud800", "rule": {"field": "order_count", "op": ">", "value": 0}}'
    named = await client.post(SEGMENTS, content=raw_name, headers={**headers, "content-type": "application/json"})
    assert named.status_code == 422, named.text
    assert named.headers["content-type"].startswith("application/problem+json")
    cursor = base64.urlsafe_b64encode(b'{"s": "1:\\ud800"}').decode().rstrip("=")
    listed = await client.get(SEGMENTS, params={"cursor": cursor}, headers=headers)
    assert listed.status_code == 422, listed.text
    assert not _sent(backends, campaigns_pb2.CreateSegmentRequest)
