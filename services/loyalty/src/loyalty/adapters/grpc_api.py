"""gRPC handlers of LoyaltyService: protobuf in, use case, protobuf out. Errors are raised as DomainError."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC

import grpc

from crm.loyalty.v1 import loyalty_pb2, loyalty_pb2_grpc
from loyalty.app.loyalty import LoyaltyApp, OrderResult
from loyalty.domain.orders import OrderDraft, OrderLine


def order_from_proto(request: loyalty_pb2.RecordOrderRequest) -> OrderDraft:
    """The domain order of a RecordOrder request (no validation here: the use case validates)."""
    return OrderDraft(
        brand_id=request.brand_id,
        external_id=request.external_id,
        store_id=request.store_id,
        member_id=request.member_id,
        member_phone=request.member_phone,
        occurred_at=request.occurred_at.ToDatetime(tzinfo=UTC) if request.HasField("occurred_at") else None,
        items=tuple(
            OrderLine(
                sku=i.sku, name=i.name, category=i.category, quantity=i.quantity, amount_fen=i.amount_fen
            )
            for i in request.items
        ),
        total_fen=request.total_fen,
    )


def result_to_proto(result: OrderResult) -> loyalty_pb2.RecordOrderResponse:
    """The RecordOrder response of a use-case result."""
    response = loyalty_pb2.RecordOrderResponse(
        order_id=result.order_id, points_earned=result.points_earned, replayed=result.replayed
    )
    if result.member is not None:
        response.member.CopyFrom(
            loyalty_pb2.MemberPoints(
                member_id=result.member.member_id,
                points_balance=result.member.points_balance,
                tier=result.member.tier,
            )
        )
    return response


class LoyaltyServicer(loyalty_pb2_grpc.LoyaltyServiceServicer):
    """crm.loyalty.v1.LoyaltyService over a ``LoyaltyApp`` (awaited: it exists once the service started)."""

    def __init__(self, app: Callable[[], Awaitable[LoyaltyApp]]) -> None:
        self._app = app

    async def RecordOrder(
        self, request: loyalty_pb2.RecordOrderRequest, context: grpc.aio.ServicerContext
    ) -> loyalty_pb2.RecordOrderResponse:
        """Record an order; see the proto for the idempotency contract."""
        app = await self._app()
        return result_to_proto(await app.record_order(order_from_proto(request)))

    async def GetPointsAccount(
        self, request: loyalty_pb2.GetPointsAccountRequest, context: grpc.aio.ServicerContext
    ) -> loyalty_pb2.PointsAccount:
        """A member's balance, tier, growth value and soon-expiring points."""
        app = await self._app()
        view = await app.get_points_account(request.brand_id, request.member_id)
        account = loyalty_pb2.PointsAccount(
            member_id=view.member_id, balance=view.balance, tier=view.tier, growth_value=view.growth_value
        )
        for points, expires_at in view.expiring:
            item = account.expiring.add(points=points)
            item.expires_at.FromDatetime(expires_at)
        return account
