"""Leads (inquiries): their assignment, work lists, follow-ups and pipeline stage (leads service).

Store managers and clerks see only their stores' leads: the service is told the caller's stores and answers
NOT_FOUND outside them, the same 404 as a lead that does not exist. Working a lead (follow-ups, stage) is for
its assignee or a manager; another clerk of the store gets a 403 (they may see the lead, not work it).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from crm.leads.v1 import leads_pb2
from gateway.auth import Permission, Principal, Role, brand_access, idempotency_key, require_store
from gateway.errors import not_found, problem_responses, rpc
from gateway.params import QueryModel
from gateway.routers import ClientsDep
from gateway.routers.directory import location
from gateway.routers.members import default_store
from gateway.schemas import PAGE, Page, PageParams, next_cursor, service_cursor
from gateway.schemas_leads import FollowUpCreate, FollowUpOut, LeadCreate, LeadOut, LeadsQuery, StageChange

router = APIRouter(prefix="/v1/brands/{brand_id}/leads", tags=["leads"])

_FIELDS = {"location.lat": "lat", "location.lng": "lng", "location": "lat"}
# Who may work any lead in their scope; a clerk works only the leads assigned to them.
_MANAGERS = frozenset({Role.GROUP_ADMIN, Role.BRAND_ADMIN, Role.STORE_MANAGER})

Reader = Annotated[Principal, Depends(brand_access(Permission.LEAD_READ))]
Writer = Annotated[Principal, Depends(brand_access(Permission.LEAD_WRITE))]
IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]

LIST = QueryModel(LeadsQuery)
ListParams = Annotated[LeadsQuery, Depends(LIST)]


def _scope(caller: Principal) -> leads_pb2.StoreScope | None:
    """The stores the service may answer for: the caller's own when store-scoped, else the whole brand."""
    return leads_pb2.StoreScope(store_ids=caller.store_ids) if caller.store_scoped else None


def _actor(caller: Principal) -> leads_pb2.Actor:
    return leads_pb2.Actor(staff_id=caller.staff_id, manager=caller.role in _MANAGERS)


@router.post("", status_code=201, response_model=LeadOut, responses=problem_responses(401, 403, 404, 422))
async def create_lead(brand_id: str, body: LeadCreate, clients: ClientsDep, caller: Writer) -> LeadOut:
    """Create a lead; the leads service assigns a store (given, nearest, or by city) and a person."""
    point = location(body.lat, body.lng)
    lead = await rpc(
        clients.leads.CreateLead(leads_pb2.CreateLeadRequest(
            brand_id=brand_id, source=body.source, name=body.name or "", phone=body.phone, location=point,
            city=body.city or "", interest=body.interest or "",
            store_id=default_store(caller, body.store_id, "store") or "",
        )),
        field_aliases=_FIELDS,
    )
    return LeadOut.of(lead)


@router.get("", response_model=Page[LeadOut], responses=problem_responses(401, 403, 404, 422),
            openapi_extra=LIST.openapi)
async def list_leads(brand_id: str, query: ListParams, clients: ClientsDep, caller: Reader) -> Page[LeadOut]:
    """Leads newest first, by assignee, stage and store; store managers and clerks see their stores' only
    (another store's `store_id` → 404)."""
    if query.store_id is not None:
        require_store(caller, query.store_id, "store")
    page = await rpc(clients.leads.ListLeads(leads_pb2.ListLeadsRequest(
        brand_id=brand_id, assignee_id=query.assignee_id or "", stage=query.stage or "",
        store_id=query.store_id or "", scope=_scope(caller), cursor=service_cursor(query), limit=query.limit,
    )))
    return Page[LeadOut](items=[LeadOut.of(lead) for lead in page.leads], next_cursor=next_cursor(page.next_cursor))


@router.get("/{lead_id}", response_model=LeadOut, responses=problem_responses(401, 403, 404))
async def get_lead(brand_id: str, lead_id: str, clients: ClientsDep, caller: Reader) -> LeadOut:
    """One lead; store managers and clerks see only their stores' leads."""
    lead = await rpc(
        clients.leads.GetLead(leads_pb2.GetLeadRequest(brand_id=brand_id, lead_id=lead_id)),
        not_found_as="lead",
    )
    if lead.brand_id and lead.brand_id != brand_id:
        raise not_found("lead")  # defence in depth: a service bug must not cross brands
    require_store(caller, lead.store_id, "lead")
    return LeadOut.of(lead)


@router.post("/{lead_id}/followups", status_code=201, response_model=FollowUpOut,
             responses=problem_responses(401, 403, 404, 409, 422))
async def add_follow_up(
    brand_id: str, lead_id: str, body: FollowUpCreate, key: IdempotencyKey, clients: ClientsDep, caller: Writer,
) -> FollowUpOut:
    """Record a contact with the lead (its assignee or a manager). With an `Idempotency-Key`, a retry returns
    the first follow-up; the same key with other content → 409. A won or lost lead → 409 (`/lead-closed`)."""
    message = body.to_proto(brand_id, lead_id)
    message.actor.CopyFrom(_actor(caller))
    message.idempotency_key = key or ""
    scope = _scope(caller)
    if scope is not None:
        message.scope.CopyFrom(scope)
    reply = await rpc(clients.leads.AddFollowUp(message), not_found_as="lead")
    return FollowUpOut.of(reply.follow_up)


@router.get("/{lead_id}/followups", response_model=Page[FollowUpOut], responses=problem_responses(401, 403, 404, 422),
            openapi_extra=PAGE.openapi)
async def list_follow_ups(
    brand_id: str, lead_id: str, page: PageParams, clients: ClientsDep, caller: Reader,
) -> Page[FollowUpOut]:
    """The lead's follow-ups, newest first."""
    reply = await rpc(clients.leads.ListFollowUps(leads_pb2.ListFollowUpsRequest(
        brand_id=brand_id, lead_id=lead_id, scope=_scope(caller), cursor=service_cursor(page), limit=page.limit,
    )), not_found_as="lead")
    return Page[FollowUpOut](items=[FollowUpOut.of(f) for f in reply.follow_ups],
                             next_cursor=next_cursor(reply.next_cursor))


@router.post("/{lead_id}/stage", response_model=LeadOut, responses=problem_responses(401, 403, 404, 409, 422))
async def change_stage(
    brand_id: str, lead_id: str, body: StageChange, clients: ClientsDep, caller: Writer,
) -> LeadOut:
    """Move the lead along the pipeline (its assignee or a manager): new → contacted → qualified → won, or lost
    from any open stage. A move the pipeline forbids → 409 (`/invalid-stage-transition`, with `from`, `to` and
    `allowed`); asking for the stage the lead is in changes nothing, so a retry is safe."""
    lead = await rpc(clients.leads.ChangeLeadStage(leads_pb2.ChangeLeadStageRequest(
        brand_id=brand_id, lead_id=lead_id, actor=_actor(caller), scope=_scope(caller), stage=body.stage,
        reason=body.reason or "",
    )), not_found_as="lead")
    return LeadOut.of(lead)
