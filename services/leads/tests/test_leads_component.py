"""Component tests: the leads service over real gRPC, on real PostgreSQL and NATS JetStream."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import grpc
import nats
import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from crm.common.v1.types_pb2 import GeoPoint
from crm.leads.v1.events_pb2 import LeadAssigned
from crm.leads.v1.leads_pb2 import CreateLeadRequest, GetLeadRequest, Lead
from crm_common.errors import RemoteError
from crm_common.events import MSG_ID, decode

from .conftest import Brand, LeadsUnderTest

PHONE = "13800138000"
SHANGHAI = (31.2304, 121.4737)
BEIJING = (39.9042, 116.4074)


async def _create(leads: LeadsUnderTest, brand: Brand, **fields: object) -> Lead:
    values: dict[str, object] = {"source": "web", "phone": PHONE} | fields
    request = CreateLeadRequest(brand_id=brand.id, **values)  # type: ignore[arg-type]
    return await leads.client.CreateLead(request)


async def test_lead_for_a_store_goes_to_its_clerks_in_turn(leads: LeadsUnderTest) -> None:
    brand = leads.brand()
    store = brand.store("sh1", city="Shanghai", at=SHANGHAI)
    clerk_a = brand.staff("a", "clerk", store)
    clerk_b = brand.staff("b", "clerk", store)
    brand.staff("boss", "store_manager", store)

    made = [await _create(leads, brand, store_id=store) for _ in range(3)]

    assert [lead.store_id for lead in made] == [store] * 3
    assert [lead.assignee_id for lead in made] == [clerk_a, clerk_b, clerk_a]
    assert all(lead.stage == "new" and lead.phone == "+8613800138000" for lead in made)


async def test_ten_concurrent_leads_split_five_and_five_between_two_clerks(leads: LeadsUnderTest) -> None:
    brand = leads.brand()
    store = brand.store("busy")
    clerk_a = brand.staff("a", "clerk", store)
    clerk_b = brand.staff("b", "clerk", store)

    made = await asyncio.gather(*(_create(leads, brand, store_id=store) for _ in range(10)))

    assert Counter(lead.assignee_id for lead in made) == {clerk_a: 5, clerk_b: 5}


async def test_lead_with_coordinates_goes_to_the_nearest_open_store(leads: LeadsUnderTest) -> None:
    brand = leads.brand()
    beijing = brand.store("bj", city="Beijing", at=BEIJING)
    shanghai = brand.store("sh", city="Shanghai", at=SHANGHAI)
    brand.store("sh-closed", city="Shanghai", at=(31.2215, 121.5447), open=False)
    clerk = brand.staff("sh-clerk", "clerk", shanghai)
    brand.staff("bj-clerk", "clerk", beijing)

    lead = await _create(leads, brand, location=GeoPoint(lat=31.2215, lng=121.5447))  # Pudong

    assert (lead.store_id, lead.assignee_id) == (shanghai, clerk)


async def test_lead_with_only_a_city_goes_to_a_store_there_and_its_manager(leads: LeadsUnderTest) -> None:
    brand = leads.brand()
    brand.store("bj", city="Beijing", at=BEIJING)
    hangzhou = brand.store("hz", city="Hangzhou")
    manager = brand.staff("hz-boss", "store_manager", hangzhou)

    lead = await _create(leads, brand, city="hangzhou")

    assert (lead.store_id, lead.assignee_id) == (hangzhou, manager)


async def _written(leads: LeadsUnderTest, brand_id: str) -> tuple[int, int, int]:
    async with leads.db.acquire() as conn:
        lead_rows = await conn.fetchval("SELECT count(*) FROM leads WHERE brand_id = $1", brand_id)
        cursors = await conn.fetchval(
            "SELECT count(*) FROM store_assignment_cursor WHERE brand_id = $1", brand_id
        )
        events = await conn.fetchval("SELECT count(*) FROM outbox WHERE brand_id = $1", brand_id)
    return lead_rows, cursors, events


async def test_unknown_store_is_invalid_argument_on_store_id_and_writes_nothing(
    leads: LeadsUnderTest,
) -> None:
    brand = leads.brand()
    other = leads.brand()
    foreign_store = other.store("theirs")  # exists, but in another brand

    for store_id in ("no-such-store", foreign_store):
        with pytest.raises(RemoteError) as exc:
            await _create(leads, brand, store_id=store_id)
        assert exc.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert (exc.value.field, exc.value.reason) == ("store_id", "UNKNOWN_STORE")

    assert await _written(leads, brand.id) == (0, 0, 0)


async def test_lead_no_store_can_take_is_invalid_argument(leads: LeadsUnderTest) -> None:
    brand = leads.brand()
    brand.store("bj", city="Beijing")

    with pytest.raises(RemoteError) as exc:
        await _create(leads, brand, city="Chengdu")

    assert (exc.value.code, exc.value.reason, exc.value.field) == (
        grpc.StatusCode.INVALID_ARGUMENT, "NO_STORE_FOR_LEAD", "store_id"
    )
    assert await _written(leads, brand.id) == (0, 0, 0)


async def test_bad_phone_is_invalid_argument_on_phone(leads: LeadsUnderTest) -> None:
    brand = leads.brand()
    store = brand.store("s")
    with pytest.raises(RemoteError) as exc:
        await _create(leads, brand, store_id=store, phone="123")
    assert (exc.value.code, exc.value.field) == (grpc.StatusCode.INVALID_ARGUMENT, "phone")


async def test_get_lead_returns_it_in_its_brand_and_not_found_in_another(leads: LeadsUnderTest) -> None:
    brand = leads.brand()
    store = brand.store("s")
    made = await _create(leads, brand, store_id=store, name="Han Meimei", interest="sofa")

    got = await leads.client.GetLead(GetLeadRequest(brand_id=brand.id, lead_id=made.id))
    assert got == made

    for brand_id, lead_id in ((leads.brand().id, made.id), (brand.id, str(uuid.uuid4()))):
        with pytest.raises(RemoteError) as exc:
            await leads.client.GetLead(GetLeadRequest(brand_id=brand_id, lead_id=lead_id))
        assert exc.value.code == grpc.StatusCode.NOT_FOUND


async def test_lead_assigned_reaches_the_leads_stream_exactly_once_per_lead(leads: LeadsUnderTest) -> None:
    brand = leads.brand()
    store = brand.store("s")
    clerk = brand.staff("a", "clerk", store)
    made = await asyncio.gather(*(_create(leads, brand, store_id=store) for _ in range(4)))
    expected = {lead.id for lead in made}

    nc = await nats.connect(leads.nats_url)
    js = nc.jetstream()
    durable = f"test-{uuid.uuid4().hex[:8]}"
    try:
        sub = await js.pull_subscribe(
            "crm.leads.v1.LeadAssigned",
            durable=durable,
            stream="LEADS",
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
        )
        seen: list[LeadAssigned] = []
        deadline = asyncio.get_running_loop().time() + 15
        # The relay publishes after commit, so poll; keep reading a little past the expected count
        # to catch a duplicate that would arrive later.
        quiet_until: float | None = None
        while asyncio.get_running_loop().time() < deadline:
            try:
                msgs = await sub.fetch(100, timeout=0.5)
            except TimeoutError:
                msgs = []
            for msg in msgs:
                await msg.ack()
                event = decode(msg.data, msg.headers)
                assert msg.headers is not None and msg.headers[MSG_ID] == event.id
                if event.brand_id == brand.id:
                    assert isinstance(event.payload, LeadAssigned)
                    seen.append(event.payload)
            if {e.lead_id for e in seen} == expected:
                quiet_until = quiet_until or asyncio.get_running_loop().time() + 1.0
                if asyncio.get_running_loop().time() >= quiet_until:
                    break
        assert sorted(e.lead_id for e in seen) == sorted(expected)  # each exactly once
        assert {(e.store_id, e.assignee_id, e.source) for e in seen} == {(store, clerk, "web")}
    finally:
        try:
            await js.delete_consumer("LEADS", durable)
        except NotFoundError:
            pass
        await nc.close()
