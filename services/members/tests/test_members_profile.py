"""Component tests of issue #3's rules: identities, merge, transfer, directory, profile, timeline, search,
PIPL, imports and the orders consumer — real gRPC, MongoDB-wire and NATS JetStream."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
import pytest_asyncio
from openpyxl import Workbook

from crm.loyalty.v1 import events_pb2 as loyalty_events
from crm.members.v1 import members_pb2
from crm.members.v1.members_pb2_grpc import MembersServiceStub
from crm_common.bus import EventBus
from crm_common.errors import RemoteError
from crm_common.events import build_envelope
from members.bootstrap import Settings

from .conftest import phone as _phone
from .conftest import uid as _uid

pb = members_pb2


async def _error(call: Any) -> RemoteError:
    with pytest.raises(RemoteError) as err:
        await call
    return err.value


class World:
    """A fresh brand with two stores and two clerks."""

    brand: pb.Brand
    store_a: pb.Store
    store_b: pb.Store
    guide_1: pb.Staff
    guide_2: pb.Staff


@pytest_asyncio.fixture
async def world(client: MembersServiceStub) -> World:
    w = World()
    w.brand = await client.CreateBrand(pb.CreateBrandRequest(code=f"b{_uid()}", name="Brand"))
    w.store_a = await client.CreateStore(pb.CreateStoreRequest(brand_id=w.brand.id, code="a", name="A"))
    w.store_b = await client.CreateStore(pb.CreateStoreRequest(brand_id=w.brand.id, code="b", name="B"))
    for attr, store in (("guide_1", w.store_a), ("guide_2", w.store_b)):
        setattr(
            w,
            attr,
            await client.CreateStaff(
                pb.CreateStaffRequest(
                    brand_id=w.brand.id,
                    username=f"g{_uid()}",
                    password="password-1",
                    display_name="G",
                    role="clerk",
                    store_ids=[store.id],
                )
            ),
        )
    return w


async def _member(client: MembersServiceStub, w: World, **fields: Any) -> pb.Member:
    fields.setdefault("phone", _phone())
    fields.setdefault("store_id", w.store_a.id)
    return await client.RegisterMember(pb.RegisterMemberRequest(brand_id=w.brand.id, **fields))


# --- identities -----------------------------------------------------------------------------------------


async def test_card_and_wechat_ids_are_unique_per_brand_with_the_existing_member_id(
    client: MembersServiceStub, world: World
) -> None:
    card = f"C{_uid()}"
    first = await _member(client, world, card_no=card, wechat_union_id=f"u{card}", wechat_open_id=f"o{card}")
    for field, value, reason in (
        ("card_no", card, "DUPLICATE_CARD"),
        ("wechat_union_id", f"u{card}", "DUPLICATE_WECHAT_UNION_ID"),
        ("wechat_open_id", f"o{card}", "DUPLICATE_WECHAT_OPEN_ID"),
    ):
        err = await _error(_member(client, world, **{field: value}))
        assert (err.code, err.reason, err.details) == (grpc.StatusCode.ALREADY_EXISTS, reason, {"member_id": first.id})
    for kind, value in (("card", card), ("wechat_union_id", f"u{card}"), ("phone", first.phone)):
        found = await client.FindMemberByIdentity(
            pb.FindMemberByIdentityRequest(brand_id=world.brand.id, kind=kind, value=value)
        )
        assert found.id == first.id


async def test_wechat_login_finds_or_creates_once_and_learns_the_union_id(
    client: MembersServiceStub, world: World
) -> None:
    open_id, union_id = f"o{_uid()}", f"u{_uid()}"
    results = await asyncio.gather(
        *[
            client.FindOrCreateMemberByWechat(
                pb.FindOrCreateMemberByWechatRequest(brand_id=world.brand.id, open_id=open_id)
            )
            for _ in range(5)
        ]
    )
    assert len({r.member.id for r in results}) == 1 and sum(r.created for r in results) == 1
    again = await client.FindOrCreateMemberByWechat(
        pb.FindOrCreateMemberByWechatRequest(brand_id=world.brand.id, open_id=open_id, union_id=union_id)
    )
    assert not again.created and again.member.wechat_union_id == union_id and again.member.phone == ""
    by_union = await client.FindMemberByIdentity(
        pb.FindMemberByIdentityRequest(brand_id=world.brand.id, kind="wechat_union_id", value=union_id)
    )
    assert by_union.id == results[0].member.id


# --- merge ----------------------------------------------------------------------------------------------


async def test_merge_folds_identities_tags_timeline_and_facts_into_the_survivor(
    client: MembersServiceStub, world: World, db: Any
) -> None:
    survivor = await _member(client, world, name="王小明", tags=["vip"], consents={"sms": True})
    dup_phone = _phone()
    merged = await _member(
        client,
        world,
        phone=dup_phone,
        birthday="1990-01-02",
        card_no=f"C{_uid()}",
        tags=["coffee"],
        store_id=world.store_b.id,
        consents={"sms": False},
    )
    await client.AddMemberNote(
        pb.AddMemberNoteRequest(brand_id=world.brand.id, member_id=merged.id, text="likes latte")
    )
    result = await client.MergeMembers(
        pb.MergeMembersRequest(
            brand_id=world.brand.id, survivor_member_id=survivor.id, merged_member_id=merged.id, actor_id="st_x"
        )
    )
    m = result.member
    assert m.id == survivor.id and set(m.tags) == {"vip", "coffee"} and m.birthday == "1990-01-02"
    assert m.card_no == merged.card_no and m.store_id == world.store_a.id
    assert m.consents["sms"] is False  # the later withdrawal wins
    # The duplicate's phone, card and id all lead to the survivor now.
    assert (
        await client.FindMemberByPhone(pb.FindMemberByPhoneRequest(brand_id=world.brand.id, phone=dup_phone))
    ).id == survivor.id
    assert (await client.GetMember(pb.GetMemberRequest(brand_id=world.brand.id, member_id=merged.id))).id == survivor.id
    assert (
        await client.FindMemberByIdentity(
            pb.FindMemberByIdentityRequest(brand_id=world.brand.id, kind="card", value=merged.card_no)
        )
    ).id == survivor.id
    err = await _error(_member(client, world, phone=dup_phone))
    assert err.details == {"member_id": survivor.id}
    timeline = await client.ListTimeline(pb.ListTimelineRequest(brand_id=world.brand.id, member_id=survivor.id))
    kinds = [e.kind for e in timeline.entries]
    assert "note" in kinds and "merged" in kinds and kinds.count("registered") == 2
    record = await db["merges"].find_one({"_id": result.merge_id})
    assert record["merged_before"]["_id"] == merged.id  # nothing is lost: the original is kept
    assert (
        await db["outbox"].count_documents({"event_type": "crm.members.v1.MemberMerged", "brand_id": world.brand.id})
        == 1
    )
    err = await _error(
        client.MergeMembers(
            pb.MergeMembersRequest(brand_id=world.brand.id, survivor_member_id=survivor.id, merged_member_id=merged.id)
        )
    )
    assert err.code == grpc.StatusCode.NOT_FOUND


# --- ownership ------------------------------------------------------------------------------------------


async def test_transfer_by_store_is_idempotent_audited_and_evented(
    client: MembersServiceStub, world: World, db: Any
) -> None:
    ids = {(await _member(client, world)).id for _ in range(3)}
    request = pb.TransferMembersRequest(
        brand_id=world.brand.id,
        transfer_id=f"t{_uid()}",
        from_store_id=world.store_a.id,
        to_store_id=world.store_b.id,
        to_guide_id=world.guide_2.id,
    )
    first = await client.TransferMembers(request)
    again = await client.TransferMembers(request)
    assert (first.moved, first.replayed, again.moved, again.replayed) == (3, False, 3, True)
    moved = await db["members"].find({"_id": {"$in": list(ids)}}).to_list()
    assert {(d["store_id"], d["guide_id"]) for d in moved} == {(world.store_b.id, world.guide_2.id)}
    assert await db["transfers"].count_documents({"brand_id": world.brand.id}) == 1
    assert (
        await db["outbox"].count_documents(
            {"event_type": "crm.members.v1.MembersTransferred", "brand_id": world.brand.id}
        )
        == 1
    )
    other = pb.TransferMembersRequest(
        brand_id=world.brand.id,
        transfer_id=request.transfer_id,
        from_store_id=world.store_b.id,
        to_store_id=world.store_a.id,
    )
    err = await _error(client.TransferMembers(other))
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "TRANSFER_ID_REUSED")
    err = await _error(
        client.TransferMembers(
            pb.TransferMembersRequest(brand_id=world.brand.id, transfer_id="x", from_store_id=world.store_a.id)
        )
    )
    assert err.field == "to_store_id"  # nobody may end up unowned


async def test_staff_who_leaves_cannot_log_in_and_their_members_move_in_one_step(
    client: MembersServiceStub, world: World, db: Any
) -> None:
    username = f"leaver{_uid()}"
    leaver = await client.CreateStaff(
        pb.CreateStaffRequest(
            brand_id=world.brand.id,
            username=username,
            password="password-1",
            display_name="L",
            role="clerk",
            store_ids=[world.store_a.id],
        )
    )
    members = [await _member(client, world, guide_id=leaver.id) for _ in range(2)]
    result = await client.DeactivateStaff(
        pb.DeactivateStaffRequest(brand_id=world.brand.id, staff_id=leaver.id, to_guide_id=world.guide_1.id)
    )
    assert result.moved == 2 and not result.staff.active
    again = await client.GetStaff(pb.GetStaffRequest(brand_id=world.brand.id, staff_id=leaver.id))
    assert (again.id, again.active, again.username) == (leaver.id, False, username)
    assert (await _error(client.GetStaff(pb.GetStaffRequest(brand_id="", staff_id=leaver.id)))).reason == (
        "STAFF_NOT_FOUND"  # a brand's account is not a group admin's
    )
    for m in members:
        got = await client.GetMember(pb.GetMemberRequest(brand_id=world.brand.id, member_id=m.id))
        assert (got.guide_id, got.store_id) == (world.guide_1.id, world.store_a.id)
    err = await _error(
        client.VerifyStaffCredentials(pb.VerifyStaffCredentialsRequest(username=username, password="password-1"))
    )
    assert err.reason == "INVALID_CREDENTIALS"
    assert (
        await db["outbox"].count_documents(
            {"event_type": "crm.members.v1.StaffDeactivated", "brand_id": world.brand.id}
        )
        == 1
    )
    err = await _error(_member(client, world, guide_id=leaver.id))
    assert err.reason == "UNKNOWN_GUIDE"


async def test_closing_a_store_with_members_needs_a_destination(client: MembersServiceStub, world: World) -> None:
    member = await _member(client, world)
    err = await _error(client.SetStoreOpen(pb.SetStoreOpenRequest(brand_id=world.brand.id, store_id=world.store_a.id)))
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "STORE_HAS_MEMBERS")
    closed = await client.SetStoreOpen(
        pb.SetStoreOpenRequest(
            brand_id=world.brand.id, store_id=world.store_a.id, transfer_to_store_id=world.store_b.id
        )
    )
    assert not closed.open
    got = await client.GetMember(pb.GetMemberRequest(brand_id=world.brand.id, member_id=member.id))
    assert got.store_id == world.store_b.id


# --- profile --------------------------------------------------------------------------------------------


async def test_custom_attributes_are_typed_validated_and_required(client: MembersServiceStub, world: World) -> None:
    defs = [
        pb.AttributeDefinition(name="pet_species", type="enum", options=["cat", "dog"], required=True),
        pb.AttributeDefinition(name="vaccinated_on", type="date"),
        pb.AttributeDefinition(name="weight_kg", type="number", min=0, max=100),
        pb.AttributeDefinition(name="neutered", type="boolean"),
        pb.AttributeDefinition(name="foods", type="multi_select", options=["dry", "wet", "raw"]),
    ]
    await client.PutAttributeDefinitions(pb.PutAttributeDefinitionsRequest(brand_id=world.brand.id, definitions=defs))
    err = await _error(_member(client, world))
    assert err.field == "attributes.pet_species"
    for attrs, field in (
        ({"pet_species": "fish"}, "attributes.pet_species"),
        ({"pet_species": "cat", "weight_kg": "200"}, "attributes.weight_kg"),
        ({"pet_species": "cat", "vaccinated_on": "2024-02-30"}, "attributes.vaccinated_on"),
        ({"pet_species": "cat", "foods": "dry,stone"}, "attributes.foods"),
        ({"pet_species": "cat", "colour": "x"}, "attributes.colour"),
    ):
        assert (await _error(_member(client, world, attributes=attrs))).field == field
    member = await _member(
        client, world, attributes={"pet_species": "dog", "weight_kg": "12.5", "neutered": "yes", "foods": "wet, dry"}
    )
    assert dict(member.attributes) == {
        "pet_species": "dog",
        "weight_kg": "12.5",
        "neutered": "true",
        "foods": "wet,dry",
    }
    updated = await client.UpdateMember(
        pb.UpdateMemberRequest(
            brand_id=world.brand.id, member_id=member.id, attributes={"vaccinated_on": "2024-03-01"}, name="Li Lei"
        )
    )
    assert updated.attributes["vaccinated_on"] == "2024-03-01" and updated.name == "Li Lei"
    err = await _error(
        client.UpdateMember(
            pb.UpdateMemberRequest(brand_id=world.brand.id, member_id=member.id, remove_attributes=["pet_species"])
        )
    )
    assert err.field == "attributes.pet_species"


async def test_consents_record_changes_and_one_step_opt_out_emits_an_update(
    client: MembersServiceStub, world: World, db: Any
) -> None:
    member = await _member(client, world, consents={"sms": True, "wechat": True}, preferred_channel="wechat")
    out = await client.SetConsents(
        pb.SetConsentsRequest(brand_id=world.brand.id, member_id=member.id, opt_out_all=True, source="sms_reply")
    )
    assert dict(out.consents) == {"sms": False, "wechat": False} and out.preferred_channel == ""
    assert {c.source for c in out.consent_details} == {"sms_reply"}
    assert (
        await db["outbox"].count_documents({"event_type": "crm.members.v1.MemberUpdated", "brand_id": world.brand.id})
        == 1
    )
    timeline = await client.ListTimeline(pb.ListTimelineRequest(brand_id=world.brand.id, member_id=member.id))
    assert timeline.entries[0].kind == "consent"


async def test_manual_tags_and_orders_feed_facts_timeline_and_automatic_tags(
    client: MembersServiceStub, world: World, settings: Settings
) -> None:
    member = await _member(client, world)
    tagged = await client.ChangeTags(
        pb.ChangeTagsRequest(brand_id=world.brand.id, member_id=member.id, add=["VIP", "coffee"], remove=["coffee"])
    )
    assert list(tagged.tags) == ["vip"] and "new_member" in tagged.auto_tags
    bus = await EventBus.connect(settings.nats_url, name="test-loyalty")
    try:
        await bus.ensure_stream("loyalty")
        for i, amount in enumerate((300_000, 250_000)):
            order = loyalty_events.OrderRecorded(
                brand_id=world.brand.id,
                order_id=f"o{_uid()}",
                external_id=f"POS-{i}",
                store_id=world.store_a.id,
                member_id=member.id,
                total_fen=amount,
                lines=[loyalty_events.OrderLine(sku="x", category="beans")],
            )
            order.occurred_at.FromDatetime(datetime.now(UTC))
            envelope = build_envelope(order, source="loyalty", brand_id=world.brand.id, subject=order.order_id)
            await bus.publish(envelope)
            await bus.publish(envelope)  # a redelivery must not count twice
    finally:
        await bus.close()
    got = member
    for _ in range(100):
        got = await client.GetMember(pb.GetMemberRequest(brand_id=world.brand.id, member_id=member.id))
        if got.facts.order_count >= 2:
            break
        await asyncio.sleep(0.1)
    assert (got.facts.order_count, got.facts.total_spend_fen) == (2, 550_000)
    assert {"high_value", "repeat_buyer"} <= set(got.auto_tags)
    search = await client.SearchMembers(pb.SearchMembersRequest(brand_id=world.brand.id, tag="high_value"))
    assert [m.id for m in search.members] == [member.id]
    page1 = await client.ListTimeline(pb.ListTimelineRequest(brand_id=world.brand.id, member_id=member.id, limit=2))
    page2 = await client.ListTimeline(
        pb.ListTimelineRequest(brand_id=world.brand.id, member_id=member.id, limit=2, cursor=page1.next_cursor)
    )
    kinds = [e.kind for e in [*page1.entries, *page2.entries]]
    assert kinds == ["order", "order", "registered"] and page2.next_cursor == ""


# --- search, masking, audit -----------------------------------------------------------------------------


async def test_search_by_name_prefix_phone_store_and_pages_with_a_cursor(
    client: MembersServiceStub, world: World, db: Any
) -> None:
    names = ["王小明", "王小红", "王大力", "李雷", "Wang Fang"]
    made = [
        await _member(client, world, name=n, store_id=world.store_b.id if n == "李雷" else world.store_a.id)
        for n in names
    ]
    found = await client.SearchMembers(pb.SearchMembersRequest(brand_id=world.brand.id, name_prefix="王小"))
    assert {m.name for m in found.members} == {"王小明", "王小红"}
    assert (await client.SearchMembers(pb.SearchMembersRequest(brand_id=world.brand.id, name_prefix="wang f"))).members[
        0
    ].name == "Wang Fang"
    by_phone = await client.SearchMembers(pb.SearchMembersRequest(brand_id=world.brand.id, phone=made[3].phone))
    assert [m.id for m in by_phone.members] == [made[3].id]
    by_store = await client.SearchMembers(
        pb.SearchMembersRequest(brand_id=world.brand.id, store_ids=[world.store_b.id])
    )
    assert [m.id for m in by_store.members] == [made[3].id]
    seen, cursor = [], ""
    while True:
        page = await client.SearchMembers(pb.SearchMembersRequest(brand_id=world.brand.id, limit=2, cursor=cursor))
        seen += [m.id for m in page.members]
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == [m.id for m in reversed(made)]
    raw = await db["members"].find_one({"_id": made[0].id})
    assert "王小明" not in repr(raw)  # names are encrypted; only keyed prefix hashes are searchable
    masked = await client.GetMember(
        pb.GetMemberRequest(
            brand_id=world.brand.id, member_id=made[0].id, access=pb.PiiAccess(actor_id="st_clerk", mask=True)
        )
    )
    assert masked.masked and masked.name == "王**" and "****" in masked.phone
    assert await db["pii_audit"].count_documents({"reads.actor_id": "st_clerk"}) == 0
    await client.GetMember(
        pb.GetMemberRequest(
            brand_id=world.brand.id, member_id=made[0].id, access=pb.PiiAccess(actor_id="st_admin", purpose="test")
        )
    )
    audit = await db["pii_audit"].find_one({"reads.actor_id": "st_admin"})
    assert audit["brand_id"] == world.brand.id
    assert [r["member_ids"] for r in audit["reads"] if r["actor_id"] == "st_admin"] == [[made[0].id]]


# --- PIPL -----------------------------------------------------------------------------------------------


async def test_export_then_erasure_removes_pii_everywhere_and_frees_the_phone(
    client: MembersServiceStub, world: World, db: Any
) -> None:
    phone = _phone()
    member = await _member(client, world, phone=phone, name="张三", card_no=f"C{_uid()}", birthday="1991-01-01")
    await client.AddMemberNote(pb.AddMemberNoteRequest(brand_id=world.brand.id, member_id=member.id, text="allergic"))
    exported = json.loads(
        (
            await client.ExportMemberData(
                pb.ExportMemberDataRequest(brand_id=world.brand.id, member_id=member.id, actor_id="st_admin")
            )
        ).json
    )
    assert exported["member"]["name"] == "张三" and exported["timeline"][0]["summary"] == "allergic"
    await client.EraseMember(pb.EraseMemberRequest(brand_id=world.brand.id, member_id=member.id, actor_id="st_admin"))
    await client.EraseMember(pb.EraseMemberRequest(brand_id=world.brand.id, member_id=member.id))  # idempotent
    raw = await db["members"].find_one({"_id": member.id})
    assert raw["status"] == "erased" and "phone_enc" not in raw and "name_enc" not in raw and raw["birthday"] == ""
    assert await db["identities"].count_documents({"member_id": member.id}) == 0
    assert await db["timeline"].count_documents({"member_id": member.id}) == 0
    err = await _error(client.GetMember(pb.GetMemberRequest(brand_id=world.brand.id, member_id=member.id)))
    assert err.code == grpc.StatusCode.NOT_FOUND
    assert (
        await db["outbox"].count_documents({"event_type": "crm.members.v1.MemberErased", "brand_id": world.brand.id})
        == 1
    )
    again = await _member(client, world, phone=phone)  # the person may come back as a new member
    assert again.id != member.id


# --- imports --------------------------------------------------------------------------------------------


async def _import(
    client: MembersServiceStub,
    service: Any,
    brand_id: str,
    data: bytes,
    fmt: str = "csv",
    chunk: int = 1024 * 1024,
    **fields: Any,
) -> pb.MemberImport:
    job = await client.CreateMemberImport(pb.CreateMemberImportRequest(brand_id=brand_id, format=fmt, **fields))
    chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    for seq, part in enumerate(chunks):
        await client.AppendMemberImportChunk(
            pb.AppendMemberImportChunkRequest(brand_id=brand_id, import_id=job.id, seq=seq, data=part)
        )
    await client.StartMemberImport(pb.StartMemberImportRequest(brand_id=brand_id, import_id=job.id, chunks=len(chunks)))
    await service.extra["imports"].wait(job.id)
    return await client.GetMemberImport(pb.GetMemberImportRequest(brand_id=brand_id, import_id=job.id))


async def test_csv_import_maps_columns_validates_rows_and_rerun_changes_nothing(
    client: MembersServiceStub, service: Any, world: World
) -> None:
    existing = await _member(client, world)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["手机号", "姓名", "性别", "birthday", "store_code", "tags"])
    p1, p2 = _phone(), _phone()
    writer.writerows(
        [
            [p1, "王五", "男", "1990-01-01", "a", "vip;coffee"],
            ["12345", "bad", "", "", "", ""],
            [p2, "赵六", "女", "1990-02-30", "a", ""],
            [existing.phone, "x", "", "", "b", ""],
            [p1, "dup", "", "", "a", ""],
            [_phone(), "", "", "", "nope", ""],
        ]
    )
    data = out.getvalue().encode()
    mapping = {"phone": "手机号", "name": "姓名", "gender": "性别"}
    job = await _import(client, service, world.brand.id, data, chunk=64, mapping=mapping)
    assert (job.status, job.total, job.imported, job.failed) == ("done", 6, 1, 5)
    assert [(e.row, e.field) for e in job.errors] == [
        (2, "phone"),
        (3, "birthday"),
        (4, "phone"),
        (5, "phone"),
        (6, "store_code"),
    ]
    assert existing.id in job.errors[2].message and job.errors[3].message == "duplicates row 1"
    found = await client.FindMemberByPhone(pb.FindMemberByPhoneRequest(brand_id=world.brand.id, phone=p1))
    assert (found.name, found.gender, list(found.tags), found.channel) == ("王五", "male", ["vip", "coffee"], "import")
    rerun = await _import(client, service, world.brand.id, data, mapping=mapping)
    assert (rerun.imported, rerun.skipped, rerun.failed) == (0, 1, 5)


async def test_xlsx_import_with_merge_fills_blanks_of_existing_members(
    client: MembersServiceStub, service: Any, world: World
) -> None:
    existing = await _member(client, world)
    book = Workbook()
    sheet = book.active
    sheet.append(["phone", "name", "birthday", "consent_sms"])
    new_phone = _phone()
    sheet.append([int(new_phone), "孙七", datetime(1988, 8, 8), "yes"])
    sheet.append([existing.phone, "周八", None, ""])
    buffer = io.BytesIO()
    book.save(buffer)
    job = await _import(client, service, world.brand.id, buffer.getvalue(), fmt="xlsx", on_existing="merge")
    assert (job.status, job.imported, job.merged, job.failed) == ("done", 1, 1, 0), job.errors
    new = await client.FindMemberByPhone(pb.FindMemberByPhoneRequest(brand_id=world.brand.id, phone=new_phone))
    assert (new.birthday, dict(new.consents)) == ("1988-08-08", {"sms": True})
    merged = await client.GetMember(pb.GetMemberRequest(brand_id=world.brand.id, member_id=existing.id))
    assert merged.name == "周八"


async def test_purchase_model_score_tags_churn_risk_and_a_later_score_clears_it(
    client: MembersServiceStub, world: World, settings: Settings
) -> None:
    from crm.reporting.v1 import events_pb2 as reporting_events

    member = await _member(client, world)
    bus = await EventBus.connect(settings.nats_url, name="test-reporting")

    async def score(churn_risk: bool, p_alive: float, calibration_end: str) -> pb.Member:
        event = reporting_events.ChurnRiskScored(
            brand_id=world.brand.id,
            member_id=member.id,
            p_alive=p_alive,
            churn_risk=churn_risk,
            calibration_end=calibration_end,
        )
        await bus.publish(build_envelope(event, source="reporting", brand_id=world.brand.id, subject=member.id))
        for _ in range(100):
            got = await client.GetMember(pb.GetMemberRequest(brand_id=world.brand.id, member_id=member.id))
            if ("churn_risk" in got.auto_tags) == churn_risk:
                return got
            await asyncio.sleep(0.1)
        raise AssertionError(f"churn_risk tag did not become {churn_risk}")

    try:
        await bus.ensure_stream("reporting")
        risky = await score(True, 0.12, "2026-10-31")
        assert "churn_risk" in risky.auto_tags
        search = await client.SearchMembers(pb.SearchMembersRequest(brand_id=world.brand.id, tag="churn_risk"))
        assert member.id in [m.id for m in search.members]
        back = await score(False, 0.81, "2026-11-30")
        assert "churn_risk" not in back.auto_tags
    finally:
        await bus.close()
