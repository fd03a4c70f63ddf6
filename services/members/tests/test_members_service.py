"""Component tests: the members service in-process on real gRPC, against MongoDB-wire and NATS JetStream."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import nats
import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy

from crm.common.v1.types_pb2 import GeoPoint
from crm.members.v1 import events_pb2, members_pb2
from crm.members.v1.members_pb2_grpc import MembersServiceStub
from crm_common.errors import RemoteError
from crm_common.events import decode
from members.bootstrap import Settings

from .conftest import ADMIN_PASSWORD
from .conftest import phone as _phone
from .conftest import uid as _uid


async def _brand(client: MembersServiceStub, **fields: Any) -> members_pb2.Brand:
    return await client.CreateBrand(members_pb2.CreateBrandRequest(code=f"b{_uid()}", name="Brand", **fields))


async def _store(client: MembersServiceStub, brand_id: str, code: str | None = None) -> members_pb2.Store:
    return await client.CreateStore(
        members_pb2.CreateStoreRequest(
            brand_id=brand_id,
            code=code or f"s{_uid()}",
            name="Store",
            city="Shanghai",
            location=GeoPoint(lat=31.23, lng=121.47),
        )
    )


async def _error(call: Any) -> RemoteError:
    with pytest.raises(RemoteError) as err:
        await call
    return err.value


# --- directory ------------------------------------------------------------------------------------------


async def test_brand_store_and_staff_are_created_and_read_back(client: MembersServiceStub) -> None:
    brand = await _brand(client)
    assert brand.id.startswith("b_") and brand.timezone == "Asia/Shanghai"
    assert (await client.GetBrand(members_pb2.GetBrandRequest(brand_id=brand.id))).code == brand.code
    assert brand.id in [b.id for b in (await client.ListBrands(members_pb2.ListBrandsRequest())).brands]

    store = await _store(client, brand.id)
    got = await client.GetStore(members_pb2.GetStoreRequest(brand_id=brand.id, store_id=store.id))
    assert got.open and got.HasField("location") and got.location.lat == pytest.approx(31.23)
    assert [s.id for s in (await client.ListStores(members_pb2.ListStoresRequest(brand_id=brand.id))).stores] == [
        store.id
    ]

    staff = await client.CreateStaff(
        members_pb2.CreateStaffRequest(
            brand_id=brand.id,
            username=f"Clerk{_uid()}",
            password="s3cret-pass",
            display_name="Clerk",
            role="clerk",
            store_ids=[store.id],
        )
    )
    assert staff.active and staff.username == staff.username.lower() and list(staff.store_ids) == [store.id]
    listed = await client.ListStaff(members_pb2.ListStaffRequest(brand_id=brand.id, store_id=store.id))
    assert [s.id for s in listed.staff] == [staff.id]


async def test_duplicate_brand_code_is_already_exists(client: MembersServiceStub) -> None:
    brand = await _brand(client)
    err = await _error(client.CreateBrand(members_pb2.CreateBrandRequest(code=brand.code.upper(), name="Other")))
    assert (err.code, err.reason, err.field) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "DUPLICATE_BRAND_CODE",
        "code",
    )


async def test_store_code_is_unique_per_brand_only(client: MembersServiceStub) -> None:
    brand_a, brand_b = await _brand(client), await _brand(client)
    await _store(client, brand_a.id, "flagship")
    err = await _error(_store(client, brand_a.id, "flagship"))
    assert (err.code, err.reason, err.field) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "DUPLICATE_STORE_CODE",
        "code",
    )
    assert (await _store(client, brand_b.id, "flagship")).code == "flagship"


async def test_store_of_another_brand_is_not_found(client: MembersServiceStub) -> None:
    brand_a, brand_b = await _brand(client), await _brand(client)
    store = await _store(client, brand_a.id)
    err = await _error(client.GetStore(members_pb2.GetStoreRequest(brand_id=brand_b.id, store_id=store.id)))
    assert err.code == grpc.StatusCode.NOT_FOUND


async def test_username_is_unique_across_brands(client: MembersServiceStub) -> None:
    brand_a, brand_b = await _brand(client), await _brand(client)
    username = f"ana{_uid()}"
    request = dict(username=username, password="password-1", display_name="Ana", role="analyst")
    await client.CreateStaff(members_pb2.CreateStaffRequest(brand_id=brand_a.id, **request))
    err = await _error(client.CreateStaff(members_pb2.CreateStaffRequest(brand_id=brand_b.id, **request)))
    assert (err.code, err.reason, err.field) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "DUPLICATE_USERNAME",
        "username",
    )


async def test_staff_stores_must_belong_to_the_brand(client: MembersServiceStub) -> None:
    brand_a, brand_b = await _brand(client), await _brand(client)
    foreign = await _store(client, brand_b.id)
    err = await _error(
        client.CreateStaff(
            members_pb2.CreateStaffRequest(
                brand_id=brand_a.id,
                username=f"c{_uid()}",
                password="password-1",
                display_name="C",
                role="clerk",
                store_ids=[foreign.id],
            )
        )
    )
    assert (err.code, err.field) == (grpc.StatusCode.INVALID_ARGUMENT, "store_ids")


async def test_login_right_wrong_unknown_and_inactive(client: MembersServiceStub, db: Any) -> None:
    brand = await _brand(client)
    username = f"boss{_uid()}"
    created = await client.CreateStaff(
        members_pb2.CreateStaffRequest(
            brand_id=brand.id,
            username=username,
            password="correct-horse",
            display_name="Boss",
            role="brand_admin",
        )
    )
    ok = await client.VerifyStaffCredentials(
        members_pb2.VerifyStaffCredentialsRequest(username=username.upper(), password="correct-horse")
    )
    assert (ok.id, ok.role, ok.brand_id) == (created.id, "brand_admin", brand.id)

    wrong = await _error(
        client.VerifyStaffCredentials(
            members_pb2.VerifyStaffCredentialsRequest(username=username, password="wrong-horse")
        )
    )
    unknown = await _error(
        client.VerifyStaffCredentials(
            members_pb2.VerifyStaffCredentialsRequest(username=f"nobody{_uid()}", password="correct-horse")
        )
    )
    await db["staff"].update_one({"_id": created.id}, {"$set": {"active": False}})
    inactive = await _error(
        client.VerifyStaffCredentials(
            members_pb2.VerifyStaffCredentialsRequest(username=username, password="correct-horse")
        )
    )
    for err in (wrong, unknown, inactive):
        assert (err.code, err.reason, err.message) == (
            grpc.StatusCode.UNAUTHENTICATED,
            "INVALID_CREDENTIALS",
            wrong.message,
        )


async def test_bootstrap_group_admin_can_log_in(client: MembersServiceStub) -> None:
    admin = await client.VerifyStaffCredentials(
        members_pb2.VerifyStaffCredentialsRequest(username="admin", password=ADMIN_PASSWORD)
    )
    assert (admin.role, admin.brand_id) == ("group_admin", "")


# --- members --------------------------------------------------------------------------------------------


async def test_register_member_and_get_it(client: MembersServiceStub) -> None:
    brand = await _brand(client)
    store = await _store(client, brand.id)
    national = _phone()
    member = await client.RegisterMember(
        members_pb2.RegisterMemberRequest(
            brand_id=brand.id,
            phone=f"{national[:3]} {national[3:7]} {national[7:]}",
            name="王小明",
            gender="male",
            birthday="1990-01-02",
            store_id=store.id,
            channel="pos",
            attributes={"shoe_size": "42"},
            consents={"sms": True, "wechat": False},
        )
    )
    assert member.id.startswith("m_") and member.phone == f"+86{national}"
    got = await client.GetMember(members_pb2.GetMemberRequest(brand_id=brand.id, member_id=member.id))
    assert got == member
    assert dict(got.consents) == {"sms": True, "wechat": False} and got.attributes["shoe_size"] == "42"
    found = await client.FindMemberByPhone(
        members_pb2.FindMemberByPhoneRequest(brand_id=brand.id, phone=f"+86-{national}")
    )
    assert found.id == member.id


async def test_second_registration_of_a_phone_returns_the_existing_member_id(
    client: MembersServiceStub,
) -> None:
    brand = await _brand(client)
    phone = _phone()
    first = await client.RegisterMember(members_pb2.RegisterMemberRequest(brand_id=brand.id, phone=phone))
    err = await _error(client.RegisterMember(members_pb2.RegisterMemberRequest(brand_id=brand.id, phone=f"86{phone}")))
    assert (err.code, err.reason, err.field) == (grpc.StatusCode.ALREADY_EXISTS, "DUPLICATE_PHONE", "phone")
    assert err.details == {"member_id": first.id}


async def test_same_phone_may_join_two_brands(client: MembersServiceStub) -> None:
    brand_a, brand_b = await _brand(client), await _brand(client)
    phone = _phone()
    a = await client.RegisterMember(members_pb2.RegisterMemberRequest(brand_id=brand_a.id, phone=phone))
    b = await client.RegisterMember(members_pb2.RegisterMemberRequest(brand_id=brand_b.id, phone=phone))
    assert a.id != b.id


async def test_twenty_concurrent_registrations_of_one_phone_create_exactly_one_member(
    client: MembersServiceStub, db: Any
) -> None:
    brand = await _brand(client)
    phone = _phone()
    results = await asyncio.gather(
        *[client.RegisterMember(members_pb2.RegisterMemberRequest(brand_id=brand.id, phone=phone)) for _ in range(20)],
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, members_pb2.Member)]
    losers = [r for r in results if isinstance(r, RemoteError) and r.reason == "DUPLICATE_PHONE"]
    assert len(winners) == 1, results
    assert len(losers) == 19, results
    assert {e.details.get("member_id") for e in losers} == {winners[0].id}
    assert await db["members"].count_documents({"brand_id": brand.id}) == 1
    registered = await db["outbox"].count_documents(
        {"brand_id": brand.id, "event_type": "crm.members.v1.MemberRegistered"}
    )
    assert registered == 1


async def test_member_of_brand_a_is_not_visible_through_brand_b(client: MembersServiceStub) -> None:
    brand_a, brand_b = await _brand(client), await _brand(client)
    phone = _phone()
    member = await client.RegisterMember(members_pb2.RegisterMemberRequest(brand_id=brand_a.id, phone=phone))
    err = await _error(client.GetMember(members_pb2.GetMemberRequest(brand_id=brand_b.id, member_id=member.id)))
    assert err.code == grpc.StatusCode.NOT_FOUND
    err = await _error(client.FindMemberByPhone(members_pb2.FindMemberByPhoneRequest(brand_id=brand_b.id, phone=phone)))
    assert err.code == grpc.StatusCode.NOT_FOUND


async def test_stored_member_document_has_no_plaintext_phone(client: MembersServiceStub, db: Any) -> None:
    brand = await _brand(client)
    national = _phone()
    member = await client.RegisterMember(members_pb2.RegisterMemberRequest(brand_id=brand.id, phone=national))
    raw = await db["members"].find_one({"_id": member.id})
    assert national not in repr(raw)
    assert national[-8:] not in repr(raw)
    assert raw["consents"] == {}
    outbox = await db["outbox"].find_one({"brand_id": brand.id, "event_type": "crm.members.v1.MemberRegistered"})
    assert national.encode() not in bytes(outbox["envelope"])


async def test_consents_record_time_and_source(client: MembersServiceStub, db: Any) -> None:
    brand = await _brand(client)
    member = await client.RegisterMember(
        members_pb2.RegisterMemberRequest(brand_id=brand.id, phone=_phone(), consents={"sms": True, "push": False})
    )
    raw = await db["members"].find_one({"_id": member.id})
    assert raw["consents"]["sms"]["granted"] is True and raw["consents"]["sms"]["source"] == "api"
    assert raw["consents"]["push"]["at"] == raw["registered_at"]


async def test_member_registered_event_reaches_jetstream(client: MembersServiceStub, settings: Settings) -> None:
    brand = await _brand(client)
    store = await _store(client, brand.id)
    member = await client.RegisterMember(
        members_pb2.RegisterMemberRequest(
            brand_id=brand.id, phone=_phone(), store_id=store.id, channel="wechat", consents={"wechat": True}
        )
    )
    nc = await nats.connect(settings.nats_url)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(
            "crm.members.v1.MemberRegistered",
            durable=None,
            stream="MEMBERS",
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
        )
        found = None
        deadline = asyncio.get_running_loop().time() + 15
        while found is None and asyncio.get_running_loop().time() < deadline:
            try:
                msgs = await sub.fetch(100, timeout=1)
            except TimeoutError:
                continue
            for msg in msgs:
                event = decode(msg.data, msg.headers)
                if event.subject == member.id:
                    found = event
    finally:
        await nc.close()
    assert found is not None, "MemberRegistered did not reach the MEMBERS stream"
    payload = found.payload
    assert isinstance(payload, events_pb2.MemberRegistered)
    assert (found.brand_id, payload.brand_id, payload.member_id, payload.store_id) == (
        brand.id,
        brand.id,
        member.id,
        store.id,
    )
    assert payload.channel == "wechat" and dict(payload.consents) == {"wechat": True}
    assert len(payload.phone_hash) == 64 and member.phone not in str(payload)


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"phone": "12345"}, "phone", "INVALID_PHONE"),
        ({"store_id": "s_missing"}, "store_id", "UNKNOWN_STORE"),
        ({"guide_id": "st_missing"}, "guide_id", "UNKNOWN_GUIDE"),
        ({"birthday": "2999-01-01"}, "birthday", "INVALID_ARGUMENT"),
        ({"consents": {"fax": True}}, "consents.fax", "INVALID_ARGUMENT"),
    ],
)
async def test_bad_registration_is_invalid_argument_and_writes_nothing(
    client: MembersServiceStub, db: Any, fields: dict[str, Any], field: str, reason: str
) -> None:
    brand = await _brand(client)
    request = {"brand_id": brand.id, "phone": _phone(), **fields}
    err = await _error(client.RegisterMember(members_pb2.RegisterMemberRequest(**request)))
    assert (err.code, err.field, err.reason) == (grpc.StatusCode.INVALID_ARGUMENT, field, reason)
    assert await db["members"].count_documents({"brand_id": brand.id}) == 0
    assert (
        await db["outbox"].count_documents({"brand_id": brand.id, "event_type": "crm.members.v1.MemberRegistered"}) == 0
    )


async def test_registration_in_unknown_brand_is_not_found(client: MembersServiceStub) -> None:
    err = await _error(client.RegisterMember(members_pb2.RegisterMemberRequest(brand_id="b_nope", phone=_phone())))
    assert (err.code, err.reason) == (grpc.StatusCode.NOT_FOUND, "BRAND_NOT_FOUND")


async def test_guide_of_another_brand_is_rejected(client: MembersServiceStub) -> None:
    brand_a, brand_b = await _brand(client), await _brand(client)
    store_b = await _store(client, brand_b.id)
    guide = await client.CreateStaff(
        members_pb2.CreateStaffRequest(
            brand_id=brand_b.id,
            username=f"g{_uid()}",
            password="password-1",
            display_name="G",
            role="clerk",
            store_ids=[store_b.id],
        )
    )
    err = await _error(
        client.RegisterMember(members_pb2.RegisterMemberRequest(brand_id=brand_a.id, phone=_phone(), guide_id=guide.id))
    )
    assert (err.code, err.field) == (grpc.StatusCode.INVALID_ARGUMENT, "guide_id")
    ok = await client.RegisterMember(
        members_pb2.RegisterMemberRequest(brand_id=brand_b.id, phone=_phone(), guide_id=guide.id)
    )
    assert ok.guide_id == guide.id
