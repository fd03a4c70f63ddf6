"""Gateway settings: the shared ``ServiceSettings`` plus the HTTP listener and token signing."""

from __future__ import annotations

from pydantic import Field

from crm_common.settings import DEV_SECRET_MARKER, ServiceSettings

# Long enough for HS256 (RFC 7518 §3.2 wants a key at least as long as the hash) and carrying the dev
# marker, so `require_real_secret` refuses it in production.
DEV_JWT_SECRET = f"{DEV_SECRET_MARKER}-jwt-secret-change-me-0123456789abcdef"


class GatewaySettings(ServiceSettings):
    """Everything the gateway reads from ``CRM_*`` variables."""

    service_name: str = "gateway"
    gateway_host: str = "127.0.0.1"
    gateway_port: int = Field(default=8080, ge=0, le=65535)
    jwt_secret: str = Field(
        default=DEV_JWT_SECRET,
        min_length=32,
        description="HS256 signing key of staff tokens; the default is refused in production",
    )
    token_ttl_seconds: int = Field(default=3600, gt=0, le=7 * 24 * 3600)
    readiness_timeout_seconds: float = Field(
        default=1.0, gt=0, description="Deadline of each backend health check behind /readyz"
    )
