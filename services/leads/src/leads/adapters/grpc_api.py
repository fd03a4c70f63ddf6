"""The LeadsService gRPC servicer: protobuf in, use case, protobuf out. Errors map in crm_common."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from crm.leads.v1 import leads_pb2, leads_pb2_grpc
from crm_common.errors import InvalidArgument
from leads.adapters.repository import FollowUpRecord, LeadRecord
from leads.app.leads import LeadsApp
from leads.domain.followup import Actor, NewFollowUp
from leads.domain.lead import NewLead


def _set(field: Timestamp, moment: datetime | None) -> None:
    if moment is not None:
        field.FromDatetime(moment)


def _lead(record: LeadRecord) -> leads_pb2.Lead:
    msg = leads_pb2.Lead(
        id=record.id,
        brand_id=record.brand_id,
        source=record.source,
        name=record.name,
        phone=record.phone,
        interest=record.interest,
        store_id=record.store_id,
        assignee_id=record.assignee_id,
        stage=str(record.stage),
        follow_up_count=record.follow_up_count,
    )
    msg.created_at.FromDatetime(record.created_at)
    msg.stage_changed_at.FromDatetime(record.stage_changed_at)
    _set(msg.next_follow_up_at, record.next_follow_up_at)
    _set(msg.last_follow_up_at, record.last_follow_up_at)
    return msg


def _follow_up(record: FollowUpRecord) -> leads_pb2.FollowUp:
    msg = leads_pb2.FollowUp(
        id=record.id,
        brand_id=record.brand_id,
        lead_id=record.lead_id,
        author_id=record.author_id,
        note=record.note,
        channel=str(record.channel),
    )
    msg.created_at.FromDatetime(record.created_at)
    _set(msg.next_follow_up_at, record.next_follow_up_at)
    return msg


def _scope(request: leads_pb2.ListLeadsRequest | leads_pb2.AddFollowUpRequest | leads_pb2.ListFollowUpsRequest
           | leads_pb2.ChangeLeadStageRequest) -> list[str] | None:
    # Absent: the whole brand; present, even empty: only those stores (empty sees nothing).
    return list(request.scope.store_ids) if request.HasField("scope") else None


def _actor(msg: leads_pb2.Actor) -> Actor:
    return Actor(staff_id=msg.staff_id, manager=msg.manager)


def _moment(ts: Timestamp, field: str) -> datetime:
    try:
        return ts.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InvalidArgument(f"{field} is out of range", reason="OUT_OF_RANGE", field=field) from None


class LeadsServicer(leads_pb2_grpc.LeadsServiceServicer):
    """gRPC adapter of ``LeadsApp``."""

    def __init__(self, app: LeadsApp) -> None:
        self._app = app

    async def CreateLead(  # the proto fixes gRPC method names
        self, request: leads_pb2.CreateLeadRequest, context: grpc.aio.ServicerContext
    ) -> leads_pb2.Lead:
        lead = NewLead.create(
            brand_id=request.brand_id,
            source=request.source,
            phone=request.phone,
            name=request.name,
            interest=request.interest,
            city=request.city,
            store_id=request.store_id,
            location=(request.location.lat, request.location.lng) if request.HasField("location") else None,
        )
        return _lead(await self._app.create_lead(lead))

    async def GetLead(
        self, request: leads_pb2.GetLeadRequest, context: grpc.aio.ServicerContext
    ) -> leads_pb2.Lead:
        return _lead(await self._app.get_lead(request.brand_id, request.lead_id))

    async def ListLeads(
        self, request: leads_pb2.ListLeadsRequest, context: grpc.aio.ServicerContext
    ) -> leads_pb2.ListLeadsResponse:
        page = await self._app.list_leads(
            request.brand_id,
            assignee_id=request.assignee_id,
            stage=request.stage,
            store_id=request.store_id,
            store_ids=_scope(request),
            cursor=request.cursor,
            limit=request.limit,
        )
        return leads_pb2.ListLeadsResponse(leads=[_lead(r) for r in page.items], next_cursor=page.next_cursor)

    async def AddFollowUp(
        self, request: leads_pb2.AddFollowUpRequest, context: grpc.aio.ServicerContext
    ) -> leads_pb2.AddFollowUpResponse:
        follow_up = NewFollowUp.create(
            note=request.note,
            channel=request.channel,
            next_follow_up_at=(
                _moment(request.next_follow_up_at, "next_follow_up_at")
                if request.HasField("next_follow_up_at") else None
            ),
            now=datetime.now(UTC),
        )
        result = await self._app.add_follow_up(
            request.brand_id,
            request.lead_id,
            _actor(request.actor),
            follow_up,
            store_ids=_scope(request),
            key=request.idempotency_key,
        )
        return leads_pb2.AddFollowUpResponse(
            follow_up=_follow_up(result.follow_up), lead=_lead(result.lead), replayed=result.replayed
        )

    async def ListFollowUps(
        self, request: leads_pb2.ListFollowUpsRequest, context: grpc.aio.ServicerContext
    ) -> leads_pb2.ListFollowUpsResponse:
        page = await self._app.list_follow_ups(
            request.brand_id, request.lead_id, store_ids=_scope(request), cursor=request.cursor, limit=request.limit
        )
        return leads_pb2.ListFollowUpsResponse(
            follow_ups=[_follow_up(r) for r in page.items], next_cursor=page.next_cursor
        )

    async def ChangeLeadStage(
        self, request: leads_pb2.ChangeLeadStageRequest, context: grpc.aio.ServicerContext
    ) -> leads_pb2.Lead:
        lead = await self._app.change_stage(
            request.brand_id,
            request.lead_id,
            _actor(request.actor),
            request.stage,
            reason=request.reason,
            store_ids=_scope(request),
        )
        return _lead(lead)
