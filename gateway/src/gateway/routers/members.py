"""Members of a brand (members service), scoped to the caller's stores and masked without PII rights."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from crm.members.v1 import members_pb2
from gateway.auth import Permission, Principal, brand_access, require_store
from gateway.errors import not_found, problem_responses, rpc
from gateway.routers import ClientsDep
from gateway.schemas import MemberCreate, MemberOut

router = APIRouter(prefix="/v1/brands/{brand_id}", tags=["members"])


def default_store(caller: Principal, store_id: str | None, resource: str) -> str | None:
    """A store-scoped caller works in its own stores: its only store by default, never another's."""
    if not caller.store_scoped:
        return store_id
    if store_id is None and len(caller.store_ids) == 1:
        return caller.store_ids[0]
    if store_id is not None:
        require_store(caller, store_id, resource)
    return store_id


async def get_visible_member(
    clients: ClientsDep, caller: Principal, brand_id: str, member_id: str
) -> members_pb2.Member:
    """The member, or the same 404 whether it is missing or outside the caller's stores."""
    member = await rpc(
        clients.members.GetMember(members_pb2.GetMemberRequest(brand_id=brand_id, member_id=member_id)),
        not_found_as="member",
    )
    if member.brand_id and member.brand_id != brand_id:
        raise not_found("member")  # defence in depth: a service bug must not cross brands
    require_store(caller, member.store_id, "member")
    return member


@router.post(
    "/members",
    status_code=201,
    response_model=MemberOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def register_member(
    brand_id: str,
    body: MemberCreate,
    clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.MEMBER_WRITE))],
) -> MemberOut:
    """Register a member. A phone already registered in the brand → 409 carrying the existing `member_id`."""
    body = body.model_copy(update={"store_id": default_store(caller, body.store_id, "store")})
    member = await rpc(clients.members.RegisterMember(body.to_proto(brand_id)))
    return MemberOut.of(member, mask=not caller.sees_pii)


@router.get(
    "/members/{member_id}", response_model=MemberOut, responses=problem_responses(401, 403, 404)
)
async def get_member(
    brand_id: str,
    member_id: str,
    clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.MEMBER_READ))],
) -> MemberOut:
    """One member. Clerks and analysts see the phone masked (`138****8000`)."""
    member = await get_visible_member(clients, caller, brand_id, member_id)
    return MemberOut.of(member, mask=not caller.sees_pii)
