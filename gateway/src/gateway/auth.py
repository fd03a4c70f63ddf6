"""Staff tokens (HS256 JWT), the calling principal, and the rules of who may see and do what.

Scope rules: a group admin spans brands; everyone else belongs to one brand, and store managers and clerks
to some of its stores. A caller outside a resource's brand or stores gets the same 404 as for a resource
that does not exist, never a 403, so ids of other tenants cannot be probed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.errors import ProblemError, not_found

ALGORITHM = "HS256"
ISSUER = "crm-gateway"
# Staff tokens only; member (mini-program) tokens will carry another audience, so one can never pass as
# the other even though both are signed by the gateway.
STAFF_AUDIENCE = "crm:staff"
_REQUIRED_CLAIMS = ["sub", "role", "exp", "iat", "jti", "iss", "aud"]


class Role(StrEnum):
    """Staff roles, as the members service stores them."""

    GROUP_ADMIN = "group_admin"
    BRAND_ADMIN = "brand_admin"
    STORE_MANAGER = "store_manager"
    CLERK = "clerk"
    ANALYST = "analyst"


class Permission(StrEnum):
    """What a route needs from the caller's role (scope is checked separately)."""

    BRAND_WRITE = "brand:write"
    DIRECTORY_WRITE = "directory:write"  # stores and staff
    MEMBER_READ = "member:read"
    MEMBER_WRITE = "member:write"
    ORDER_WRITE = "order:write"
    POINTS_READ = "points:read"
    LEAD_READ = "lead:read"
    LEAD_WRITE = "lead:write"
    REPORT_READ = "report:read"


_FRONT_LINE = frozenset(
    {
        Permission.MEMBER_READ,
        Permission.MEMBER_WRITE,
        Permission.ORDER_WRITE,
        Permission.POINTS_READ,
        Permission.LEAD_READ,
        Permission.LEAD_WRITE,
    }
)
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.GROUP_ADMIN: frozenset(Permission),
    Role.BRAND_ADMIN: frozenset(Permission) - {Permission.BRAND_WRITE},
    Role.STORE_MANAGER: _FRONT_LINE | {Permission.REPORT_READ},
    Role.CLERK: _FRONT_LINE,
    # Analysts look at numbers: they may read members (phones masked) and reports, and change nothing.
    Role.ANALYST: frozenset({Permission.MEMBER_READ, Permission.POINTS_READ, Permission.REPORT_READ}),
}
STORE_SCOPED_ROLES = frozenset({Role.STORE_MANAGER, Role.CLERK})
PII_ROLES = frozenset({Role.GROUP_ADMIN, Role.BRAND_ADMIN, Role.STORE_MANAGER})


@dataclass(frozen=True)
class Principal:
    """The authenticated staff member behind a request, as the token says."""

    staff_id: str
    role: Role
    brand_id: str
    store_ids: tuple[str, ...]
    token_id: str

    @property
    def store_scoped(self) -> bool:
        """Sees only the members, orders and leads of ``store_ids``."""
        return self.role in STORE_SCOPED_ROLES

    @property
    def sees_pii(self) -> bool:
        """Sees members' phone numbers unmasked."""
        return self.role in PII_ROLES

    def may(self, permission: Permission) -> bool:
        """Whether the role allows ``permission``."""
        return permission in ROLE_PERMISSIONS[self.role]


class TokenIssuer:
    """Signs and verifies staff tokens with one secret and a pinned algorithm."""

    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._secret = secret
        self.ttl_seconds = ttl_seconds

    def issue(self, *, staff_id: str, role: str, brand_id: str, store_ids: Iterable[str]) -> str:
        """A signed token for one staff member, valid for ``ttl_seconds``."""
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": STAFF_AUDIENCE,
            "sub": staff_id,
            "role": role,
            "brand_id": brand_id,
            "store_ids": list(store_ids),
            "iat": now,
            "exp": now + self.ttl_seconds,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; a 401 problem for anything else (bad signature, alg, expiry...)."""
        try:
            # `algorithms` pins HS256: a token saying alg=none (or RS256 with our secret as "public key")
            # is rejected before its signature is even looked at.
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=STAFF_AUDIENCE,
                issuer=ISSUER,
                options={"require": _REQUIRED_CLAIMS},
            )
            role = Role(claims["role"])
        except (jwt.PyJWTError, ValueError) as exc:
            raise unauthenticated("The access token is invalid or expired.") from exc
        brand_id = claims.get("brand_id") or ""
        store_ids = claims.get("store_ids") or []
        if not isinstance(brand_id, str) or not isinstance(store_ids, list):
            raise unauthenticated("The access token is invalid or expired.")
        if role is not Role.GROUP_ADMIN and not brand_id:
            raise unauthenticated("The access token is invalid or expired.")
        return Principal(
            staff_id=str(claims["sub"]),
            role=role,
            brand_id=brand_id,
            store_ids=tuple(str(s) for s in store_ids),
            token_id=str(claims["jti"]),
        )


def unauthenticated(detail: str) -> ProblemError:
    """A 401 that tells the client how to authenticate."""
    return ProblemError(401, detail, reason="UNAUTHENTICATED", headers={"WWW-Authenticate": "Bearer"})


_bearer = HTTPBearer(auto_error=False, description="A staff token from POST /v1/auth/token")


def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """FastAPI dependency: the caller, from ``Authorization: Bearer <token>``."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise unauthenticated("An Authorization: Bearer token is required.")
    issuer: TokenIssuer = request.app.state.tokens
    return issuer.verify(credentials.credentials)


def require_brand(caller: Principal, brand_id: str) -> None:
    """Only a group admin crosses brands; anyone else asking about another brand gets a 404."""
    if caller.role is Role.GROUP_ADMIN:
        return
    if caller.brand_id != brand_id:
        raise not_found("brand")


def require_permission(caller: Principal, permission: Permission) -> None:
    """A 403 when the caller's role may not do this (scope has already been checked: no existence leak)."""
    if not caller.may(permission):
        raise ProblemError(403, "Your role does not allow this action.", reason="PERMISSION_DENIED")


def require_store(caller: Principal, store_id: str | None, resource: str) -> None:
    """Store managers and clerks see only records of their stores; others a 404 ``resource``."""
    if caller.store_scoped and (not store_id or store_id not in caller.store_ids):
        raise not_found(resource)


def brand_access(permission: Permission) -> Callable[..., Principal]:
    """Dependency factory: the caller, checked against the path's ``brand_id`` and ``permission``."""

    def dependency(brand_id: str, caller: Annotated[Principal, Depends(principal)]) -> Principal:
        require_brand(caller, brand_id)
        require_permission(caller, permission)
        return caller

    return dependency


def group_access(permission: Permission) -> Callable[..., Principal]:
    """Dependency factory for routes outside any brand (creating a brand)."""

    def dependency(caller: Annotated[Principal, Depends(principal)]) -> Principal:
        require_permission(caller, permission)
        return caller

    return dependency
