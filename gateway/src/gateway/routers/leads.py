"""Leads (inquiries) and their assignment (leads service), scoped to the caller's stores."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from crm.leads.v1 import leads_pb2
from gateway.auth import Permission, Principal, brand_access, require_store
from gateway.errors import problem_responses, rpc
from gateway.routers import ClientsDep
from gateway.routers.directory import location
from gateway.routers.members import default_store
from gateway.schemas import LeadCreate, LeadOut

router = APIRouter(prefix="/v1/brands/{brand_id}/leads", tags=["leads"])

_FIELDS = {"location.lat": "lat", "location.lng": "lng", "location": "lat"}


@router.post("", status_code=201, response_model=LeadOut, responses=problem_responses(401, 403, 404, 422))
async def create_lead(
    brand_id: str,
    body: LeadCreate,
    clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.LEAD_WRITE))],
) -> LeadOut:
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


@router.get("/{lead_id}", response_model=LeadOut, responses=problem_responses(401, 403, 404))
async def get_lead(
    brand_id: str,
    lead_id: str,
    clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.LEAD_READ))],
) -> LeadOut:
    """One lead; store managers and clerks see only their stores' leads."""
    lead = await rpc(
        clients.leads.GetLead(leads_pb2.GetLeadRequest(brand_id=brand_id, lead_id=lead_id)),
        not_found_as="lead",
    )
    require_store(caller, lead.store_id, "lead")
    return LeadOut.of(lead)
