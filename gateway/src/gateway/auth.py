"""Tokens (HS256 JWT with key ids), the calling principal, and the rules of who may see and do what.

Three kinds of caller reach the API: staff (console, scripts) with a bearer token, POS systems with a
per-store ``X-API-Key``, and members (mini-program) with a member token that opens ``/v1/app/me`` only.
Staff and member tokens carry different audiences, so one can never pass as the other.

Scope rules: a group admin spans brands; everyone else belongs to one brand, and store managers, clerks and
POS keys to some of its stores. A caller outside a resource's brand or stores gets the same 404 as for a
resource that does not exist, never a 403, so ids of other tenants cannot be probed.
"""

from __future__ import annotations

import functools
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import Depends, Header, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from gateway.errors import FieldError, ProblemError, not_found
from gateway.settings import LEGACY_KID

ALGORITHM = "HS256"
ISSUER = "crm-gateway"
STAFF_AUDIENCE = "crm:staff"
MEMBER_AUDIENCE = "crm:member"
_STAFF_CLAIMS = ["sub", "role", "exp", "iat", "jti", "iss", "aud"]
_MEMBER_CLAIMS = ["sub", "brand_id", "exp", "iat", "jti", "iss", "aud"]
_INVALID = "The access token is invalid or expired."


class Role(StrEnum):
    """Staff roles, as the members service stores them, plus ``pos`` for a store's API key."""

    GROUP_ADMIN = "group_admin"
    BRAND_ADMIN = "brand_admin"
    STORE_MANAGER = "store_manager"
    CLERK = "clerk"
    ANALYST = "analyst"
    POS = "pos"


STAFF_ROLES = frozenset(Role) - {Role.POS}


class Permission(StrEnum):
    """What a route needs from the caller's role (scope is checked separately)."""

    BRAND_WRITE = "brand:write"
    DIRECTORY_WRITE = "directory:write"  # stores, staff and POS keys
    DIRECTORY_READ = "directory:read"
    MEMBER_READ = "member:read"
    MEMBER_WRITE = "member:write"
    MEMBER_EXPORT = "member:export"  # PIPL copies, bulk exports, erasure
    MEMBER_TRANSFER = "member:transfer"  # moving members between stores / guides in bulk
    MEMBER_IMPORT = "member:import"
    ORDER_WRITE = "order:write"  # orders and refunds
    POINTS_READ = "points:read"
    POINTS_REDEEM = "points:redeem"  # a member spends points at the counter
    # The brand's loyalty rules and the corrections outside them: the programme (tiers, earn rates), coupon
    # templates, manual points adjustments, voiding coupons, the expiring-coupons list. Brand-wide money
    # levers, so admins only: a store manager who could adjust points could mint them for a friend.
    LOYALTY_ADMIN = "loyalty:admin"
    COUPON_GRANT = "coupon:grant"
    COUPON_REDEEM = "coupon:redeem"
    CAMPAIGN_READ = "campaign:read"
    # Creating and activating campaigns. Store managers may, for their own stores: the request carries their
    # stores and the campaigns service messages only members of those stores.
    CAMPAIGN_WRITE = "campaign:write"
    # Saving a segment (a named rule) sends nothing and costs nothing, so store managers may save their own,
    # limited to their stores, as they may launch campaigns at them (`campaign:write`).
    SEGMENT_WRITE = "segment:write"
    LEAD_READ = "lead:read"
    LEAD_WRITE = "lead:write"
    REPORT_READ = "report:read"
    # Report actions that write or cost: fitting the purchase model, anomaly scans, report schedules
    # (which mail data out). Analysts read reports; these change what the brand's reports are.
    REPORT_WRITE = "report:write"


_FRONT_LINE = frozenset({
    Permission.DIRECTORY_READ,
    Permission.MEMBER_READ,
    Permission.MEMBER_WRITE,
    Permission.ORDER_WRITE,
    Permission.POINTS_READ,
    Permission.POINTS_REDEEM,
    Permission.COUPON_GRANT,
    Permission.COUPON_REDEEM,
    Permission.LEAD_READ,
    Permission.LEAD_WRITE,
})
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.GROUP_ADMIN: frozenset(Permission),
    Role.BRAND_ADMIN: frozenset(Permission) - {Permission.BRAND_WRITE},
    Role.STORE_MANAGER: _FRONT_LINE | {Permission.REPORT_READ, Permission.MEMBER_TRANSFER,
                                       Permission.CAMPAIGN_READ, Permission.SEGMENT_WRITE,
                                       Permission.CAMPAIGN_WRITE},
    Role.CLERK: _FRONT_LINE,
    # Analysts look at numbers: they may read members (phones masked) and reports, and change nothing.
    Role.ANALYST: frozenset({Permission.DIRECTORY_READ, Permission.MEMBER_READ, Permission.POINTS_READ,
                             Permission.REPORT_READ, Permission.CAMPAIGN_READ}),
    # A till: post orders and refunds, look a member up, redeem a coupon — and only on the routes below.
    Role.POS: frozenset({Permission.ORDER_WRITE, Permission.MEMBER_READ, Permission.COUPON_REDEEM}),
}
STORE_SCOPED_ROLES = frozenset({Role.STORE_MANAGER, Role.CLERK, Role.POS})
PII_ROLES = frozenset({Role.GROUP_ADMIN, Role.BRAND_ADMIN, Role.STORE_MANAGER})

_PARAM = re.compile(r"\{[^}]*\}")


@functools.lru_cache(maxsize=1024)
def route_shape(method: str, path: str) -> str:
    """``POST /v1/brands/{brand_id}/orders`` → ``POST /v1/brands/{}/orders`` (parameter names vary).

    Cached: ``path`` is a route template (a few hundred at most), asked for on every POS request."""
    return f"{method.upper()} {_PARAM.sub('{}', path)}"


POS_ROUTES = frozenset({
    route_shape("POST", "/v1/brands/{b}/orders"),
    route_shape("POST", "/v1/brands/{b}/orders/{external_id}/refunds"),
    route_shape("GET", "/v1/brands/{b}/members"),  # member lookup by phone
    route_shape("POST", "/v1/brands/{b}/coupons/{code}/redemptions"),
})
"""The only routes a POS API key opens; any other answers 403 whatever the key's permissions."""


@dataclass(frozen=True)
class Principal:
    """The authenticated staff member (or POS key) behind a request, as the token or key says."""

    staff_id: str
    role: Role
    brand_id: str
    store_ids: tuple[str, ...]
    token_id: str
    session_id: str = ""
    expires_at: float = 0.0

    @property
    def store_scoped(self) -> bool:
        """Sees only the members, orders and leads of ``store_ids``."""
        return self.role in STORE_SCOPED_ROLES

    @property
    def sees_pii(self) -> bool:
        """Sees members' phone numbers unmasked."""
        return self.role in PII_ROLES

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"pos:{self.token_id}" if self.role is Role.POS else f"staff:{self.staff_id}"

    def may(self, permission: Permission) -> bool:
        """Whether the role allows ``permission``."""
        return permission in ROLE_PERMISSIONS[self.role]


@dataclass(frozen=True)
class MemberPrincipal:
    """A member signed in through the mini-program: sees only their own records."""

    member_id: str
    brand_id: str
    token_id: str

    @property
    def actor(self) -> str:
        return f"member:{self.member_id}"


_VERIFIED_CACHE_SIZE = 10_000  # distinct live staff tokens remembered per gateway replica


class TokenIssuer:
    """Signs with the active key and verifies with any configured key, chosen by the token's ``kid``.

    Rotation without downtime: deploy with the new key added (verification only), then make it active,
    then drop the old one once tokens signed with it have expired.
    """

    def __init__(self, keys: str | Mapping[str, str], ttl_seconds: int, *, active_kid: str | None = None,
                 member_ttl_seconds: int = 7200) -> None:
        self._keys = {LEGACY_KID: keys} if isinstance(keys, str) else dict(keys)
        self.active_kid = active_kid or next(iter(self._keys))
        if self.active_kid not in self._keys:
            raise ValueError(f"active kid {self.active_kid!r} has no key")
        self.ttl_seconds = ttl_seconds
        self.member_ttl_seconds = member_ttl_seconds
        # Staff tokens verified before, until they expire: a token's signature and claims never change and the
        # keys are fixed for this issuer's life, so a repeat costs a dict lookup instead of two JWT decodes.
        # Revocation is checked on every request, apart from this.
        self._verified: dict[str, Principal] = {}

    def _sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._keys[self.active_kid], algorithm=ALGORITHM,
                          headers={"kid": self.active_kid})

    def issue(self, *, staff_id: str, role: str, brand_id: str, store_ids: Iterable[str],
              session_id: str = "") -> str:
        """A signed staff access token, valid for ``ttl_seconds``."""
        now = int(time.time())
        return self._sign({
            "iss": ISSUER, "aud": STAFF_AUDIENCE, "sub": staff_id, "role": role, "brand_id": brand_id,
            "store_ids": list(store_ids), "sid": session_id, "iat": now, "exp": now + self.ttl_seconds,
            "jti": uuid.uuid4().hex,
        })

    def issue_member(self, *, member_id: str, brand_id: str) -> str:
        """A member token for ``/v1/app/me``, valid for ``member_ttl_seconds``."""
        now = int(time.time())
        return self._sign({
            "iss": ISSUER, "aud": MEMBER_AUDIENCE, "sub": member_id, "brand_id": brand_id, "iat": now,
            "exp": now + self.member_ttl_seconds, "jti": uuid.uuid4().hex,
        })

    def _decode(self, token: str, audience: str, required: list[str]) -> dict[str, Any]:
        try:
            kid = jwt.get_unverified_header(token).get("kid") or LEGACY_KID
            key = self._keys.get(kid) if isinstance(kid, str) else None
            if key is None:
                raise unauthenticated(_INVALID)
            # `algorithms` pins HS256: a token saying alg=none (or RS256 with our secret as "public key")
            # is rejected before its signature is even looked at.
            claims: dict[str, Any] = jwt.decode(token, key, algorithms=[ALGORITHM], audience=audience,
                                                issuer=ISSUER, options={"require": required})
        except jwt.PyJWTError as exc:
            raise unauthenticated(_INVALID) from exc
        return claims

    def audience_of(self, token: str) -> str | None:
        """The audience a token claims (unverified: only to pick which verification to run)."""
        try:
            aud = jwt.decode(token, options={"verify_signature": False}).get("aud")
        except jwt.PyJWTError:
            return None
        return aud if isinstance(aud, str) else None

    def verified_before(self, token: str) -> Principal | None:
        """The principal of a staff token this issuer verified before and that has not expired yet."""
        known = self._verified.get(token)
        if known is None:
            return None
        if known.expires_at <= time.time():
            self._verified.pop(token, None)
            return None
        return known

    def verify(self, token: str) -> Principal:
        """The principal of a valid staff token; a 401 problem for anything else (signature, alg, expiry...)."""
        known = self.verified_before(token)
        if known is not None:
            return known
        caller = self._verify(token)
        if len(self._verified) >= _VERIFIED_CACHE_SIZE:
            self._verified.pop(next(iter(self._verified)))  # the oldest entry
        self._verified[token] = caller
        return caller

    def _verify(self, token: str) -> Principal:
        claims = self._decode(token, STAFF_AUDIENCE, _STAFF_CLAIMS)
        try:
            role = Role(claims["role"])
        except ValueError as exc:
            raise unauthenticated(_INVALID) from exc
        brand_id = claims.get("brand_id") or ""
        store_ids = claims.get("store_ids") or []
        if (role not in STAFF_ROLES or not isinstance(brand_id, str) or not isinstance(store_ids, list)
                or (role is not Role.GROUP_ADMIN and not brand_id)):
            raise unauthenticated(_INVALID)
        return Principal(
            staff_id=str(claims["sub"]), role=role, brand_id=brand_id,
            store_ids=tuple(str(s) for s in store_ids), token_id=str(claims["jti"]),
            session_id=str(claims.get("sid") or ""), expires_at=float(claims["exp"]),
        )

    def verify_member(self, token: str) -> MemberPrincipal:
        """The member of a valid member token; a 401 problem otherwise."""
        claims = self._decode(token, MEMBER_AUDIENCE, _MEMBER_CLAIMS)
        if not isinstance(claims["brand_id"], str) or not claims["brand_id"]:
            raise unauthenticated(_INVALID)
        return MemberPrincipal(member_id=str(claims["sub"]), brand_id=claims["brand_id"],
                               token_id=str(claims["jti"]))


def unauthenticated(detail: str) -> ProblemError:
    """A 401 that tells the client how to authenticate."""
    return ProblemError(401, detail, reason="UNAUTHENTICATED", headers={"WWW-Authenticate": "Bearer"})


def forbidden(detail: str = "Your role does not allow this action.") -> ProblemError:
    """A 403: the caller is known and in scope, but may not do this."""
    return ProblemError(403, detail, reason="PERMISSION_DENIED")


_bearer = HTTPBearer(auto_error=False, description="A staff token from POST /v1/auth/token")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False,
                        description="A store's POS key (orders, refunds, member lookup, coupon redemption)")
_member_bearer = HTTPBearer(auto_error=False, scheme_name="MemberBearer",
                            description="A member token from POST /v1/app/brands/{brand_id}/session")


BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
"""The ``Authorization: Bearer`` credentials, if any (documents the staff scheme on the route)."""
ApiKeyHeader = Annotated[str | None, Depends(_api_key)]
"""The ``X-API-Key`` header, if any (documents the POS scheme on the route)."""


async def principal(request: Request, credentials: BearerCredentials, api_key: ApiKeyHeader) -> Principal:
    """FastAPI dependency: the staff caller (``Authorization: Bearer``) or POS key (``X-API-Key``),
    rate limited per principal."""
    return await authenticate(request, credentials, api_key)


async def authenticate(
    request: Request, credentials: HTTPAuthorizationCredentials | None, api_key: str | None
) -> Principal:
    """What ``principal`` does, callable from a route's own dependency (see ``brand_caller``)."""
    state = request.app.state
    if api_key:
        caller = await _pos_principal(request, api_key)
        state.key_limiter.check(f"pos:{caller.token_id}")
    elif credentials is not None and credentials.scheme.lower() == "bearer" and credentials.credentials:
        issuer: TokenIssuer = state.tokens
        token = credentials.credentials
        caller = issuer.verified_before(token)
        if caller is None:
            if issuer.audience_of(token) == MEMBER_AUDIENCE:
                issuer.verify_member(token)  # a forged "member" token is a 401, a real one a 403
                raise forbidden("A member token opens /v1/app/me only.")
            caller = issuer.verify(token)
        if await state.sessions.is_revoked(caller.token_id, caller.session_id):
            raise unauthenticated("The access token has been revoked.")
        state.limiter.check(f"staff:{caller.staff_id}")
    else:
        raise unauthenticated("An Authorization: Bearer token is required.")
    request.state.principal = caller
    return caller


async def _pos_principal(request: Request, secret: str) -> Principal:
    key = await request.app.state.api_keys.authenticate(secret)
    if key is None:
        raise ProblemError(401, "The API key is invalid or revoked.", reason="UNAUTHENTICATED",
                           headers={"WWW-Authenticate": "ApiKey"})
    route = request.scope.get("route")
    if route is None or route_shape(request.method, getattr(route, "path", "")) not in POS_ROUTES:
        raise forbidden("A POS API key opens orders, refunds, member lookup and coupon redemption only.")
    return Principal(staff_id="", role=Role.POS, brand_id=key.brand_id, store_ids=(key.store_id,),
                     token_id=key.id)


async def member_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_member_bearer)],
) -> MemberPrincipal:
    """FastAPI dependency for ``/v1/app/me``: the signed-in member (a staff token here is a 403)."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise unauthenticated("An Authorization: Bearer member token is required.")
    issuer: TokenIssuer = request.app.state.tokens
    if issuer.audience_of(credentials.credentials) == STAFF_AUDIENCE:
        issuer.verify(credentials.credentials)
        raise forbidden("/v1/app/me is for members; staff use the brand routes.")
    member = issuer.verify_member(credentials.credentials)
    request.app.state.limiter.check(f"member:{member.brand_id}:{member.member_id}")
    request.state.principal = member  # the audit helpers name the caller from here
    return member


def require_brand(caller: Principal, brand_id: str) -> None:
    """Only a group admin crosses brands; anyone else asking about another brand gets a 404."""
    if caller.role is Role.GROUP_ADMIN:
        return
    if caller.brand_id != brand_id:
        raise not_found("brand")


def require_permission(caller: Principal, permission: Permission) -> None:
    """A 403 when the caller's role may not do this (scope has already been checked: no existence leak)."""
    if not caller.may(permission):
        raise forbidden()


def require_store(caller: Principal, store_id: str | None, resource: str) -> None:
    """Store managers, clerks and POS keys see only records of their stores; others a 404 ``resource``."""
    if caller.store_scoped and (not store_id or store_id not in caller.store_ids):
        raise not_found(resource)


def brand_access(permission: Permission) -> Callable[..., Any]:
    """Dependency factory: the caller, checked against the path's ``brand_id`` and ``permission``."""

    # async although it does no I/O: FastAPI runs a sync dependency in its threadpool, a thread hop per request.
    async def dependency(brand_id: str, caller: Annotated[Principal, Depends(principal)]) -> Principal:
        require_brand(caller, brand_id)
        require_permission(caller, permission)
        return caller

    return dependency


async def brand_caller(request: Request, brand_id: str, permission: Permission) -> Principal:
    """``brand_access(permission)`` called by the route itself rather than as four dependency nodes, whose
    FastAPI bookkeeping (cache keys, scopes, parameter passes) cost the till's lookup more than the checks. The
    headers are read by the same security objects; document them with ``openapi_extra=CALLER_SECURITY``."""
    caller = await authenticate(request, await _bearer(request), await _api_key(request))
    require_brand(caller, brand_id)
    require_permission(caller, permission)
    return caller


CALLER_SECURITY: dict[str, Any] = {"security": [{_bearer.scheme_name: []}, {_api_key.scheme_name: []}]}
"""The ``openapi_extra`` of a route calling ``brand_caller``: the security FastAPI writes for ``principal``."""


def group_access(permission: Permission) -> Callable[..., Any]:
    """Dependency factory for routes outside any brand (creating a brand)."""

    async def dependency(caller: Annotated[Principal, Depends(principal)]) -> Principal:  # async: see above
        require_permission(caller, permission)
        return caller

    return dependency


_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,128}")


async def idempotency_key(
    key: Annotated[str | None, Header(
        alias="Idempotency-Key", description="Client-chosen key (1–128 visible ASCII characters); a repeat "
        "with the same key returns the first result", examples=["3f1c9a4e-5b7d-4c1e-9a0b-2d6f8e1c7a55"],
    )] = None,
) -> str | None:
    """FastAPI dependency: the validated ``Idempotency-Key`` header, or None. Forward it in the RPC's
    ``idempotency_key`` field (or as gRPC metadata `idempotency_metadata`)."""
    if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
        raise ProblemError(422, "The request is invalid.", reason="INVALID_ARGUMENT",
                           errors=[FieldError(field="Idempotency-Key", message="1–128 visible ASCII characters")])
    return key


async def required_idempotency_key(key: Annotated[str | None, Depends(idempotency_key)]) -> str:
    """FastAPI dependency for money-like POSTs: the header is mandatory (422 naming it when missing)."""
    if key is None:
        raise ProblemError(422, "The request is invalid.", reason="INVALID_ARGUMENT",
                           errors=[FieldError(field="Idempotency-Key", message="required on this request")])
    return key


def idempotency_metadata(key: str | None) -> tuple[tuple[str, str], ...]:
    """gRPC metadata carrying the key, for services that read it from metadata rather than the message."""
    return (("idempotency-key", key),) if key else ()
