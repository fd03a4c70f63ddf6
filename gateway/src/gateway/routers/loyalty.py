"""Orders posted by POS systems and members' points accounts (loyalty service)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from crm.loyalty.v1 import loyalty_pb2
from gateway.auth import Permission, Principal, brand_access, require_store
from gateway.errors import invalid, problem_responses, rpc
from gateway.routers import ClientsDep
from gateway.routers.members import get_visible_member
from gateway.schemas import OrderCreate, OrderOut, PointsOut

router = APIRouter(prefix="/v1/brands/{brand_id}", tags=["loyalty"])


@router.post(
    "/orders",
    status_code=201,
    response_model=OrderOut,
    responses={
        200: {"model": OrderOut, "description": "The same `external_id` again: the first result, unchanged"},
        **problem_responses(401, 403, 404, 409, 422),
    },
)
async def record_order(
    brand_id: str,
    body: OrderCreate,
    response: Response,
    clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.ORDER_WRITE))],
) -> OrderOut:
    """Record a purchase and earn points. Idempotent by `external_id`: a repeat → 200 with the first body;
    the same `external_id` with other content → 409."""
    if (body.member_id is None) == (body.member_phone is None):
        raise invalid(("member_id", "give exactly one of member_id and member_phone"))
    require_store(caller, body.store_id, "store")
    result = await rpc(clients.loyalty.RecordOrder(body.to_proto(brand_id)))
    if result.replayed:
        response.status_code = 200
    return OrderOut.of(result)


@router.get(
    "/members/{member_id}/points", response_model=PointsOut, responses=problem_responses(401, 403, 404)
)
async def get_points(
    brand_id: str,
    member_id: str,
    clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.POINTS_READ))],
) -> PointsOut:
    """A member's balance, tier, growth value and the points about to expire."""
    if caller.store_scoped:
        # Only the members service knows the member's store; ask it before showing anything.
        await get_visible_member(clients, caller, brand_id, member_id)
    account = await rpc(
        clients.loyalty.GetPointsAccount(
            loyalty_pb2.GetPointsAccountRequest(brand_id=brand_id, member_id=member_id)
        ),
        not_found_as="member",
    )
    return PointsOut.of(account)
