"""gRPC handlers of ``crm.campaigns.v1.CampaignsService``."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import asyncpg
import grpc

from campaigns.adapters import repository
from campaigns.adapters.campaign_store import CampaignRecord
from campaigns.adapters.journey_store import JourneyRecord
from campaigns.adapters.segment_store import SavedSegment
from campaigns.app.campaigns import CampaignsApp, Stats
from campaigns.app.journeys import JourneysApp
from campaigns.app.segments import SegmentsApp, rule_text
from campaigns.domain.campaign import Content, Draft
from crm.campaigns.v1 import campaigns_pb2, campaigns_pb2_grpc
from crm_common.errors import InvalidArgument, NotFound


def _scope(request: object) -> list[str] | None:
    """The caller's stores (None: the whole brand)."""
    return list(request.scope.store_ids) if request.HasField("scope") else None  # type: ignore[attr-defined]


def _segment(segment: SavedSegment) -> campaigns_pb2.Segment:
    reply = campaigns_pb2.Segment(
        id=segment.id, brand_id=segment.brand_id, name=segment.name, rule_json=rule_text(segment),
        store_ids=segment.store_ids, created_by=segment.created_by, member_count=segment.member_count,
    )
    reply.created_at.FromDatetime(segment.created_at)
    return reply


def _campaign(c: CampaignRecord) -> campaigns_pb2.Campaign:
    reply = campaigns_pb2.Campaign(
        id=c.id, brand_id=c.brand_id, name=c.name, segment_id=c.segment_id, channel=c.channel,
        content=_content(c.content),
        status=c.status, attribution_days=c.attribution_days, cost_per_message_fen=c.cost_per_message_fen,
        store_ids=c.store_ids, created_by=c.created_by, audience=c.audience,
    )
    reply.created_at.FromDatetime(c.created_at)
    if c.send_at is not None:
        reply.send_at.FromDatetime(c.send_at)
    if c.activated_at is not None:
        reply.activated_at.FromDatetime(c.activated_at)
    return reply


def _content(content: Content) -> campaigns_pb2.CampaignContent:
    return campaigns_pb2.CampaignContent(text=content.text, subject=content.subject,
                                         template_id=content.template_id, params=dict(content.params),
                                         page=content.page)


def _content_of(c: campaigns_pb2.CampaignContent) -> Content:
    return Content(text=c.text, subject=c.subject, template_id=c.template_id, params=dict(c.params), page=c.page)


def _journey(j: JourneyRecord) -> campaigns_pb2.Journey:
    reply = campaigns_pb2.Journey(
        id=j.id, brand_id=j.brand_id, name=j.name, trigger=j.trigger, days=j.days,
        extra_rule_json=json.dumps(j.extra_rule, ensure_ascii=False) if j.extra_rule is not None else "",
        segment_id=j.segment_id, channel=j.channel, content=_content(j.content), status=j.status,
        attribution_days=j.attribution_days, cost_per_message_fen=j.cost_per_message_fen, store_ids=j.store_ids,
        created_by=j.created_by, runs=j.runs,
    )
    reply.created_at.FromDatetime(j.created_at)
    if j.next_run_at is not None:
        reply.next_run_at.FromDatetime(j.next_run_at)
    return reply


def _stats(s: Stats, campaign_id: str = "") -> campaigns_pb2.CampaignStats:
    o = s.outcomes
    return campaigns_pb2.CampaignStats(
        campaign_id=campaign_id, status=s.status, audience=o.audience, pending=o.pending, sent=o.sent,
        failed=o.failed, suppressed_no_consent=o.suppressed_no_consent,
        suppressed_frequency_cap=o.suppressed_frequency_cap, conversions=s.conversions,
        converted_members=s.converted_members, revenue_fen=s.revenue_fen, cost_fen=s.cost_fen, roi=s.roi,
        conversion_rate=s.conversion_rate,
    )


class CampaignsServicer(campaigns_pb2_grpc.CampaignsServiceServicer):
    """Reads of the audience store; segments; campaigns."""

    def __init__(self, pool: asyncpg.Pool, segments: SegmentsApp | None = None,
                 campaigns: CampaignsApp | None = None, journeys: JourneysApp | None = None) -> None:
        self._pool = pool
        self._segments = segments or SegmentsApp(pool)
        self._campaigns = campaigns
        self._journeys = journeys

    async def GetAudienceMember(
        self, request: campaigns_pb2.GetAudienceMemberRequest, context: grpc.aio.ServicerContext
    ) -> campaigns_pb2.AudienceMember:
        """The member's facts in this brand; NotFound when no event about them has arrived."""
        if not request.brand_id:
            raise InvalidArgument("brand_id is required", field="brand_id")
        if not request.member_id:
            raise InvalidArgument("member_id is required", field="member_id")
        row = await repository.get_member(self._pool, request.brand_id, request.member_id,
                                          datetime.now(UTC))
        if row is None:
            raise NotFound("audience member not found", reason="MEMBER_NOT_FOUND")
        reply = campaigns_pb2.AudienceMember(
            member_id=row.member_id,
            store_id=row.profile.store_id or "",
            order_count=row.facts.order_count,
            total_spend_fen=row.facts.total_spend_fen,
            tags=row.tags,
            tier=row.tier or "",
            points_balance=row.points_balance,
            spend_90d_fen=row.spend_90d_fen,
        )
        if row.facts.last_purchase_at is not None:
            reply.last_purchase_at.FromDatetime(row.facts.last_purchase_at)
        # Unset until MemberRegistered arrives (an order can be first).
        if row.profile.registered_at is not None:
            reply.registered_at.FromDatetime(row.profile.registered_at)
        return reply

    async def PreviewSegment(
        self, request: campaigns_pb2.PreviewSegmentRequest, context: grpc.aio.ServicerContext
    ) -> campaigns_pb2.SegmentPreview:
        """Count and sample the members a rule selects now."""
        count, sample = await self._segments.preview(request.brand_id, request.rule_json, _scope(request),
                                                     request.sample_size)
        return campaigns_pb2.SegmentPreview(count=count, sample_member_ids=sample)

    async def CreateSegment(
        self, request: campaigns_pb2.CreateSegmentRequest, context: grpc.aio.ServicerContext
    ) -> campaigns_pb2.Segment:
        """Save a named rule."""
        return _segment(await self._segments.create(request.brand_id, request.name, request.rule_json,
                                                    _scope(request), request.created_by))

    async def GetSegment(
        self, request: campaigns_pb2.GetSegmentRequest, context: grpc.aio.ServicerContext
    ) -> campaigns_pb2.Segment:
        """One saved segment of the brand, within the caller's stores."""
        return _segment(await self._segments.get(request.brand_id, request.segment_id, _scope(request)))

    async def ListSegments(
        self, request: campaigns_pb2.ListSegmentsRequest, context: grpc.aio.ServicerContext
    ) -> campaigns_pb2.ListSegmentsResponse:
        """The brand's segments, newest first."""
        page = await self._segments.list(request.brand_id, _scope(request), request.cursor, request.limit)
        return campaigns_pb2.ListSegmentsResponse(items=[_segment(s) for s in page.items],
                                                  next_cursor=page.next_cursor)

    def _app(self) -> CampaignsApp:
        if self._campaigns is None:  # pragma: no cover - bootstrap always wires it
            raise RuntimeError("campaigns are not wired in this process")
        return self._campaigns

    async def CreateCampaign(
        self, request: campaigns_pb2.CreateCampaignRequest, context: grpc.aio.ServicerContext
    ) -> campaigns_pb2.Campaign:
        """A draft campaign."""
        draft = Draft(
            name=request.name, segment_id=request.segment_id, channel=request.channel,
            content=_content_of(request.content),
            send_at=request.send_at.ToDatetime(tzinfo=UTC) if request.HasField("send_at") else None,
            attribution_days=request.attribution_days, cost_per_message_fen=request.cost_per_message_fen,
        )
        return _campaign(await self._app().create(request.brand_id, draft, _scope(request), request.created_by))

    async def GetCampaign(
        self, request: campaigns_pb2.GetCampaignRequest, context: grpc.aio.ServicerContext
    ) -> campaigns_pb2.Campaign:
        """One campaign."""
        return _campaign(await self._app().get(request.brand_id, request.campaign_id, _scope(request)))

    async def ListCampaigns(
        self, request: campaigns_pb2.ListCampaignsRequest, context: grpc.aio.ServicerContext
    ) -> campaigns_pb2.ListCampaignsResponse:
        """The brand's campaigns, newest first."""
        page = await self._app().list(request.brand_id, _scope(request), request.cursor, request.limit)
        return campaigns_pb2.ListCampaignsResponse(items=[_campaign(c) for c in page.items],
                                                   next_cursor=page.next_cursor)

    async def ActivateCampaign(
        self, request: campaigns_pb2.ActivateCampaignRequest, context: grpc.aio.ServicerContext
    ) -> campaigns_pb2.Campaign:
        """Freeze the audience and schedule the messages (idempotent)."""
        return _campaign(await self._app().activate(request.brand_id, request.campaign_id, _scope(request),
                                                    request.activated_by))

    async def GetCampaignStats(
        self, request: campaigns_pb2.GetCampaignStatsRequest, context: grpc.aio.ServicerContext
    ) -> campaigns_pb2.CampaignStats:
        """Delivery and attribution figures."""
        return _stats(await self._app().stats(request.brand_id, request.campaign_id, _scope(request)),
                      request.campaign_id)

    def _journey_app(self) -> JourneysApp:
        if self._journeys is None:  # pragma: no cover - bootstrap always wires it
            raise RuntimeError("journeys are not wired in this process")
        return self._journeys

    async def CreateJourney(
        self, request: campaigns_pb2.CreateJourneyRequest, context: grpc.aio.ServicerContext
    ) -> campaigns_pb2.Journey:
        """An automated journey, active from the next 10:00."""
        draft = Draft(name=request.name, segment_id="", channel=request.channel,
                      content=_content_of(request.content), send_at=None,
                      attribution_days=request.attribution_days, cost_per_message_fen=request.cost_per_message_fen)
        return _journey(await self._journey_app().create(
            request.brand_id, draft, request.trigger, request.days if request.HasField("days") else None,
            request.extra_rule_json, _scope(request),
            request.created_by))

    async def GetJourney(
        self, request: campaigns_pb2.GetJourneyRequest, context: grpc.aio.ServicerContext
    ) -> campaigns_pb2.Journey:
        """One journey."""
        return _journey(await self._journey_app().get(request.brand_id, request.journey_id, _scope(request)))

    async def ListJourneys(
        self, request: campaigns_pb2.ListJourneysRequest, context: grpc.aio.ServicerContext
    ) -> campaigns_pb2.ListJourneysResponse:
        """The brand's journeys, newest first."""
        page = await self._journey_app().list(request.brand_id, _scope(request), request.cursor, request.limit)
        return campaigns_pb2.ListJourneysResponse(items=[_journey(j) for j in page.items],
                                                  next_cursor=page.next_cursor)

    async def SetJourneyStatus(
        self, request: campaigns_pb2.SetJourneyStatusRequest, context: grpc.aio.ServicerContext
    ) -> campaigns_pb2.Journey:
        """Pause or resume."""
        return _journey(await self._journey_app().set_status(request.brand_id, request.journey_id, request.status,
                                                             _scope(request)))

    async def GetJourneyStats(
        self, request: campaigns_pb2.GetJourneyStatsRequest, context: grpc.aio.ServicerContext
    ) -> campaigns_pb2.CampaignStats:
        """The journey's runs added up."""
        return _stats(await self._journey_app().stats(request.brand_id, request.journey_id, _scope(request)))
