"""Staff login: credentials checked by the members service, token signed by the gateway."""

from __future__ import annotations

from fastapi import APIRouter, Request

from crm.members.v1 import members_pb2
from gateway.auth import Role, TokenIssuer, unauthenticated
from gateway.errors import problem_responses, rpc
from gateway.routers import ClientsDep
from gateway.schemas import TokenRequest, TokenResponse

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post("/token", response_model=TokenResponse, responses=problem_responses(401, 422, 503))
async def issue_token(body: TokenRequest, request: Request, clients: ClientsDep) -> TokenResponse:
    """Exchange a username and password for a bearer token (401 problem when they are wrong)."""
    staff = await rpc(clients.members.VerifyStaffCredentials(
        members_pb2.VerifyStaffCredentialsRequest(username=body.username, password=body.password)
    ))
    if not staff.active or staff.role not in set(Role):
        # Same answer as a wrong password: a disabled account must not be distinguishable.
        raise unauthenticated("Authentication failed.")
    tokens: TokenIssuer = request.app.state.tokens
    token = tokens.issue(
        staff_id=staff.id, role=staff.role, brand_id=staff.brand_id, store_ids=staff.store_ids
    )
    return TokenResponse(access_token=token, expires_in=tokens.ttl_seconds)
