"""gRPC handlers of ``crm.campaigns.v1.CampaignsService``."""

from __future__ import annotations

import asyncpg
import grpc

from campaigns.adapters import repository
from crm.campaigns.v1 import campaigns_pb2, campaigns_pb2_grpc
from crm_common.errors import InvalidArgument, NotFound


class CampaignsServicer(campaigns_pb2_grpc.CampaignsServiceServicer):
    """Reads of the audience store."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def GetAudienceMember(
        self, request: campaigns_pb2.GetAudienceMemberRequest, context: grpc.aio.ServicerContext
    ) -> campaigns_pb2.AudienceMember:
        """The member's facts in this brand; NotFound when no event about them has arrived."""
        if not request.brand_id:
            raise InvalidArgument("brand_id is required", field="brand_id")
        if not request.member_id:
            raise InvalidArgument("member_id is required", field="member_id")
        row = await repository.get_member(self._pool, request.brand_id, request.member_id)
        if row is None:
            raise NotFound("audience member not found", reason="MEMBER_NOT_FOUND")
        reply = campaigns_pb2.AudienceMember(
            member_id=row.member_id,
            store_id=row.profile.store_id or "",
            order_count=row.facts.order_count,
            total_spend_fen=row.facts.total_spend_fen,
        )
        if row.facts.last_purchase_at is not None:
            reply.last_purchase_at.FromDatetime(row.facts.last_purchase_at)
        # Unset until MemberRegistered arrives (an order can be first).
        if row.profile.registered_at is not None:
            reply.registered_at.FromDatetime(row.profile.registered_at)
        return reply
