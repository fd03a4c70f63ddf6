"""The LeadsService gRPC servicer: protobuf in, use case, protobuf out. Errors map in crm_common."""

from __future__ import annotations

import grpc

from crm.leads.v1 import leads_pb2, leads_pb2_grpc
from leads.adapters.repository import LeadRecord
from leads.app.leads import LeadsApp
from leads.domain.lead import NewLead


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
    )
    msg.created_at.FromDatetime(record.created_at)
    return msg


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
