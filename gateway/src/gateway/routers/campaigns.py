"""Campaigns (campaigns service): segments — a rule previewed against the brand's members, saved by name.

The campaigns service owns the rule language and checks it: a bad rule is a 422 whose `errors` list every
problem (`rule.all[1].op`), and the gateway only makes sure `rule` is a JSON object. Store managers work
within their stores: the service is told the caller's stores, selects only members they own, and answers
NOT_FOUND for segments outside them, the same 404 as a segment that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from crm.campaigns.v1 import campaigns_pb2
from gateway.auth import Permission, Principal, brand_access
from gateway.errors import not_found, problem_responses, rpc
from gateway.routers import ClientsDep
from gateway.schemas import PAGE, Page, PageParams, next_cursor, service_cursor
from gateway.schemas_campaigns import SegmentCreate, SegmentOut, SegmentPreviewIn, SegmentPreviewOut, rule_json

router = APIRouter(prefix="/v1/brands/{brand_id}", tags=["campaigns"])

_FIELDS = {"rule_json": "rule"}
Reader = Annotated[Principal, Depends(brand_access(Permission.CAMPAIGN_READ))]
SegmentWriter = Annotated[Principal, Depends(brand_access(Permission.SEGMENT_WRITE))]


def _scope(caller: Principal) -> campaigns_pb2.StoreScope | None:
    """The stores the service may select from: the caller's own when store-scoped, else the whole brand."""
    return campaigns_pb2.StoreScope(store_ids=caller.store_ids) if caller.store_scoped else None


@router.post("/segments/preview", response_model=SegmentPreviewOut, responses=problem_responses(401, 403, 404, 422))
async def preview_segment(
    brand_id: str, body: SegmentPreviewIn, clients: ClientsDep, caller: Reader,
) -> SegmentPreviewOut:
    """Count the members a rule selects now, with a sample of their ids (nothing is saved). Store managers
    count their stores' members only."""
    preview = await rpc(clients.campaigns.PreviewSegment(campaigns_pb2.PreviewSegmentRequest(
        brand_id=brand_id, rule_json=rule_json(body.rule), scope=_scope(caller), sample_size=body.sample_size,
    )), field_aliases=_FIELDS)
    return SegmentPreviewOut.of(preview)


@router.post("/segments", status_code=201, response_model=SegmentOut,
             responses=problem_responses(401, 403, 404, 422))
async def create_segment(brand_id: str, body: SegmentCreate, clients: ClientsDep, caller: SegmentWriter) -> SegmentOut:
    """Save a named rule (checked as in the preview); the answer carries its member count now. A store
    manager's segment is limited to their stores (`store_ids`)."""
    segment = await rpc(clients.campaigns.CreateSegment(campaigns_pb2.CreateSegmentRequest(
        brand_id=brand_id, name=body.name, rule_json=rule_json(body.rule), scope=_scope(caller),
        created_by=caller.staff_id,
    )), field_aliases=_FIELDS)
    return SegmentOut.of(segment)


@router.get("/segments", response_model=Page[SegmentOut], responses=problem_responses(401, 403, 404, 422),
            openapi_extra=PAGE.openapi)
async def list_segments(brand_id: str, page: PageParams, clients: ClientsDep, caller: Reader) -> Page[SegmentOut]:
    """The brand's segments, newest first; store managers see those of their stores."""
    reply = await rpc(clients.campaigns.ListSegments(campaigns_pb2.ListSegmentsRequest(
        brand_id=brand_id, scope=_scope(caller), cursor=service_cursor(page), limit=page.limit,
    )))
    return Page[SegmentOut](items=[SegmentOut.of(s) for s in reply.items], next_cursor=next_cursor(reply.next_cursor))


@router.get("/segments/{segment_id}", response_model=SegmentOut, responses=problem_responses(401, 403, 404))
async def get_segment(brand_id: str, segment_id: str, clients: ClientsDep, caller: Reader) -> SegmentOut:
    """One segment; store managers see only those of their stores."""
    segment = await rpc(clients.campaigns.GetSegment(campaigns_pb2.GetSegmentRequest(
        brand_id=brand_id, segment_id=segment_id, scope=_scope(caller),
    )), not_found_as="segment")
    if segment.brand_id and segment.brand_id != brand_id:
        raise not_found("segment")  # defence in depth: a service bug must not cross brands
    return SegmentOut.of(segment)
