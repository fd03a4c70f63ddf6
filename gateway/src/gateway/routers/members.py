"""Members of a brand (members service), scoped to the caller's stores and masked without PII rights.

Every read sends ``PiiAccess(actor_id, mask, purpose)``: the service masks for roles without PII rights and
writes the PII audit row for unmasked reads, so the log holds who read which members and through which route.
A store-scoped caller (store manager, clerk, POS) sees only their stores' members; anything else is the same
404 as a member that does not exist.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import AwareDatetime, StringConstraints

from crm.members.v1 import members_pb2
from gateway.auth import (
    CALLER_SECURITY,
    Permission,
    Principal,
    brand_access,
    brand_caller,
    require_store,
    required_idempotency_key,
)
from gateway.clients import Clients
from gateway.errors import invalid, not_found, problem_responses, rpc
from gateway.params import QueryModel
from gateway.routers import ClientsDep
from gateway.schemas import (
    PAGE,
    MemberCreate,
    Page,
    PageParams,
    PageQuery,
    Phone,
    decode_cursor,
    encode_cursor,
)
from gateway.schemas_members import (
    AttributeDefinitionBody,
    AttributeDefinitions,
    ConsentsPut,
    ErasureCreate,
    ErasureOut,
    ImportAccepted,
    ImportOut,
    MemberPatch,
    MemberView,
    MergeCreate,
    MergeOut,
    NoteCreate,
    TagRulesOut,
    TagRulesPut,
    TagsAdd,
    TimelineEntryOut,
    TransferCreate,
    TransferOut,
    timestamp,
)

router = APIRouter(prefix="/v1/brands/{brand_id}", tags=["members"])

CHUNK_BYTES = 1024 * 1024  # AppendMemberImportChunk takes at most 1 MiB
EXPORT_PAGE = 1000
ERRORS_PAGE = 1000
_XLSX_TYPES = {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
_EXPORT_COLUMNS = ("id", "phone", "name", "gender", "birthday", "store_id", "guide_id", "card_no", "channel",
                   "tags", "auto_tags", "registered_at")
_MEMBER_FIELDS = {"member_id": "id", "survivor_member_id": "survivor_id", "merged_member_id": "merged_id"}

Reader = Annotated[Principal, Depends(brand_access(Permission.MEMBER_READ))]
Writer = Annotated[Principal, Depends(brand_access(Permission.MEMBER_WRITE))]
Exporter = Annotated[Principal, Depends(brand_access(Permission.MEMBER_EXPORT))]


def default_store(caller: Principal, store_id: str | None, resource: str) -> str | None:
    """A store-scoped caller works in its own stores: its only store by default, never another's."""
    if not caller.store_scoped:
        return store_id
    if store_id is None and len(caller.store_ids) == 1:
        return caller.store_ids[0]
    if store_id is not None:
        require_store(caller, store_id, resource)
    return store_id


def actor_id(caller: Principal) -> str:
    """The staff id the service records (a POS key has none: its audit name instead)."""
    return caller.staff_id or caller.actor


def pii_access(caller: Principal, request: Request) -> members_pb2.PiiAccess:
    """Who reads, whether PII may be shown, and the route (not the URL: ids and phones stay out of the log)."""
    route = request.scope.get("route")
    path = route.path if route is not None else request.url.path  # not request.url: it parses the whole URL
    return members_pb2.PiiAccess(actor_id=actor_id(caller), mask=not caller.sees_pii,
                                 purpose=f"{request.method} {path}")


async def get_visible_member(
    clients: ClientsDep, caller: Principal, brand_id: str, member_id: str,
    access: members_pb2.PiiAccess | None = None,
) -> members_pb2.Member:
    """The member, or the same 404 whether it is missing or outside the caller's stores."""
    member = await rpc(
        clients.members.GetMember(members_pb2.GetMemberRequest(brand_id=brand_id, member_id=member_id,
                                                               access=access)),
        not_found_as="member",
    )
    if member.brand_id and member.brand_id != brand_id:
        raise not_found("member")  # defence in depth: a service bug must not cross brands
    require_store(caller, member.store_id, "member")
    return member


async def _check_visible(clients: ClientsDep, caller: Principal, brand_id: str, member_id: str) -> None:
    # Only store-scoped callers need the extra read; a masked one, so it writes no PII audit row.
    if caller.store_scoped:
        await get_visible_member(clients, caller, brand_id, member_id, members_pb2.PiiAccess(mask=True))


def _view(member: members_pb2.Member, caller: Principal) -> MemberView:
    return MemberView.of(member, mask=not caller.sees_pii)


# --- register, search, export (before /members/{member_id}, which would swallow "export") ---------------


@router.post("/members", status_code=201, response_model=MemberView,
             responses=problem_responses(401, 403, 404, 409, 422))
async def register_member(brand_id: str, body: MemberCreate, request: Request, clients: ClientsDep,
                          caller: Writer) -> MemberView:
    """Register a member. A phone already registered in the brand → 409 carrying the existing `member_id`."""
    body = body.model_copy(update={"store_id": default_store(caller, body.store_id, "store")})
    message = body.to_proto(brand_id)
    message.access.CopyFrom(pii_access(caller, request))
    message.actor_id = actor_id(caller)
    member = await rpc(clients.members.RegisterMember(message))
    return _view(member, caller)


class SearchQuery(PageQuery):
    """Filters of the member search (all optional, combined with AND)."""

    phone: Phone | None = None
    card: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None = None
    q: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)] | None = None
    tag: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None = None
    store_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None = None
    guide_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None = None
    registered_from: AwareDatetime | None = None
    registered_to: AwareDatetime | None = None


def _search_request(brand_id: str, query: SearchQuery, caller: Principal,
                    access: members_pb2.PiiAccess) -> members_pb2.SearchMembersRequest:
    if query.registered_from and query.registered_to and query.registered_from >= query.registered_to:
        raise invalid(("registered_to", "must be after registered_from"))
    if query.store_id is not None:
        require_store(caller, query.store_id, "store")
        stores: list[str] = [query.store_id]
    else:
        stores = list(caller.store_ids) if caller.store_scoped else []
    message = members_pb2.SearchMembersRequest(
        brand_id=brand_id, phone=query.phone or "", card_no=query.card or "", name_prefix=query.q or "",
        tag=query.tag or "", store_ids=stores, guide_id=query.guide_id or "", limit=query.limit, access=access,
    )
    if query.registered_from:
        message.registered_from.CopyFrom(timestamp(query.registered_from))
    if query.registered_to:
        message.registered_to.CopyFrom(timestamp(query.registered_to))
    if query.cursor:
        position = decode_cursor(query.cursor).get("s")
        if not isinstance(position, str):
            raise invalid(("cursor", "not a cursor this API returned"))
        message.cursor = position
    return message


SEARCH = QueryModel(SearchQuery)
SearchParams = Annotated[SearchQuery, Depends(SEARCH)]


@router.get("/members", response_model=Page[MemberView], responses=problem_responses(401, 403, 404, 422),
            openapi_extra={**SEARCH.openapi, **CALLER_SECURITY})
async def search_members(brand_id: str, request: Request) -> Page[MemberView]:
    """Search by phone, card, name prefix (`q`), tag, store, guide and registration range; newest first."""
    # The till's lookup, the busiest route: its query, caller and clients are taken here rather than through
    # five dependency nodes (query model, brand access, principal and its two headers, clients), the same
    # checks in the same order: a bad query is a 422 first, then authentication, brand and permission.
    query = await SEARCH(request)
    caller = await brand_caller(request, brand_id, Permission.MEMBER_READ)
    clients: Clients = request.app.state.clients  # what get_clients returns
    message = _search_request(brand_id, query, caller, pii_access(caller, request))
    found = await rpc(clients.members.SearchMembers(message), field_aliases={"name_prefix": "q", "card_no": "card"})
    return Page[MemberView](
        items=[_view(m, caller) for m in found.members],
        next_cursor=encode_cursor({"s": found.next_cursor}) if found.next_cursor else None,
    )


def _row(m: members_pb2.Member, mask: bool) -> list[str]:
    view = MemberView.of(m, mask=mask)
    return [
        view.id, view.phone, view.name or "", view.gender or "", view.birthday.isoformat() if view.birthday else "",
        view.store_id or "", view.guide_id or "", view.card_no or "", view.channel or "", " ".join(view.tags),
        " ".join(view.auto_tags), view.registered_at.isoformat() if view.registered_at else "",
    ]


def safe_cell(value: str) -> str:
    """Neutralise spreadsheet formulas: a cell starting with = + - @ is shown as text, not evaluated."""
    if value[:1] == "+" and value[1:].isdigit():
        return value  # an E.164 phone, not a formula
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


async def _pages(
    clients: ClientsDep, message: members_pb2.SearchMembersRequest
) -> AsyncIterator[list[members_pb2.Member]]:
    """Every page of a search, one SearchMembers call at a time (never the whole result in memory)."""
    message.limit = EXPORT_PAGE
    while True:
        found = await rpc(clients.members.SearchMembers(message))
        yield list(found.members)
        if not found.next_cursor:
            return
        message.cursor = found.next_cursor


def _csv_line(values: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([safe_cell(v) for v in values])
    return buffer.getvalue().encode()


@router.get("/members/export", responses={
    200: {"content": {"text/csv": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}},
          "description": "The search result as a file"},
    **problem_responses(401, 403, 404, 422)}, openapi_extra=SEARCH.openapi)
async def export_members(
    brand_id: str, query: SearchParams, request: Request, clients: ClientsDep, caller: Exporter,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv",
) -> Response:
    """The members of a search as CSV (streamed) or XLSX; masked for roles without PII rights, audited."""
    message = _search_request(brand_id, query, caller, pii_access(caller, request))
    mask = not caller.sees_pii
    # The first page is fetched before answering, so a bad filter is a 422 rather than a truncated download.
    pages = _pages(clients, message)
    first = await anext(pages)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    if format == "csv":
        async def body() -> AsyncIterator[bytes]:
            yield "\ufeff".encode() + _csv_line(list(_EXPORT_COLUMNS))  # BOM: Excel then reads UTF-8 names
            for m in first:
                yield _csv_line(_row(m, mask))
            async for page in pages:
                yield b"".join(_csv_line(_row(m, mask)) for m in page)

        return StreamingResponse(body(), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="members-{stamp}.csv"'})

    from openpyxl import Workbook  # imported here: only XLSX exports pay for it

    # write_only streams rows to a temporary file; a zip (xlsx) cannot be sent before it is complete.
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("members")
    sheet.append(list(_EXPORT_COLUMNS))
    for m in first:
        sheet.append([safe_cell(v) for v in _row(m, mask)])
    async for page in pages:
        for m in page:
            sheet.append([safe_cell(v) for v in _row(m, mask)])
    spool = tempfile.SpooledTemporaryFile(max_size=8 * CHUNK_BYTES)  # closed by chunks()
    workbook.save(spool)
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        with spool:
            while piece := spool.read(CHUNK_BYTES):
                yield piece

    return StreamingResponse(chunks(), media_type=next(iter(_XLSX_TYPES)), headers={
        "Content-Disposition": f'attachment; filename="members-{stamp}.xlsx"'})


@router.post("/members/merges", response_model=MergeOut, responses=problem_responses(401, 403, 404, 409, 422))
async def merge_members(brand_id: str, body: MergeCreate, request: Request, clients: ClientsDep,
                        caller: Writer) -> MergeOut:
    """Merge a duplicate into the survivor; loyalty and the read models merge on the event."""
    for member_id in (body.survivor_id, body.merged_id):
        await _check_visible(clients, caller, brand_id, member_id)
    merged = await rpc(clients.members.MergeMembers(members_pb2.MergeMembersRequest(
        brand_id=brand_id, survivor_member_id=body.survivor_id, merged_member_id=body.merged_id,
        actor_id=actor_id(caller), reason=body.reason,
    )), field_aliases=_MEMBER_FIELDS)
    # The merge reply carries the unmasked survivor: re-read it through the masking, audited path.
    survivor = await get_visible_member(clients, caller, brand_id, merged.member.id or body.survivor_id,
                                        pii_access(caller, request))
    return MergeOut(merge_id=merged.merge_id, member=_view(survivor, caller))


# --- one member -------------------------------------------------------------------------------------------


@router.get("/members/{member_id}", response_model=MemberView, responses=problem_responses(401, 403, 404))
async def get_member(brand_id: str, member_id: str, request: Request, clients: ClientsDep,
                     caller: Reader) -> MemberView:
    """One member. Clerks and analysts see the phone masked (`138****8000`)."""
    member = await get_visible_member(clients, caller, brand_id, member_id, pii_access(caller, request))
    return _view(member, caller)


@router.patch("/members/{member_id}", response_model=MemberView,
              responses=problem_responses(401, 403, 404, 409, 422))
async def update_member(brand_id: str, member_id: str, body: MemberPatch, request: Request, clients: ClientsDep,
                        caller: Writer) -> MemberView:
    """Change profile fields and custom attributes; a phone or card another member has → 409 with `member_id`."""
    await _check_visible(clients, caller, brand_id, member_id)
    if body.store_id is not None:
        require_store(caller, body.store_id, "store")  # a clerk cannot hand a member to another store
    message = body.to_proto(brand_id, member_id, actor_id(caller), pii_access(caller, request))
    member = await rpc(clients.members.UpdateMember(message), not_found_as="member")
    return _view(member, caller)


@router.post("/members/{member_id}/tags", response_model=MemberView,
             responses=problem_responses(401, 403, 404, 422))
async def add_tags(brand_id: str, member_id: str, body: TagsAdd, request: Request, clients: ClientsDep,
                   caller: Writer) -> MemberView:
    """Add manual tags (automatic tags are computed by the service and cannot be set)."""
    await _check_visible(clients, caller, brand_id, member_id)
    member = await rpc(clients.members.ChangeTags(members_pb2.ChangeTagsRequest(
        brand_id=brand_id, member_id=member_id, add=body.tags, actor_id=actor_id(caller),
        access=pii_access(caller, request),
    )), not_found_as="member", field_aliases={"add": "tags"})
    return _view(member, caller)


@router.delete("/members/{member_id}/tags/{tag}", response_model=MemberView,
               responses=problem_responses(401, 403, 404, 422))
async def remove_tag(brand_id: str, member_id: str, tag: str, request: Request, clients: ClientsDep,
                     caller: Writer) -> MemberView:
    """Remove one manual tag (removing a tag the member does not have changes nothing)."""
    await _check_visible(clients, caller, brand_id, member_id)
    member = await rpc(clients.members.ChangeTags(members_pb2.ChangeTagsRequest(
        brand_id=brand_id, member_id=member_id, remove=[tag], actor_id=actor_id(caller),
        access=pii_access(caller, request),
    )), not_found_as="member", field_aliases={"remove": "tag"})
    return _view(member, caller)


@router.put("/members/{member_id}/consents", response_model=MemberView,
            responses=problem_responses(401, 403, 404, 422))
async def set_consents(brand_id: str, member_id: str, body: ConsentsPut, request: Request, clients: ClientsDep,
                       caller: Writer) -> MemberView:
    """Grant or withdraw consent per channel (time and source recorded); `opt_out_all` withdraws them all."""
    await _check_visible(clients, caller, brand_id, member_id)
    message = members_pb2.SetConsentsRequest(
        brand_id=brand_id, member_id=member_id, consents=body.granted(), opt_out_all=body.opt_out_all,
        source=body.source, access=pii_access(caller, request),
    )
    if body.preferred_channel is not None:
        message.preferred_channel = body.preferred_channel
    member = await rpc(clients.members.SetConsents(message), not_found_as="member")
    return _view(member, caller)


@router.get("/members/{member_id}/timeline", response_model=Page[TimelineEntryOut],
            responses=problem_responses(401, 403, 404, 422), openapi_extra=PAGE.openapi)
async def list_timeline(brand_id: str, member_id: str, page: PageParams, clients: ClientsDep,
                        caller: Reader) -> Page[TimelineEntryOut]:
    """The member's history (registration, visits, orders, messages, notes...), newest first."""
    await get_visible_member(clients, caller, brand_id, member_id, members_pb2.PiiAccess(mask=True))
    cursor = ""
    if page.cursor:
        position = decode_cursor(page.cursor).get("t")
        if not isinstance(position, str):
            raise invalid(("cursor", "not a cursor this API returned"))
        cursor = position
    listed = await rpc(clients.members.ListTimeline(members_pb2.ListTimelineRequest(
        brand_id=brand_id, member_id=member_id, cursor=cursor, limit=page.limit,
    )), not_found_as="member")
    return Page[TimelineEntryOut](
        items=[TimelineEntryOut.of(e) for e in listed.entries],
        next_cursor=encode_cursor({"t": listed.next_cursor}) if listed.next_cursor else None,
    )


@router.post("/members/{member_id}/notes", status_code=201, response_model=TimelineEntryOut,
             responses=problem_responses(401, 403, 404, 422))
async def add_note(brand_id: str, member_id: str, body: NoteCreate, clients: ClientsDep,
                   caller: Writer) -> TimelineEntryOut:
    """Add a staff note (or a visit, inquiry or feedback) to the member's timeline."""
    await _check_visible(clients, caller, brand_id, member_id)
    entry = await rpc(clients.members.AddMemberNote(members_pb2.AddMemberNoteRequest(
        brand_id=brand_id, member_id=member_id, text=body.text, kind=body.kind, actor_id=actor_id(caller),
    )), not_found_as="member")
    return TimelineEntryOut.of(entry)


# --- PIPL ---------------------------------------------------------------------------------------------


@router.get("/members/{member_id}/export", responses={
    200: {"content": {"application/json": {}}, "description": "Every piece of data held about the member"},
    **problem_responses(401, 403, 404)})
async def export_member_data(brand_id: str, member_id: str, clients: ClientsDep, caller: Exporter) -> Response:
    """The PIPL copy of one member's data (a download); the service audits it as an unmasked read."""
    await _check_visible(clients, caller, brand_id, member_id)
    exported = await rpc(clients.members.ExportMemberData(members_pb2.ExportMemberDataRequest(
        brand_id=brand_id, member_id=member_id, actor_id=actor_id(caller),
    )), not_found_as="member")
    return JSONResponse(json.loads(exported.json), headers={
        "Content-Disposition": f'attachment; filename="member-{member_id}.json"', "Cache-Control": "no-store"})


@router.post("/members/{member_id}/erasure", status_code=202, response_model=ErasureOut,
             responses=problem_responses(401, 403, 404, 422))
async def erase_member(brand_id: str, member_id: str, clients: ClientsDep, caller: Exporter,
                       body: ErasureCreate | None = None) -> ErasureOut:
    """PIPL deletion: PII is removed from members now; the event tells every other service to remove theirs."""
    await _check_visible(clients, caller, brand_id, member_id)
    erased = await rpc(clients.members.EraseMember(members_pb2.EraseMemberRequest(
        brand_id=brand_id, member_id=member_id, actor_id=actor_id(caller), reason=body.reason if body else "",
    )), not_found_as="member")
    return ErasureOut(member_id=erased.member_id or member_id,
                      erased_at=erased.erased_at.ToDatetime(tzinfo=UTC) if erased.HasField("erased_at") else None)


# --- ownership ----------------------------------------------------------------------------------------


async def _guide_in_caller_stores(clients: ClientsDep, caller: Principal, brand_id: str, guide_id: str) -> bool:
    for store_id in caller.store_ids:
        staff = await rpc(clients.members.ListStaff(members_pb2.ListStaffRequest(brand_id=brand_id,
                                                                                 store_id=store_id)))
        if any(s.id == guide_id for s in staff.staff):
            return True
    return False


@router.post("/member-transfers", response_model=TransferOut, responses=problem_responses(401, 403, 404, 409, 422))
async def transfer_members(
    brand_id: str, body: TransferCreate, clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.MEMBER_TRANSFER))],
    key: Annotated[str, Depends(required_idempotency_key)],
) -> TransferOut:
    """Move every member of a store or guide in one step; a repeat with the same Idempotency-Key is a replay."""
    require_store(caller, body.to_store_id, "store")
    if body.from_store_id is not None:
        require_store(caller, body.from_store_id, "store")
    elif caller.store_scoped and not await _guide_in_caller_stores(clients, caller, brand_id, body.from_guide_id or ""):
        raise not_found("staff")
    moved = await rpc(clients.members.TransferMembers(members_pb2.TransferMembersRequest(
        brand_id=brand_id, transfer_id=key, from_store_id=body.from_store_id or "",
        from_guide_id=body.from_guide_id or "", to_store_id=body.to_store_id, to_guide_id=body.to_guide_id or "",
        actor_id=actor_id(caller),
    )))
    return TransferOut(transfer_id=moved.transfer_id or key, moved=moved.moved, replayed=moved.replayed)


# --- imports ------------------------------------------------------------------------------------------


def _import_format(upload: UploadFile) -> str:
    suffix = PurePath(upload.filename or "").suffix.lower()
    if suffix == ".xlsx" or (upload.content_type or "") in _XLSX_TYPES:
        return "xlsx"
    if suffix in (".csv", ".txt", "") and not (upload.content_type or "").startswith(("image/", "application/pdf")):
        return "csv"
    raise invalid(("file", "must be a .csv or .xlsx file"))


def _mapping(raw: str | None) -> dict[str, str]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise invalid(("mapping", 'a JSON object of member field → column header, e.g. {"phone": "手机号"}'))
    return value


@router.post("/member-imports", status_code=202, response_model=ImportAccepted,
             responses=problem_responses(401, 403, 404, 409, 413, 422))
async def create_import(
    brand_id: str, clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.MEMBER_IMPORT))],
    file: Annotated[UploadFile, File(description="CSV (UTF-8, header row) or XLSX (first sheet)")],
    mapping: Annotated[str | None, Form(description='JSON: member field → column header, {"phone": "手机号"}')] = None,
    on_existing: Annotated[str, Form(pattern="^(report|merge)$", description="report (default) | merge")] = "report",
    default_store_id: Annotated[str | None, Form(max_length=64)] = None,
) -> ImportAccepted:
    """Upload a member file; it is sent on in 1 MiB pieces and imported in the background. Poll the job."""
    store = default_store(caller, default_store_id or None, "store")
    job = await rpc(clients.members.CreateMemberImport(members_pb2.CreateMemberImportRequest(
        brand_id=brand_id, format=_import_format(file), mapping=_mapping(mapping), on_existing=on_existing,
        actor_id=actor_id(caller), default_store_id=store or "",
    )))
    seq = 0
    # Starlette spools the upload to disk past 1 MiB; reading it piece by piece keeps memory flat.
    while piece := await file.read(CHUNK_BYTES):
        await rpc(clients.members.AppendMemberImportChunk(members_pb2.AppendMemberImportChunkRequest(
            brand_id=brand_id, import_id=job.id, seq=seq, data=piece)))
        seq += 1
    if seq == 0:
        raise invalid(("file", "the file is empty"))
    await rpc(clients.members.StartMemberImport(members_pb2.StartMemberImportRequest(
        brand_id=brand_id, import_id=job.id, chunks=seq)))
    return ImportAccepted(id=job.id)


@router.get("/member-imports/{import_id}", response_model=ImportOut, responses=problem_responses(401, 403, 404))
async def get_import(brand_id: str, import_id: str, clients: ClientsDep,
                     _: Annotated[Principal, Depends(brand_access(Permission.MEMBER_IMPORT))]) -> ImportOut:
    """Progress of an import: `imported/failed/total`, and the first errors with their row numbers."""
    job = await rpc(clients.members.GetMemberImport(members_pb2.GetMemberImportRequest(
        brand_id=brand_id, import_id=import_id)), not_found_as="member import")
    return ImportOut.of(job)


@router.get("/member-imports/{import_id}/errors.csv", responses={
    200: {"content": {"text/csv": {}}, "description": "row,field,message for every rejected row"},
    **problem_responses(401, 403, 404)})
async def import_errors_csv(brand_id: str, import_id: str, clients: ClientsDep,
                            _: Annotated[Principal, Depends(brand_access(Permission.MEMBER_IMPORT))]) -> Response:
    """Every rejected row of an import as a CSV download (row numbers are 1-based data rows)."""
    async def page(after: int) -> members_pb2.ListMemberImportErrorsResponse:
        return await rpc(clients.members.ListMemberImportErrors(members_pb2.ListMemberImportErrorsRequest(
            brand_id=brand_id, import_id=import_id, after_row=after, limit=ERRORS_PAGE)),
            not_found_as="member import")

    first = await page(0)  # before the 200 goes out, so an unknown import is a 404

    async def body() -> AsyncIterator[bytes]:
        listed = first
        yield "\ufeff".encode() + _csv_line(["row", "field", "message"])
        while True:
            yield b"".join(_csv_line([str(e.row), e.field, e.message]) for e in listed.errors)
            if not listed.next_after_row:
                return
            listed = await page(listed.next_after_row)

    return StreamingResponse(body(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="import-{import_id}-errors.csv"'})


# --- custom attributes --------------------------------------------------------------------------------


@router.get("/member-attributes", response_model=AttributeDefinitions, responses=problem_responses(401, 403, 404))
async def get_attributes(brand_id: str, clients: ClientsDep, _: Reader) -> AttributeDefinitions:
    """The brand's custom member attributes (type, required, options, range)."""
    defs = await rpc(clients.members.GetAttributeDefinitions(
        members_pb2.GetAttributeDefinitionsRequest(brand_id=brand_id)), not_found_as="brand")
    return AttributeDefinitions.model_construct(definitions=[AttributeDefinitionBody.of(d) for d in defs.definitions])


@router.put("/member-attributes", response_model=AttributeDefinitions,
            responses=problem_responses(401, 403, 404, 409, 422))
async def put_attributes(brand_id: str, body: AttributeDefinitions, clients: ClientsDep,
                         _: Annotated[Principal, Depends(brand_access(Permission.DIRECTORY_WRITE))]
                         ) -> AttributeDefinitions:
    """Replace the brand's custom attribute definitions (brand admins)."""
    defs = await rpc(clients.members.PutAttributeDefinitions(members_pb2.PutAttributeDefinitionsRequest(
        brand_id=brand_id, definitions=[d.to_proto() for d in body.definitions])), not_found_as="brand")
    return AttributeDefinitions.model_construct(definitions=[AttributeDefinitionBody.of(d) for d in defs.definitions])



# --- automatic tag rules ------------------------------------------------------------------------------

Admin = Annotated[Principal, Depends(brand_access(Permission.DIRECTORY_WRITE))]


@router.get("/tag-rules", response_model=TagRulesOut, responses=problem_responses(401, 403, 404))
async def get_tag_rules(brand_id: str, clients: ClientsDep, _: Admin) -> TagRulesOut:
    """The brand's automatic tag rules (the defaults until it sets its own) and the progress of the members'
    re-evaluation after the last change (brand admins)."""
    rules = await rpc(clients.members.GetTagRules(members_pb2.GetTagRulesRequest(brand_id=brand_id)),
                      not_found_as="brand")
    return TagRulesOut.of(rules)


@router.put("/tag-rules", response_model=TagRulesOut, responses=problem_responses(401, 403, 404, 422))
async def put_tag_rules(brand_id: str, body: TagRulesPut, clients: ClientsDep, caller: Admin) -> TagRulesOut:
    """Replace the brand's automatic tag rules (brand admins). New writes use them at once; every member is
    re-evaluated in the background (see `reevaluation`), and each changed member emits MemberUpdated.
    An invalid rule is a 422 naming the field, e.g. `rules[2].conditions[0].field`."""
    if body.use_defaults and body.rules:
        raise invalid(("rules", "must be empty when use_defaults is true"))
    rules = await rpc(clients.members.PutTagRules(members_pb2.PutTagRulesRequest(
        brand_id=brand_id, rules=[r.to_proto() for r in body.rules], use_defaults=body.use_defaults,
        actor_id=actor_id(caller))), not_found_as="brand")
    return TagRulesOut.of(rules)
