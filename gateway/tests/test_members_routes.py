"""Gateway members routes beyond registration — profile edits, search, tags, timeline, imports, transfers,
merges, consents, attributes, PIPL copies and erasure, staff deactivation, store status — against a fake
MembersService over real gRPC: translation, validation (422 naming the field), scope (404) and masking."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from openpyxl import load_workbook

from crm.members.v1 import members_pb2
from crm_common.errors import AlreadyExists, Conflict, InvalidArgument, NotFound

from .conftest import BRAND_A, BRAND_B, Backends, FakeMembers

A = f"/v1/brands/{BRAND_A}"
AsRole = Callable[..., dict[str, str]]


def _masked(member: members_pb2.Member, access: members_pb2.PiiAccess) -> members_pb2.Member:
    """Mask like the real service does when ``access.mask``."""
    copy = members_pb2.Member()
    copy.CopyFrom(member)
    if access.mask:
        digits = member.phone[-11:]
        copy.phone, copy.name, copy.birthday, copy.masked = f"{digits[:3]}****{digits[-4:]}", "王**", "", True
    return copy


class RichFakeMembers(FakeMembers):
    """Adds the profile, search, import, ownership and PIPL RPCs; records every request it gets."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: dict[str, list[object]] = {}
        self.members["m-a1"].tags.append("vip")
        self.members["m-a1"].card_no = "C-001"
        self.imports: dict[str, members_pb2.MemberImport] = {}
        self.chunks: dict[str, list[bytes]] = {}
        self.transfers: dict[str, int] = {}
        self.definitions = [members_pb2.AttributeDefinition(name="pet", label="Pet", type="enum",
                                                            options=["cat", "dog"])]
        self.tag_rules: dict[str, members_pb2.TagRules] = {}

    def _seen(self, name: str, request: object) -> None:
        self.requests.setdefault(name, []).append(request)

    def _member(self, brand_id: str, member_id: str) -> members_pb2.Member:
        member = self.members.get(member_id)
        if member is None or member.brand_id != brand_id or member.name == "ERASED":
            raise NotFound("member not found", reason="MEMBER_NOT_FOUND", field="member_id")
        return member

    async def GetMember(self, request, context):
        self._seen("GetMember", request)
        return _masked(self._member(request.brand_id, request.member_id), request.access)

    async def SearchMembers(self, request, context):
        self._seen("SearchMembers", request)
        found = [m for m in self.members.values() if m.brand_id == request.brand_id
                 and (not request.phone or m.phone.endswith(request.phone[-11:]))
                 and (not request.store_ids or m.store_id in request.store_ids)
                 and (not request.tag or request.tag in m.tags)]
        start = int(request.cursor or 0)
        page = found[start:start + request.limit]
        more = start + request.limit < len(found)
        return members_pb2.SearchMembersResponse(members=[_masked(m, request.access) for m in page],
                                                 next_cursor=str(start + request.limit) if more else "")

    async def UpdateMember(self, request, context):
        self._seen("UpdateMember", request)
        member = self._member(request.brand_id, request.member_id)
        if request.HasField("phone") and request.phone.endswith("13900139000"):
            raise AlreadyExists("phone taken", reason="DUPLICATE_PHONE", details={"member_id": "m-a2"})
        if "bad" in request.attributes:
            raise InvalidArgument("not an option", reason="INVALID_ATTRIBUTE", field="attributes.bad")
        if request.HasField("name"):
            member.name = request.name
        member.attributes.update(request.attributes)
        return _masked(member, request.access)

    async def ChangeTags(self, request, context):
        self._seen("ChangeTags", request)
        member = self._member(request.brand_id, request.member_id)
        tags = [t for t in [*member.tags, *request.add] if t not in request.remove]
        del member.tags[:]
        member.tags.extend(dict.fromkeys(tags))
        return _masked(member, request.access)

    async def SetConsents(self, request, context):
        self._seen("SetConsents", request)
        member = self._member(request.brand_id, request.member_id)
        if request.opt_out_all:
            for channel in ("sms", "wechat", "email", "push"):
                member.consents[channel] = False
        member.consents.update(request.consents)
        return _masked(member, request.access)

    async def AddMemberNote(self, request, context):
        self._seen("AddMemberNote", request)
        self._member(request.brand_id, request.member_id)
        return members_pb2.TimelineEntry(id="t-1", member_id=request.member_id, kind=request.kind or "note",
                                         summary=request.text, actor_id=request.actor_id,
                                         at=Timestamp(seconds=1_700_000_100))

    async def ListTimeline(self, request, context):
        self._seen("ListTimeline", request)
        self._member(request.brand_id, request.member_id)
        entries = [members_pb2.TimelineEntry(id=f"t-{i}", member_id=request.member_id, kind="order",
                                             summary=f"order {i}") for i in range(3)]
        start = int(request.cursor or 0)
        more = start + request.limit < len(entries)
        return members_pb2.ListTimelineResponse(entries=entries[start:start + request.limit],
                                                next_cursor=str(start + request.limit) if more else "")

    async def TransferMembers(self, request, context):
        self._seen("TransferMembers", request)
        if request.to_store_id == "store-closed":
            raise Conflict("store is closed", reason="STORE_CLOSED", field="to_store_id")
        replayed = request.transfer_id in self.transfers
        self.transfers.setdefault(request.transfer_id, 2)
        return members_pb2.TransferMembersResponse(transfer_id=request.transfer_id, moved=2, replayed=replayed)

    async def ListStaff(self, request, context):
        staff = [members_pb2.Staff(id="guide-a1", brand_id=BRAND_A, role="clerk", store_ids=["store-a1"])]
        return members_pb2.ListStaffResponse(staff=[s for s in staff if request.store_id in s.store_ids])

    async def MergeMembers(self, request, context):
        self._seen("MergeMembers", request)
        survivor = self._member(request.brand_id, request.survivor_member_id)
        self._member(request.brand_id, request.merged_member_id)
        return members_pb2.MergeMembersResponse(member=survivor, merge_id="mg-1")

    async def ExportMemberData(self, request, context):
        self._seen("ExportMemberData", request)
        member = self._member(request.brand_id, request.member_id)
        return members_pb2.ExportMemberDataResponse(json=json.dumps({"member": {"id": member.id,
                                                                                "phone": member.phone}}))

    async def EraseMember(self, request, context):
        self._seen("EraseMember", request)
        self._member(request.brand_id, request.member_id).name = "ERASED"
        return members_pb2.EraseMemberResponse(member_id=request.member_id,
                                               erased_at=Timestamp(seconds=1_700_000_200))

    async def CreateMemberImport(self, request, context):
        self._seen("CreateMemberImport", request)
        job = members_pb2.MemberImport(id=f"imp-{len(self.imports) + 1}", brand_id=request.brand_id,
                                       status="uploading", format=request.format)
        self.imports[job.id] = job
        self.chunks[job.id] = []
        return job

    async def AppendMemberImportChunk(self, request, context):
        self.chunks[request.import_id].append(request.data)
        return self.imports[request.import_id]

    async def StartMemberImport(self, request, context):
        self._seen("StartMemberImport", request)
        job = self.imports[request.import_id]
        job.status, job.total, job.imported, job.failed = "queued", 3, 2, 1
        job.errors.append(members_pb2.ImportError(row=2, field="phone", message="=not a phone"))
        return job

    async def GetMemberImport(self, request, context):
        job = self.imports.get(request.import_id)
        if job is None or job.brand_id != request.brand_id:
            raise NotFound("no such import", reason="IMPORT_NOT_FOUND")
        return job

    async def ListMemberImportErrors(self, request, context):
        job = await self.GetMemberImport(request, context)
        errors = [e for e in job.errors if e.row > request.after_row]
        return members_pb2.ListMemberImportErrorsResponse(errors=errors[:request.limit])

    async def GetAttributeDefinitions(self, request, context):
        return members_pb2.AttributeDefinitions(brand_id=request.brand_id, definitions=self.definitions)

    async def PutAttributeDefinitions(self, request, context):
        self.definitions = list(request.definitions)
        return members_pb2.AttributeDefinitions(brand_id=request.brand_id, definitions=self.definitions)

    async def GetTagRules(self, request, context):
        self._seen("GetTagRules", request)
        return self.tag_rules.get(request.brand_id) or members_pb2.TagRules(
            brand_id=request.brand_id, is_default=True, rules=[members_pb2.TagRule(
                tag="new_member", conditions=[members_pb2.TagCondition(field="days_since_registration", op="<=",
                                                                       value_json="30")])])

    async def PutTagRules(self, request, context):
        self._seen("PutTagRules", request)
        for i, rule in enumerate(request.rules):  # the real service checks the facts it knows, like this
            for j, cond in enumerate(rule.conditions):
                if cond.field == "shoe_size":
                    raise InvalidArgument("未知的事实字段 / unknown fact", field=f"rules[{i}].conditions[{j}].field")
        self.tag_rules[request.brand_id] = stored = members_pb2.TagRules(
            brand_id=request.brand_id, rules=request.rules, is_default=request.use_defaults,
            updated_at=Timestamp(seconds=1_800_000_000), updated_by=request.actor_id,
            reevaluation=members_pb2.TagRulesJob(id="job-1", state="pending", total=3))
        return stored

    async def DeactivateStaff(self, request, context):
        self._seen("DeactivateStaff", request)
        if request.staff_id != "staff-clerk-a" or request.brand_id != BRAND_A:
            raise NotFound("staff not found", reason="STAFF_NOT_FOUND", field="staff_id")
        return members_pb2.DeactivateStaffResponse(
            staff=members_pb2.Staff(id=request.staff_id, brand_id=BRAND_A, username="clerk.a", role="clerk",
                                    active=False), moved=3, transfer_id="tr-9")

    async def SetStoreOpen(self, request, context):
        self._seen("SetStoreOpen", request)
        if not request.open and not request.transfer_to_store_id:
            raise Conflict("store has members", reason="STORE_HAS_MEMBERS", field="transfer_to_store_id")
        return members_pb2.Store(id=request.store_id, brand_id=request.brand_id, code="a1", name="A1",
                                 open=request.open)


@pytest.fixture
async def backends() -> AsyncIterator[Backends]:
    fakes = Backends()
    fakes.members = RichFakeMembers()
    await fakes.start()
    try:
        yield fakes
    finally:
        await fakes.stop_all()


def _fields(r: httpx.Response) -> list[str]:
    assert r.status_code == 422, r.text
    return [e["field"] for e in r.json()["errors"]]


# --- search --------------------------------------------------------------------------------------------


async def test_search_by_phone_passes_pii_access_and_returns_a_page(client, as_role, backends) -> None:
    r = await client.get(f"{A}/members", params={"phone": "13800138000"}, headers=as_role("brand_admin"))

    assert r.status_code == 200, r.text
    body = r.json()
    assert [m["id"] for m in body["items"]] == ["m-a1"] and body["next_cursor"] is None
    assert body["items"][0]["phone"] == "+8613800138000" and body["items"][0]["tags"] == ["vip"]
    sent = backends.members.requests["SearchMembers"][-1]
    assert sent.phone == "13800138000" and list(sent.store_ids) == []
    assert (sent.access.actor_id, sent.access.mask) == ("staff-brand_admin", False)
    assert sent.access.purpose == "GET /v1/brands/{brand_id}/members"  # the route, never the phone


async def test_search_is_masked_for_clerk_and_analyst(client, as_role, backends) -> None:
    for headers in (as_role("clerk", store_ids=("store-a1",)), as_role("analyst")):
        r = await client.get(f"{A}/members", headers=headers)
        assert r.status_code == 200
        assert all("****" in m["phone"] and m["masked"] for m in r.json()["items"])
        assert backends.members.requests["SearchMembers"][-1].access.mask is True


async def test_store_scoped_search_is_limited_to_own_stores(client, as_role, backends) -> None:
    clerk = as_role("clerk", store_ids=("store-a1",))
    r = await client.get(f"{A}/members", headers=clerk)
    assert [m["id"] for m in r.json()["items"]] == ["m-a1"]
    assert list(backends.members.requests["SearchMembers"][-1].store_ids) == ["store-a1"]

    other = await client.get(f"{A}/members", params={"store_id": "store-a2"}, headers=clerk)
    assert other.status_code == 404


async def test_search_pages_with_an_opaque_cursor(client, as_role) -> None:
    admin = as_role("brand_admin")
    first = await client.get(f"{A}/members", params={"limit": 1}, headers=admin)
    cursor = first.json()["next_cursor"]
    assert cursor
    second = await client.get(f"{A}/members", params={"limit": 1, "cursor": cursor}, headers=admin)
    assert [m["id"] for m in second.json()["items"]] == ["m-a2"] and second.json()["next_cursor"] is None


async def test_search_validation_names_the_field(client, as_role) -> None:
    admin = as_role("brand_admin")
    assert _fields(await client.get(f"{A}/members", params={"phone": "12"}, headers=admin)) == ["phone"]
    assert _fields(await client.get(f"{A}/members", params={"cursor": "nope"}, headers=admin)) == ["cursor"]
    assert _fields(await client.get(f"{A}/members", params={"registered_from": "2024-01-01"},
                                    headers=admin)) == ["registered_from"]
    assert _fields(await client.get(f"{A}/members", params={
        "registered_from": "2024-02-01T00:00:00Z", "registered_to": "2024-01-01T00:00:00Z"},
        headers=admin)) == ["registered_to"]
    assert _fields(await client.get(f"{A}/members", params={"limit": 0}, headers=admin)) == ["limit"]


async def test_other_brand_is_404(client, as_role) -> None:
    clerk_b = as_role("brand_admin", brand_id=BRAND_B)
    for method, path in [("GET", "/members"), ("GET", "/members/m-a1/timeline"), ("GET", "/member-attributes"),
                         ("GET", "/member-imports/imp-1"), ("GET", "/members/m-a1/export")]:
        r = await client.request(method, f"{A}{path}", headers=clerk_b)
        assert r.status_code == 404, (path, r.text)


# --- one member ----------------------------------------------------------------------------------------


async def test_get_member_sends_pii_access_and_shows_the_profile(client, as_role, backends) -> None:
    r = await client.get(f"{A}/members/m-a1", headers=as_role("brand_admin"))

    assert r.status_code == 200
    assert r.json()["card_no"] == "C-001" and r.json()["masked"] is False
    access = backends.members.requests["GetMember"][-1].access
    assert access.purpose == "GET /v1/brands/{brand_id}/members/{member_id}" and not access.mask


async def test_patch_member(client, as_role, backends) -> None:
    admin = as_role("brand_admin")
    r = await client.patch(f"{A}/members/m-a1", json={"name": "Li Na", "attributes": {"pet": "cat"}}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Li Na" and r.json()["attributes"] == {"pet": "cat"}
    sent = backends.members.requests["UpdateMember"][-1]
    assert sent.HasField("name") and not sent.HasField("phone") and not sent.HasField("store_id")

    dup = await client.patch(f"{A}/members/m-a1", json={"phone": "13900139000"}, headers=admin)
    assert dup.status_code == 409 and dup.json()["member_id"] == "m-a2"
    assert _fields(await client.patch(f"{A}/members/m-a1", json={"attributes": {"bad": "x"}},
                                      headers=admin)) == ["attributes.bad"]
    assert _fields(await client.patch(f"{A}/members/m-a1", json={"gender": "x"}, headers=admin)) == ["gender"]
    assert _fields(await client.patch(f"{A}/members/m-a1", json={"nick": "x"}, headers=admin)) == ["nick"]


async def test_clerk_cannot_patch_another_stores_member_or_move_one_away(client, as_role) -> None:
    clerk = as_role("clerk", store_ids=("store-a1",))
    assert (await client.patch(f"{A}/members/m-a2", json={"name": "X"}, headers=clerk)).status_code == 404
    moved = await client.patch(f"{A}/members/m-a1", json={"store_id": "store-a2"}, headers=clerk)
    assert moved.status_code == 404
    ok = await client.patch(f"{A}/members/m-a1", json={"name": "Li"}, headers=clerk)
    assert ok.status_code == 200 and ok.json()["phone"] == "138****8000"


async def test_tags_add_and_remove(client, as_role, backends) -> None:
    admin = as_role("brand_admin")
    r = await client.post(f"{A}/members/m-a1/tags", json={"tags": ["pet:cat", "vip"]}, headers=admin)
    assert r.status_code == 200 and r.json()["tags"] == ["vip", "pet:cat"]
    r = await client.delete(f"{A}/members/m-a1/tags/vip", headers=admin)
    assert r.status_code == 200 and r.json()["tags"] == ["pet:cat"]
    assert _fields(await client.post(f"{A}/members/m-a1/tags", json={"tags": []}, headers=admin)) == ["tags"]
    clerk = as_role("clerk", store_ids=("store-a1",))
    assert (await client.post(f"{A}/members/m-a2/tags", json={"tags": ["x"]}, headers=clerk)).status_code == 404
    masked = await client.delete(f"{A}/members/m-a1/tags/none", headers=clerk)
    assert masked.json()["phone"] == "138****8000"


async def test_consents(client, as_role, backends) -> None:
    admin = as_role("brand_admin")
    r = await client.put(f"{A}/members/m-a1/consents", json={"consents": {"sms": True}, "preferred_channel": "sms"},
                         headers=admin)
    assert r.status_code == 200 and r.json()["consents"] == {"sms": True}
    sent = backends.members.requests["SetConsents"][-1]
    assert sent.preferred_channel == "sms" and sent.source == "console"
    out = await client.put(f"{A}/members/m-a1/consents", json={"opt_out_all": True}, headers=admin)
    assert not any(out.json()["consents"].values())
    assert _fields(await client.put(f"{A}/members/m-a1/consents", json={"consents": {"fax": True}},
                                    headers=admin)) == ["consents.fax"]
    assert _fields(await client.put(f"{A}/members/m-a1/consents", json={}, headers=admin)) == ["body"]
    assert (await client.put(f"{A}/members/m-b1/consents", json={"opt_out_all": True},
                             headers=admin)).status_code == 404


async def test_timeline_pages_and_notes(client, as_role, backends) -> None:
    clerk = as_role("clerk", store_ids=("store-a1",))
    first = await client.get(f"{A}/members/m-a1/timeline", params={"limit": 2}, headers=clerk)
    assert first.status_code == 200 and len(first.json()["items"]) == 2
    rest = await client.get(f"{A}/members/m-a1/timeline", params={"cursor": first.json()["next_cursor"]},
                            headers=clerk)
    assert [e["id"] for e in rest.json()["items"]] == ["t-2"] and rest.json()["next_cursor"] is None
    assert (await client.get(f"{A}/members/m-a2/timeline", headers=clerk)).status_code == 404

    note = await client.post(f"{A}/members/m-a1/notes", json={"text": "likes oolong", "kind": "visit"}, headers=clerk)
    assert note.status_code == 201 and note.json()["kind"] == "visit"
    assert backends.members.requests["AddMemberNote"][-1].actor_id == "staff-clerk"
    assert _fields(await client.post(f"{A}/members/m-a1/notes", json={"text": " "}, headers=clerk)) == ["text"]


# --- PIPL ----------------------------------------------------------------------------------------------


async def test_pipl_export_and_erasure(client, as_role, backends) -> None:
    admin = as_role("brand_admin")
    copy = await client.get(f"{A}/members/m-a1/export", headers=admin)
    assert copy.status_code == 200 and copy.json()["member"]["id"] == "m-a1"
    assert "attachment" in copy.headers["content-disposition"]
    assert (await client.get(f"{A}/members/m-a1/export", headers=as_role("clerk", store_ids=("store-a1",)))
            ).status_code == 403

    erased = await client.post(f"{A}/members/m-a1/erasure", json={"reason": "asked"}, headers=admin)
    assert erased.status_code == 202 and erased.json()["member_id"] == "m-a1"
    assert backends.members.requests["EraseMember"][-1].reason == "asked"
    assert (await client.post(f"{A}/members/m-a1/erasure", headers=admin)).status_code == 404
    assert (await client.get(f"{A}/members/m-a1", headers=admin)).status_code == 404


async def test_bulk_export_csv_masks_and_neutralises_formulas(client, as_role, backends) -> None:
    backends.members.members["m-a2"].name = "=HYPERLINK()"
    r = await client.get(f"{A}/members/export", params={"format": "csv"}, headers=as_role("brand_admin"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["id", "phone", "name"]
    by_id = {row[0]: row for row in rows[1:]}
    assert by_id["m-a1"][1] == "+8613800138000" and by_id["m-a2"][2] == "'=HYPERLINK()"
    assert backends.members.requests["SearchMembers"][-1].access.purpose == "GET /v1/brands/{brand_id}/members/export"


async def test_bulk_export_xlsx(client, as_role) -> None:
    r = await client.get(f"{A}/members/export", params={"format": "xlsx", "phone": "13800138000"},
                         headers=as_role("brand_admin"))
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "id" and rows[1][0] == "m-a1" and len(rows) == 2
    bad = await client.get(f"{A}/members/export", params={"format": "pdf"}, headers=as_role("brand_admin"))
    assert _fields(bad) == ["format"]
    assert (await client.get(f"{A}/members/export", headers=as_role("analyst"))).status_code == 403


# --- merges, transfers ---------------------------------------------------------------------------------


async def test_merge(client, as_role, backends) -> None:
    admin = as_role("brand_admin")
    r = await client.post(f"{A}/members/merges", json={"survivor_id": "m-a1", "merged_id": "m-a2"}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["merge_id"] == "mg-1" and r.json()["member"]["id"] == "m-a1"
    assert _fields(await client.post(f"{A}/members/merges", json={"survivor_id": "m-a1", "merged_id": "m-a1"},
                                     headers=admin)) == ["body"]
    assert _fields(await client.post(f"{A}/members/merges", json={"survivor_id": "m-a1"},
                                     headers=admin)) == ["merged_id"]
    clerk = as_role("clerk", store_ids=("store-a1",))
    assert (await client.post(f"{A}/members/merges", json={"survivor_id": "m-a1", "merged_id": "m-a2"},
                              headers=clerk)).status_code == 404
    assert (await client.post(f"{A}/members/merges", json={"survivor_id": "m-a1", "merged_id": "m-b1"},
                              headers=admin)).status_code == 404


async def test_transfer_is_idempotent_by_key(client, as_role, backends) -> None:
    admin = {**as_role("brand_admin"), "Idempotency-Key": "tr-key-1"}
    body = {"from_store_id": "store-a1", "to_store_id": "store-a2", "to_guide_id": "guide-a2"}
    first = await client.post(f"{A}/member-transfers", json=body, headers=admin)
    again = await client.post(f"{A}/member-transfers", json=body, headers=admin)
    assert first.status_code == again.status_code == 200, first.text
    assert first.json() == {"transfer_id": "tr-key-1", "moved": 2, "replayed": False}
    assert again.json()["replayed"] is True
    assert backends.members.requests["TransferMembers"][-1].transfer_id == "tr-key-1"


async def test_transfer_validation_and_scope(client, as_role) -> None:
    admin = {**as_role("brand_admin"), "Idempotency-Key": "k"}
    assert _fields(await client.post(f"{A}/member-transfers", json={"from_store_id": "a", "to_store_id": "b"},
                                     headers=as_role("brand_admin"))) == ["Idempotency-Key"]
    assert _fields(await client.post(f"{A}/member-transfers", json={"to_store_id": "b"}, headers=admin)) == ["body"]
    assert _fields(await client.post(f"{A}/member-transfers", json={"from_store_id": "a"},
                                     headers=admin)) == ["to_store_id"]
    closed = await client.post(f"{A}/member-transfers", json={"from_store_id": "a", "to_store_id": "store-closed"},
                               headers=admin)
    assert closed.status_code == 409 and closed.json()["type"].endswith("/store-closed")
    manager = {**as_role("store_manager", store_ids=("store-a1",)), "Idempotency-Key": "k2"}
    foreign = await client.post(f"{A}/member-transfers", json={"from_store_id": "store-a2", "to_store_id": "store-a1"},
                                headers=manager)
    assert foreign.status_code == 404
    own_guide = await client.post(f"{A}/member-transfers", json={"from_guide_id": "guide-a1",
                                                                 "to_store_id": "store-a1"}, headers=manager)
    assert own_guide.status_code == 200
    other_guide = await client.post(f"{A}/member-transfers", json={"from_guide_id": "guide-zz",
                                                                   "to_store_id": "store-a1"}, headers=manager)
    assert other_guide.status_code == 404
    clerk = {**as_role("clerk", store_ids=("store-a1",)), "Idempotency-Key": "k3"}
    assert (await client.post(f"{A}/member-transfers", json={"from_store_id": "store-a1", "to_store_id": "store-a1"},
                              headers=clerk)).status_code == 403


# --- imports -------------------------------------------------------------------------------------------


async def test_import_uploads_in_chunks_and_reports(client, as_role, backends, monkeypatch) -> None:
    from gateway.routers import members as members_router

    monkeypatch.setattr(members_router, "CHUNK_BYTES", 16)  # many chunks from a small file
    admin = as_role("brand_admin")
    data = b"phone,name\n13800000001,A\nbad,B\n13800000003,C\n"
    r = await client.post(f"{A}/member-imports", headers=admin,
                          files={"file": ("members.csv", data, "text/csv")},
                          data={"mapping": json.dumps({"phone": "phone"}), "on_existing": "merge"})
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    assert b"".join(backends.members.chunks[job_id]) == data
    assert all(len(c) <= 16 for c in backends.members.chunks[job_id])
    created = backends.members.requests["CreateMemberImport"][-1]
    assert (created.format, created.on_existing, dict(created.mapping)) == ("csv", "merge", {"phone": "phone"})
    assert backends.members.requests["StartMemberImport"][-1].chunks == len(backends.members.chunks[job_id])

    status = await client.get(f"{A}/member-imports/{job_id}", headers=admin)
    assert status.status_code == 200
    assert {k: status.json()[k] for k in ("status", "total", "imported", "failed", "skipped", "merged")} == {
        "status": "queued", "total": 3, "imported": 2, "failed": 1, "skipped": 0, "merged": 0}
    assert status.json()["errors"] == [{"row": 2, "field": "phone", "message": "=not a phone"}]

    report = await client.get(f"{A}/member-imports/{job_id}/errors.csv", headers=admin)
    assert report.status_code == 200 and "attachment" in report.headers["content-disposition"]
    assert list(csv.reader(io.StringIO(report.content.decode("utf-8-sig")))) == [
        ["row", "field", "message"], ["2", "phone", "'=not a phone"]]
    assert (await client.get(f"{A}/member-imports/nope/errors.csv", headers=admin)).status_code == 404
    assert (await client.get(f"{A}/member-imports/{job_id}",
                             headers=as_role("brand_admin", brand_id=BRAND_B))).status_code == 404


async def test_import_validation(client, as_role, backends) -> None:
    admin = as_role("brand_admin")
    xlsx = await client.post(f"{A}/member-imports", headers=admin, files={"file": ("m.xlsx", b"PK..", "x/y")})
    assert xlsx.status_code == 202 and backends.members.requests["CreateMemberImport"][-1].format == "xlsx"
    assert _fields(await client.post(f"{A}/member-imports", headers=admin,
                                     files={"file": ("m.pdf", b"%PDF", "application/pdf")})) == ["file"]
    assert _fields(await client.post(f"{A}/member-imports", headers=admin, files={"file": ("m.csv", b"x")},
                                     data={"mapping": "[1]"})) == ["mapping"]
    assert _fields(await client.post(f"{A}/member-imports", headers=admin, files={"file": ("m.csv", b"x")},
                                     data={"on_existing": "overwrite"})) == ["on_existing"]
    assert _fields(await client.post(f"{A}/member-imports", headers=admin, data={"on_existing": "merge"})) == ["file"]
    assert _fields(await client.post(f"{A}/member-imports", headers=admin,
                                     files={"file": ("m.csv", b"")})) == ["file"]
    clerk = as_role("clerk", store_ids=("store-a1",))
    assert (await client.post(f"{A}/member-imports", headers=clerk,
                              files={"file": ("m.csv", b"x")})).status_code == 403


# --- attributes, directory -----------------------------------------------------------------------------


async def test_member_attributes(client, as_role) -> None:
    got = await client.get(f"{A}/member-attributes", headers=as_role("analyst"))
    assert got.status_code == 200 and got.json()["definitions"][0]["options"] == ["cat", "dog"]
    body = {"definitions": [{"name": "child_birthday", "label": "Child", "type": "date", "required": True},
                            {"name": "weight", "label": "Weight", "type": "number", "min": 0, "max": 80}]}
    put = await client.put(f"{A}/member-attributes", json=body, headers=as_role("brand_admin"))
    assert put.status_code == 200 and put.json()["definitions"][1]["max"] == 80
    bad = await client.put(f"{A}/member-attributes", json={"definitions": [{"name": "Bad Name", "label": "x",
                                                                              "type": "text"}]},
                           headers=as_role("brand_admin"))
    assert _fields(bad) == ["definitions[0].name"]
    assert (await client.put(f"{A}/member-attributes", json=body, headers=as_role("store_manager",
                                                                               store_ids=("store-a1",)))
            ).status_code == 403


async def test_tag_rules_start_as_the_defaults_and_are_replaced_by_a_brand_admin(client, as_role, backends) -> None:
    admin = as_role("brand_admin")
    got = await client.get(f"{A}/tag-rules", headers=admin)
    assert got.status_code == 200, got.text
    assert got.json()["is_default"] is True and got.json()["reevaluation"] is None
    assert got.json()["rules"][0] == {"tag": "new_member", "conditions": [
        {"field": "days_since_registration", "op": "<=", "value": 30}]}

    body = {"rules": [
        {"tag": "churn_risk", "conditions": [{"field": "order_count", "op": ">=", "value": 1},
                                             {"field": "days_since_last_order", "op": ">", "value": 120}]},
        {"tag": "vip", "conditions": [{"field": "attributes.level", "op": "in", "value": ["金卡", "black"]}]},
    ]}
    put = await client.put(f"{A}/tag-rules", json=body, headers=admin)

    assert put.status_code == 200, put.text
    assert put.json()["rules"] == body["rules"] and put.json()["is_default"] is False
    assert put.json()["reevaluation"] == {"id": "job-1", "state": "pending", "total": 3, "processed": 0, "changed": 0}
    assert put.json()["updated_by"] == "staff-brand_admin"
    sent = backends.members.requests["PutTagRules"][-1]
    assert sent.brand_id == BRAND_A and sent.rules[1].conditions[0].value_json == '["金卡", "black"]'
    assert (await client.get(f"{A}/tag-rules", headers=admin)).json()["rules"] == body["rules"]


async def test_invalid_tag_rules_are_a_422_naming_the_field(client, as_role) -> None:
    admin = as_role("brand_admin")

    def rules(*conditions: dict) -> dict:
        ok = {"tag": "ok", "conditions": [{"field": "order_count", "op": ">", "value": 1}]}
        return {"rules": [ok, ok, {"tag": "x", "conditions": list(conditions)}]}

    unknown = await client.put(f"{A}/tag-rules", json=rules({"field": "shoe_size", "op": "=", "value": 42}),
                               headers=admin)
    assert _fields(unknown) == ["rules[2].conditions[0].field"]
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert "unknown fact" in unknown.json()["errors"][0]["message"]
    bad_op = await client.put(f"{A}/tag-rules", json=rules({"field": "order_count", "op": "~", "value": 1}),
                              headers=admin)
    assert _fields(bad_op) == ["rules[2].conditions[0].op"]
    assert _fields(await client.put(f"{A}/tag-rules", json=rules({"field": "order_count", "op": ">"}),
                                    headers=admin)) == ["rules[2].conditions[0].value"]
    assert _fields(await client.put(f"{A}/tag-rules", json={"rules": [{"tag": "x", "conditions": []}]},
                                    headers=admin)) == ["rules[0].conditions"]
    both = {"use_defaults": True, "rules": rules()["rules"][:1]}
    assert _fields(await client.put(f"{A}/tag-rules", json=both, headers=admin)) == ["rules"]


async def test_tag_rules_are_for_the_brands_admins_only(client, as_role) -> None:
    body = {"use_defaults": True}
    for role in ("store_manager", "clerk", "analyst"):
        headers = as_role(role, store_ids=("store-a1",) if role != "analyst" else ())
        assert (await client.get(f"{A}/tag-rules", headers=headers)).status_code == 403
        assert (await client.put(f"{A}/tag-rules", json=body, headers=headers)).status_code == 403
    other = as_role("brand_admin", brand_id=BRAND_B)
    assert (await client.get(f"{A}/tag-rules", headers=other)).status_code == 404
    assert (await client.put(f"{A}/tag-rules", json=body, headers=other)).status_code == 404
    assert (await client.put(f"{A}/tag-rules", json=body, headers=as_role("brand_admin"))).status_code == 200


async def test_staff_deactivation(client, as_role, backends) -> None:
    admin = as_role("brand_admin")
    r = await client.post(f"{A}/staff/staff-clerk-a/deactivation", json={"transfer_to_guide_id": "guide-2"},
                          headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["moved"] == 3 and r.json()["staff"]["active"] is False
    assert backends.members.requests["DeactivateStaff"][-1].to_guide_id == "guide-2"
    assert (await client.post(f"{A}/staff/nobody/deactivation", headers=admin)).status_code == 404
    assert _fields(await client.post(f"{A}/staff/staff-clerk-a/deactivation", json={"transfer_to_guide_id": ""},
                                     headers=admin)) == ["transfer_to_guide_id"]
    assert (await client.post(f"{A}/staff/staff-clerk-a/deactivation",
                              headers=as_role("brand_admin", brand_id=BRAND_B))).status_code == 404


async def test_store_status(client, as_role) -> None:
    admin = as_role("brand_admin")
    closed = await client.put(f"{A}/stores/store-a1/status", json={"open": False, "transfer_to_store_id": "store-a2"},
                              headers=admin)
    assert closed.status_code == 200 and closed.json()["open"] is False
    refused = await client.put(f"{A}/stores/store-a1/status", json={"open": False}, headers=admin)
    assert refused.status_code == 409 and refused.json()["type"].endswith("/store-has-members")
    assert _fields(await client.put(f"{A}/stores/store-a1/status", json={}, headers=admin)) == ["open"]
    assert (await client.put(f"{A}/stores/store-a1/status", json={"open": True},
                             headers=as_role("clerk", store_ids=("store-a1",)))).status_code == 403
