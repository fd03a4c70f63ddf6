"""Staff login, refresh, logout: credentials checked by the members service, tokens signed by the gateway.

A login answers a short-lived access token and a single-use refresh token. Failed logins are counted per
username across replicas; after ``lockout_max_failures`` within the window the username is locked (429
with ``Retry-After``) — the same for an unknown username, so a lockout reveals nothing.
"""

from __future__ import annotations

import time
from typing import Annotated

import grpc
from fastapi import APIRouter, Depends, Request, Response

from crm.members.v1 import members_pb2
from crm_common.errors import RemoteError
from gateway.audit import AuditLog, audit_log
from gateway.auth import ROLE_PERMISSIONS, STAFF_ROLES, Principal, Role, TokenIssuer, principal, unauthenticated
from gateway.clients import Clients
from gateway.errors import ProblemError, problem_from_remote, problem_responses
from gateway.routers import ClientsDep
from gateway.schemas import LogoutRequest, RefreshRequest, TokenRequest, TokenResponse, WhoAmI
from gateway.sessions import RefreshRejected, SessionStore, StaffSession

router = APIRouter(prefix="/v1/auth", tags=["auth"])

AuditDep = Annotated[AuditLog, Depends(audit_log)]


def _sessions(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.sessions
    return store


def _tokens(request: Request) -> TokenIssuer:
    issuer: TokenIssuer = request.app.state.tokens
    return issuer


@router.post("/token", response_model=TokenResponse, responses=problem_responses(401, 422, 429, 503))
async def issue_token(body: TokenRequest, request: Request, clients: ClientsDep, audit: AuditDep) -> TokenResponse:
    """Exchange a username and password for an access token and a refresh token (401 when wrong;
    429 with `Retry-After` after repeated failures)."""
    client = request.client.host if request.client else "unknown"
    request.app.state.login_limiter.check(f"login:{client}")
    sessions = _sessions(request)
    locked = await sessions.locked_for(body.username)
    if locked:
        audit.record("login", actor="anonymous", outcome="locked", request=request)
        raise ProblemError(429, "Too many failed logins; try again later.", reason="ACCOUNT_LOCKED",
                           headers={"Retry-After": str(locked)})
    try:
        staff = await clients.members.VerifyStaffCredentials(
            members_pb2.VerifyStaffCredentialsRequest(username=body.username, password=body.password)
        )
    except RemoteError as err:
        if err.code == grpc.StatusCode.UNAUTHENTICATED:
            await sessions.record_failure(body.username)
            audit.record("login", actor="anonymous", outcome="failed", request=request)
        raise problem_from_remote(err) from None
    if not staff.active or staff.role not in STAFF_ROLES:
        # Same answer as a wrong password: a disabled account must not be distinguishable.
        await sessions.record_failure(body.username)
        audit.record("login", actor=f"staff:{staff.id}", outcome="failed", brand_id=staff.brand_id or None,
                     request=request)
        raise unauthenticated("Authentication failed.")
    await sessions.clear_failures(body.username)
    settings = request.app.state.settings
    session, refresh = await sessions.start(
        staff_id=staff.id, role=staff.role, brand_id=staff.brand_id, store_ids=tuple(staff.store_ids),
        ttl_seconds=settings.refresh_ttl_seconds,
    )
    audit.record("login", actor=f"staff:{staff.id}", brand_id=staff.brand_id or None, request=request,
                 role=staff.role, session=session.session_id)
    return _pair(request, session, refresh)


def _pair(request: Request, session: StaffSession, refresh: str) -> TokenResponse:
    tokens = _tokens(request)
    access = tokens.issue(staff_id=session.staff_id, role=session.role, brand_id=session.brand_id,
                          store_ids=session.store_ids, session_id=session.session_id)
    return TokenResponse(access_token=access, expires_in=tokens.ttl_seconds, refresh_token=refresh,
                         refresh_expires_in=max(0, int(session.expires_at - time.time())))


@router.post("/refresh", response_model=TokenResponse, responses=problem_responses(401, 422, 429, 503))
async def refresh_token(body: RefreshRequest, request: Request, clients: ClientsDep, audit: AuditDep) -> TokenResponse:
    """Spend a refresh token for a new access token and a new refresh token. Each refresh token works once:
    presenting one again revokes its whole session. The account is checked again first: a deactivated
    account gets 401 (and its session ends); a changed role or store list is in the new access token."""
    sessions = _sessions(request)
    current = await sessions.peek(body.refresh_token)
    role: str | None = None
    store_ids: tuple[str, ...] | None = None
    if current is not None:
        request.app.state.limiter.check(f"staff:{current.staff_id}")
        staff = await _live_account(clients, current)
        if staff is None:
            await sessions.revoke(current.session_id, until=current.expires_at)
            audit.record("session.revoke", actor=f"staff:{current.staff_id}", outcome="account_inactive",
                         brand_id=current.brand_id or None, request=request, session=current.session_id)
            raise unauthenticated("The refresh token is invalid, expired or already used.")
        role, store_ids = staff.role, tuple(staff.store_ids)
    try:
        session, refresh = await sessions.rotate(body.refresh_token, role=role, store_ids=store_ids)
    except RefreshRejected as rejected:
        if rejected.reused:
            audit.record("session.reuse_detected", actor="anonymous", outcome="revoked", request=request)
        raise unauthenticated("The refresh token is invalid, expired or already used.") from None
    if current is not None and (current.role, current.store_ids) != (session.role, session.store_ids):
        audit.record("session.scope_change", actor=f"staff:{session.staff_id}", brand_id=session.brand_id or None,
                     request=request, session=session.session_id, role=session.role,
                     previous_role=current.role)
    return _pair(request, session, refresh)


async def _live_account(clients: Clients, session: StaffSession) -> members_pb2.Staff | None:
    """The session's staff account as the members service has it now, or None when it may no longer
    sign in (deactivated, deleted, an unknown role, or moved to another brand).

    This check on every refresh, with access tokens of ``token_ttl_seconds`` (15 minutes), is the whole
    design of revocation by the directory: the gateway consumes no staff events, so a deactivated account
    keeps at most the rest of its current access token. A members outage is a 503 and spends nothing.
    """
    try:
        staff = await clients.members.GetStaff(
            members_pb2.GetStaffRequest(brand_id=session.brand_id, staff_id=session.staff_id))
    except RemoteError as err:
        if err.code == grpc.StatusCode.NOT_FOUND:
            return None
        raise problem_from_remote(err) from None
    if not staff.active or staff.role not in STAFF_ROLES or staff.brand_id != session.brand_id:
        return None
    return staff


@router.post("/logout", status_code=204, response_class=Response, responses=problem_responses(401))
async def logout(
    request: Request,
    caller: Annotated[Principal, Depends(principal)],
    audit: AuditDep,
    body: LogoutRequest | None = None,
) -> Response:
    """Revoke the bearer access token (by its `jti`) and every token of its session, at once on every
    replica."""
    sessions = _sessions(request)
    settings = request.app.state.settings
    await sessions.revoke(caller.token_id, until=caller.expires_at or time.time() + settings.token_ttl_seconds)
    session_ids = {caller.session_id}
    if body is not None and body.refresh_token:
        session_ids.add(await sessions.session_of(body.refresh_token) or "")
    for session_id in filter(None, session_ids):
        await sessions.revoke(session_id, until=time.time() + settings.refresh_ttl_seconds)
    audit.record("logout", actor=caller.actor, brand_id=caller.brand_id or None, request=request)
    return Response(status_code=204)


@router.get("/me", response_model=WhoAmI, responses=problem_responses(401, 403))
async def who_am_i(caller: Annotated[Principal, Depends(principal)]) -> WhoAmI:
    """The caller's role and scope."""
    return WhoAmI(staff_id=caller.staff_id, role=caller.role, brand_id=caller.brand_id or None,
                  store_ids=list(caller.store_ids), sees_pii=caller.sees_pii,
                  permissions=sorted(ROLE_PERMISSIONS[Role(caller.role)]))
