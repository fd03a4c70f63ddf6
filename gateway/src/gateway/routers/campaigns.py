"""Campaigns (campaigns service): segments — a rule previewed against the brand's members, saved by name —
and campaigns — one message on one channel to a segment's members, created in draft, activated, measured.

The campaigns service owns the rule language and checks it: a bad rule is a 422 whose `errors` list every
problem (`rule.all[1].op`), and the gateway only makes sure `rule` is a JSON object. Store managers work
within their stores: the service is told the caller's stores, selects only members they own, and answers
NOT_FOUND for segments outside them, the same 404 as a segment that does not exist. Their campaigns likewise:
a campaign reaches members of the creator's stores only, and store managers see only their stores' campaigns.

The gateway checks a campaign's shape (lengths, the content its channel needs, `send_at` within 90 days); the
service checks what only it knows (which channels this deployment sends on, whether the segment exists).

Journeys are campaigns that run by themselves: every day the service selects the members a trigger names
(birthday, dormant, repurchase) within an optional extra rule, and each day's run is a campaign. The gateway
checks them as it checks campaigns (plus `days` for the trigger); the service checks the extra rule, whose
problems it names `rule…` as for segments and the gateway renames `extra_rule…`. Same permissions and store
scope as campaigns.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from crm.campaigns.v1 import campaigns_pb2
from gateway.auth import Permission, Principal, brand_access
from gateway.errors import invalid, not_found, problem_responses, rpc
from gateway.routers import ClientsDep
from gateway.schemas import PAGE, Page, PageParams, next_cursor, service_cursor
from gateway.schemas_campaigns import (
    CampaignActivation,
    CampaignCreate,
    CampaignOut,
    CampaignStatsOut,
    SegmentCreate,
    SegmentOut,
    SegmentPreviewIn,
    SegmentPreviewOut,
    rule_json,
)
from gateway.schemas_journeys import JourneyCreate, JourneyOut, JourneyStatusIn

router = APIRouter(prefix="/v1/brands/{brand_id}", tags=["campaigns"])

_FIELDS = {"rule_json": "rule"}
Reader = Annotated[Principal, Depends(brand_access(Permission.CAMPAIGN_READ))]
SegmentWriter = Annotated[Principal, Depends(brand_access(Permission.SEGMENT_WRITE))]
CampaignWriter = Annotated[Principal, Depends(brand_access(Permission.CAMPAIGN_WRITE))]


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


def _own(campaign: campaigns_pb2.Campaign, brand_id: str) -> CampaignOut:
    if campaign.brand_id and campaign.brand_id != brand_id:
        raise not_found("campaign")  # defence in depth: a service bug must not cross brands
    return CampaignOut.of(campaign)


@router.post("/campaigns", status_code=201, response_model=CampaignOut,
             responses=problem_responses(401, 403, 404, 422))
async def create_campaign(
    brand_id: str, body: CampaignCreate, clients: ClientsDep, caller: CampaignWriter,
) -> CampaignOut:
    """A campaign in draft, targeting a saved segment (404 when it does not exist or is outside the caller's
    stores). A channel this deployment does not send on (push, for now) is a 422 naming `channel`."""
    problems = body.content_problems()
    if problems:
        raise invalid(*problems)
    campaign = await rpc(clients.campaigns.CreateCampaign(
        body.to_proto(brand_id, scope=_scope(caller), created_by=caller.staff_id)), not_found_as="segment")
    return CampaignOut.of(campaign)


@router.get("/campaigns", response_model=Page[CampaignOut], responses=problem_responses(401, 403, 404, 422),
            openapi_extra=PAGE.openapi)
async def list_campaigns(brand_id: str, page: PageParams, clients: ClientsDep, caller: Reader) -> Page[CampaignOut]:
    """The brand's campaigns, newest first; store managers see those of their stores."""
    reply = await rpc(clients.campaigns.ListCampaigns(campaigns_pb2.ListCampaignsRequest(
        brand_id=brand_id, scope=_scope(caller), cursor=service_cursor(page), limit=page.limit,
    )))
    return Page[CampaignOut](items=[CampaignOut.of(c) for c in reply.items], next_cursor=next_cursor(reply.next_cursor))


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut, responses=problem_responses(401, 403, 404))
async def get_campaign(brand_id: str, campaign_id: str, clients: ClientsDep, caller: Reader) -> CampaignOut:
    """One campaign; store managers see only those of their stores."""
    campaign = await rpc(clients.campaigns.GetCampaign(campaigns_pb2.GetCampaignRequest(
        brand_id=brand_id, campaign_id=campaign_id, scope=_scope(caller),
    )), not_found_as="campaign")
    return _own(campaign, brand_id)


@router.post("/campaigns/{campaign_id}/activation", response_model=CampaignOut,
             responses=problem_responses(401, 403, 404, 409, 422))
async def activate_campaign(
    brand_id: str, campaign_id: str, clients: ClientsDep, caller: CampaignWriter,
    body: CampaignActivation | None = None,  # no body, or {}: nothing to say, but a stray field is refused
) -> CampaignOut:
    """Freeze the audience (the segment's members now, within the campaign's stores), leave out members
    without consent for the channel, and schedule the messages. Activating an active or completed campaign
    changes nothing and answers it as it is, so a retry is safe."""
    campaign = await rpc(clients.campaigns.ActivateCampaign(campaigns_pb2.ActivateCampaignRequest(
        brand_id=brand_id, campaign_id=campaign_id, scope=_scope(caller), activated_by=caller.staff_id,
    )), not_found_as="campaign")
    return _own(campaign, brand_id)


@router.get("/campaigns/{campaign_id}/stats", response_model=CampaignStatsOut,
            responses=problem_responses(401, 403, 404))
async def get_campaign_stats(brand_id: str, campaign_id: str, clients: ClientsDep, caller: Reader) -> CampaignStatsOut:
    """Delivery (sent, failed, pending, suppressed for consent or frequency) and attribution (orders of messaged
    members within the attribution window, their revenue, the cost, the ROI)."""
    stats = await rpc(clients.campaigns.GetCampaignStats(campaigns_pb2.GetCampaignStatsRequest(
        brand_id=brand_id, campaign_id=campaign_id, scope=_scope(caller),
    )), not_found_as="campaign")
    return CampaignStatsOut.of(stats)


# --- journeys -----------------------------------------------------------------------------------------------

# The service may name the extra rule's places as a segment's (`rule.all[0].op`), by its proto field or by its
# JSON name (`extra_rule.all[0].op`, unchanged); all of them answer as the body names it.
_JOURNEY_FIELDS = {"rule": "extra_rule", "extra_rule_json": "extra_rule"}


def _own_journey(journey: campaigns_pb2.Journey, brand_id: str) -> JourneyOut:
    if journey.brand_id and journey.brand_id != brand_id:
        raise not_found("journey")  # defence in depth: a service bug must not cross brands
    return JourneyOut.of(journey)


@router.post("/journeys", status_code=201, response_model=JourneyOut, responses=problem_responses(401, 403, 404, 422))
async def create_journey(brand_id: str, body: JourneyCreate, clients: ClientsDep, caller: CampaignWriter) -> JourneyOut:
    """A journey, answered with its `status` and `next_run_at`: every day at 10:00 (brand time) the members the
    trigger selects that day (and `extra_rule`) get the message, once per occasion. `days` must suit the
    trigger; a bad `extra_rule` is a 422 listing every problem (`extra_rule.all[1].op`); a channel this
    deployment does not send on, a 422 naming `channel`. A store manager's journey reaches members of their
    stores only."""
    problems = body.problems()
    if problems:
        raise invalid(*problems)
    journey = await rpc(clients.campaigns.CreateJourney(
        body.to_proto(brand_id, scope=_scope(caller), created_by=caller.staff_id)), field_aliases=_JOURNEY_FIELDS)
    return JourneyOut.of(journey)


@router.get("/journeys", response_model=Page[JourneyOut], responses=problem_responses(401, 403, 404, 422),
            openapi_extra=PAGE.openapi)
async def list_journeys(brand_id: str, page: PageParams, clients: ClientsDep, caller: Reader) -> Page[JourneyOut]:
    """The brand's journeys, newest first; store managers see those of their stores."""
    reply = await rpc(clients.campaigns.ListJourneys(campaigns_pb2.ListJourneysRequest(
        brand_id=brand_id, scope=_scope(caller), cursor=service_cursor(page), limit=page.limit,
    )))
    return Page[JourneyOut](items=[JourneyOut.of(j) for j in reply.items], next_cursor=next_cursor(reply.next_cursor))


@router.get("/journeys/{journey_id}", response_model=JourneyOut, responses=problem_responses(401, 403, 404))
async def get_journey(brand_id: str, journey_id: str, clients: ClientsDep, caller: Reader) -> JourneyOut:
    """One journey; store managers see only those of their stores."""
    journey = await rpc(clients.campaigns.GetJourney(campaigns_pb2.GetJourneyRequest(
        brand_id=brand_id, journey_id=journey_id, scope=_scope(caller),
    )), not_found_as="journey")
    return _own_journey(journey, brand_id)


@router.post("/journeys/{journey_id}/status", response_model=JourneyOut,
             responses=problem_responses(401, 403, 404, 422))
async def set_journey_status(
    brand_id: str, journey_id: str, body: JourneyStatusIn, clients: ClientsDep, caller: CampaignWriter,
) -> JourneyOut:
    """`paused`: no more runs; `active`: runs again from the next 10:00 (brand time)."""
    journey = await rpc(clients.campaigns.SetJourneyStatus(campaigns_pb2.SetJourneyStatusRequest(
        brand_id=brand_id, journey_id=journey_id, status=body.status, scope=_scope(caller),
    )), not_found_as="journey")
    return _own_journey(journey, brand_id)


@router.get("/journeys/{journey_id}/stats", response_model=CampaignStatsOut, responses=problem_responses(401, 403, 404))
async def get_journey_stats(brand_id: str, journey_id: str, clients: ClientsDep, caller: Reader) -> CampaignStatsOut:
    """The journey's daily runs added up, in a campaign's stats body (`campaign_id` is the journey's id)."""
    stats = await rpc(clients.campaigns.GetJourneyStats(campaigns_pb2.GetJourneyStatsRequest(
        brand_id=brand_id, journey_id=journey_id, scope=_scope(caller),
    )), not_found_as="journey")
    return CampaignStatsOut.of(stats).model_copy(update={"campaign_id": journey_id})
