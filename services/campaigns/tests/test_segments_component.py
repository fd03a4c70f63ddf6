"""Segments end to end in the service: facts arrive as real events on NATS, rules are asked over gRPC."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from crm.campaigns.v1 import campaigns_pb2
from crm.loyalty.v1.events_pb2 import OrderRecorded, PointsEarned, TierChanged
from crm.members.v1.events_pb2 import (
    BrandCreated,
    MemberErased,
    MemberRegistered,
    MemberUpdated,
    StoreCreated,
)
from crm_common.errors import RemoteError

from .conftest import Harness, eventually

NOW = datetime.now(UTC)


async def _preview(h: Harness, rule: object, scope: list[str] | None = None) -> campaigns_pb2.SegmentPreview:
    request = campaigns_pb2.PreviewSegmentRequest(brand_id=h.brand_id, rule_json=json.dumps(rule))
    if scope is not None:
        request.scope.store_ids.extend(scope)
    return await h.client.PreviewSegment(request)


async def _world(h: Harness) -> None:
    """Two stores 6.5 km apart and one in Shanghai; three members with tags, tiers, points and orders."""
    await h.publish(BrandCreated(brand_id=h.brand_id, code="b", name="B", timezone="Asia/Shanghai"), "members")
    for store, lat, lng in (("west", 30.2590, 120.1500), ("xixi", 30.2700, 120.0800), ("sh", 31.2304, 121.4737)):
        await h.publish(StoreCreated(brand_id=h.brand_id, store_id=store, lat=lat, lng=lng), "members")
    for member, store in (("m-1", "west"), ("m-2", "xixi"), ("m-3", "sh")):
        reg = MemberRegistered(brand_id=h.brand_id, member_id=member, store_id=store, gender="f")
        reg.registered_at.FromDatetime(NOW - timedelta(days=10))
        reg.consents["sms"] = member != "m-3"
        await h.publish(reg, "members")
    update = MemberUpdated(brand_id=h.brand_id, member_id="m-1", store_id="west", gender="f", tags=["vip", "coffee"],
                           attributes={"size": "42"}, consents={"sms": True})
    update.updated_at.FromDatetime(NOW - timedelta(days=1))
    await h.publish(update, "members")
    order = OrderRecorded(brand_id=h.brand_id, order_id="o-1", member_id="m-2", store_id="xixi", total_fen=12_000)
    order.occurred_at.FromDatetime(NOW - timedelta(days=3))
    old = OrderRecorded(brand_id=h.brand_id, order_id="o-2", member_id="m-2", store_id="xixi", total_fen=50_000)
    old.occurred_at.FromDatetime(NOW - timedelta(days=200))
    await h.publish(order, "loyalty")
    await h.publish(old, "loyalty")
    await h.publish(PointsEarned(brand_id=h.brand_id, member_id="m-2", points=120, balance_after=620), "loyalty")
    await h.publish(TierChanged(brand_id=h.brand_id, member_id="m-2", from_tier="", to_tier="gold"), "loyalty")
    await eventually(lambda: h.member("m-2"), lambda m: m.tier == "gold" and m.order_count == 2
                     and m.points_balance == 620)
    await eventually(lambda: h.member("m-1"), lambda m: list(m.tags) == ["vip", "coffee"])


async def test_rules_select_from_every_kind_of_fact(campaigns: Harness) -> None:
    await _world(campaigns)
    cases = [
        ({"field": "tags", "op": "contains", "value": "vip"}, ["m-1"]),
        ({"field": "tier", "op": "=", "value": "gold"}, ["m-2"]),
        ({"field": "points_balance", "op": ">=", "value": 600}, ["m-2"]),
        ({"field": "spend_90d_fen", "op": "=", "value": 12_000}, ["m-2"]),
        ({"field": "total_spend_fen", "op": "=", "value": 62_000}, ["m-2"]),
        ({"field": "days_since_last_purchase", "op": "<=", "value": 3}, ["m-2"]),
        ({"not": {"field": "days_since_last_purchase", "op": "<=", "value": 30}}, ["m-1", "m-3"]),
        ({"field": "registered_days_ago", "op": "=", "value": 10}, ["m-1", "m-2", "m-3"]),
        ({"field": "attributes.size", "op": ">", "value": 40}, ["m-1"]),
        ({"field": "consent.sms", "op": "=", "value": True}, ["m-1", "m-2"]),
        ({"field": "distance_km", "store_id": "west", "op": "<=", "value": 10}, ["m-1", "m-2"]),
        ({"all": [{"field": "gender", "op": "=", "value": "f"},
                  {"any": [{"field": "tier", "op": "=", "value": "gold"},
                           {"field": "tags", "op": "contains_any", "value": ["vip"]}]}]}, ["m-1", "m-2"]),
    ]
    for rule, expected in cases:
        preview = await _preview(campaigns, rule)
        assert (preview.count, list(preview.sample_member_ids)) == (len(expected), expected), rule


async def test_a_store_managers_segment_stays_in_their_stores(campaigns: Harness) -> None:
    await _world(campaigns)
    everyone = {"field": "order_count", "op": ">=", "value": 0}
    assert (await _preview(campaigns, everyone, scope=["west", "sh"])).sample_member_ids == ["m-1", "m-3"]
    assert (await _preview(campaigns, everyone, scope=[])).count == 0

    created = await campaigns.client.CreateSegment(campaigns_pb2.CreateSegmentRequest(
        brand_id=campaigns.brand_id, name=" 西湖店会员 ", rule_json=json.dumps(everyone), created_by="staff-7",
        scope=campaigns_pb2.StoreScope(store_ids=["west"])))
    assert (created.name, created.member_count, list(created.store_ids)) == ("西湖店会员", 1, ["west"])
    assert json.loads(created.rule_json) == everyone

    def get(scope: list[str] | None) -> campaigns_pb2.GetSegmentRequest:
        request = campaigns_pb2.GetSegmentRequest(brand_id=campaigns.brand_id, segment_id=created.id)
        if scope is not None:
            request.scope.store_ids.extend(scope)
        return request

    assert (await campaigns.client.GetSegment(get(None))).id == created.id  # a brand admin sees it
    assert (await campaigns.client.GetSegment(get(["west", "xixi"]))).id == created.id
    for outsider in (["xixi"], []):
        with pytest.raises(RemoteError) as err:
            await campaigns.client.GetSegment(get(outsider))
        assert err.value.code == grpc.StatusCode.NOT_FOUND
    with pytest.raises(RemoteError) as err:
        await campaigns.client.GetSegment(campaigns_pb2.GetSegmentRequest(brand_id="other", segment_id=created.id))
    assert err.value.code == grpc.StatusCode.NOT_FOUND


async def test_segments_list_newest_first_in_pages(campaigns: Harness) -> None:
    rule = json.dumps({"field": "order_count", "op": ">", "value": 0})
    ids = [(await campaigns.client.CreateSegment(campaigns_pb2.CreateSegmentRequest(
        brand_id=campaigns.brand_id, name=f"s{i}", rule_json=rule))).id for i in range(5)]
    seen, cursor = [], ""
    while True:
        page = await campaigns.client.ListSegments(campaigns_pb2.ListSegmentsRequest(
            brand_id=campaigns.brand_id, cursor=cursor, limit=2))
        seen += [s.id for s in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == ids[::-1]


async def test_a_bad_rule_names_every_bad_place_and_saves_nothing(campaigns: Harness) -> None:
    rule = {"all": [{"field": "tier", "op": ">", "value": "gold"},
                    {"field": "distance_km", "store_id": "nowhere", "op": "<=", "value": 3},
                    {"field": "nope", "op": "=", "value": 1}]}
    with pytest.raises(RemoteError) as err:
        await campaigns.client.CreateSegment(campaigns_pb2.CreateSegmentRequest(
            brand_id=campaigns.brand_id, name="bad", rule_json=json.dumps(rule)))
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.field == "rule.all[0].op"
    assert [e["field"] for e in err.value.details["field_errors"]] == ["rule.all[0].op", "rule.all[2].field"]
    # Only a well-formed rule is checked against the stores: the unknown store is named once the rest is fixed.
    rule["all"] = rule["all"][1:2]
    with pytest.raises(RemoteError) as err:
        await _preview(campaigns, rule)
    assert err.value.field == "rule.all[0].store_id"
    page = await campaigns.client.ListSegments(campaigns_pb2.ListSegmentsRequest(brand_id=campaigns.brand_id))
    assert list(page.items) == []


async def test_late_profiles_and_erasure(campaigns: Harness) -> None:
    await _world(campaigns)
    stale = MemberUpdated(brand_id=campaigns.brand_id, member_id="m-1", store_id="west", tags=["lapsed"])
    stale.updated_at.FromDatetime(NOW - timedelta(days=5))  # older than the update already applied
    await campaigns.publish(stale, "members")
    await campaigns.publish(MemberErased(brand_id=campaigns.brand_id, member_id="m-2"), "members")
    await eventually(lambda: _preview(campaigns, {"field": "tier", "op": "=", "value": "gold"}),
                     lambda p: p.count == 0)
    assert list((await _preview(campaigns, {"field": "tags", "op": "contains", "value": "vip"})).sample_member_ids) \
        == ["m-1"]
    # A profile event arriving after the erasure does not bring the member back.
    late = MemberUpdated(brand_id=campaigns.brand_id, member_id="m-2", store_id="xixi", tags=["vip"])
    late.updated_at.FromDatetime(NOW)
    await campaigns.publish(late, "members")
    await campaigns.publish(MemberUpdated(brand_id=campaigns.brand_id, member_id="m-3", store_id="sh",
                                          tags=["marker"]), "members")
    await eventually(lambda: _preview(campaigns, {"field": "tags", "op": "contains", "value": "marker"}),
                     lambda p: p.count == 1)
    assert list((await _preview(campaigns, {"field": "tags", "op": "contains", "value": "vip"})).sample_member_ids) \
        == ["m-1"]
