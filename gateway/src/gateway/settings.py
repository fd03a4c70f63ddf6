"""Gateway settings: the shared ``ServiceSettings`` plus the HTTP listener, token signing and limits."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from crm_common.settings import DEV_SECRET_MARKER, ServiceSettings

# Long enough for HS256 (RFC 7518 §3.2 wants a key at least as long as the hash) and carrying the dev
# marker, so `require_real_secret` refuses it in production.
DEV_JWT_SECRET = f"{DEV_SECRET_MARKER}-jwt-secret-change-me-0123456789abcdef"
LEGACY_KID = "k0"
"""The key id given to ``CRM_JWT_SECRET`` when no ``CRM_JWT_KEYS`` are set."""


class WeChatApp(BaseModel):
    """One brand's mini-program credentials (from the WeChat admin console)."""

    appid: str = Field(min_length=1)
    secret: str = Field(min_length=1)


class GatewaySettings(ServiceSettings):
    """Everything the gateway reads from ``CRM_*`` variables."""

    service_name: str = "gateway"
    gateway_host: str = "127.0.0.1"
    gateway_port: int = Field(default=8080, ge=0, le=65535)

    # --- token signing -----------------------------------------------------------------------------------
    jwt_secret: str = Field(
        default=DEV_JWT_SECRET,
        min_length=32,
        description="HS256 signing key (kid `k0`) used when CRM_JWT_KEYS is empty; refused in production "
        "when it is the dev default",
    )
    jwt_keys: dict[str, str] = Field(
        default_factory=dict,
        description='All verification keys by key id, JSON: {"k1": "...", "k2": "..."}. Rotation without '
        "downtime: add the new key, deploy; switch CRM_JWT_ACTIVE_KID, deploy; remove the old key once "
        "its longest-lived token (the refresh TTL) has passed",
    )
    jwt_active_kid: str = Field(default=LEGACY_KID, description="The key id new tokens are signed with")
    token_ttl_seconds: int = Field(default=900, gt=0, le=24 * 3600, description="Staff access token lifetime")
    refresh_ttl_seconds: int = Field(default=14 * 24 * 3600, gt=0, description="Refresh token lifetime")
    member_token_ttl_seconds: int = Field(default=2 * 3600, gt=0, le=7 * 24 * 3600)

    # --- shared state (refresh tokens, revocations, lockouts, API keys) -----------------------------------
    session_store: Literal["auto", "memory", "nats"] = Field(
        default="auto",
        description="Where refresh/revocation/lockout state and POS key hashes live. `nats` (JetStream KV) "
        "is shared by every replica; `memory` is per process (tests). `auto`: memory when CRM_ENV=test",
    )
    session_bucket: str = "gateway_sessions"
    api_key_bucket: str = "gateway_api_keys"
    lockout_max_failures: int = Field(default=5, ge=1, description="Failed logins per username per window")
    lockout_window_seconds: int = Field(default=900, gt=0)

    # --- request limits ------------------------------------------------------------------------------------
    rate_limit_per_minute: int = Field(default=600, ge=1, description="Requests per principal per minute")
    rate_limit_burst: int = Field(default=120, ge=1, description="Requests a principal may send at once")
    api_key_rate_limit_per_minute: int = Field(default=300, ge=1, description="Requests per POS key per minute")
    login_rate_limit_per_minute: int = Field(default=30, ge=1, description="Login attempts per client address")
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="Largest JSON body")
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, description="Largest multipart upload")

    # --- mini-program --------------------------------------------------------------------------------------
    wechat_base_url: str = Field(default="https://api.weixin.qq.com", description="code2session endpoint base")
    wechat_apps: dict[str, WeChatApp] = Field(
        default_factory=dict,
        description='Mini-program credentials by brand id, JSON: {"<brand_id>": {"appid": ..., "secret": ...}}',
    )
    wechat_timeout_seconds: float = Field(default=5.0, gt=0)

    readiness_timeout_seconds: float = Field(
        default=1.0, gt=0, description="Deadline of each backend health check behind /readyz"
    )

    @model_validator(mode="after")
    def _active_key_known(self) -> GatewaySettings:
        if self.active_kid not in self.verification_keys:
            raise ValueError(f"jwt_active_kid {self.jwt_active_kid!r} is not one of jwt_keys")
        short = [kid for kid, key in self.verification_keys.items() if len(key) < 32]
        if short:
            raise ValueError(f"jwt_keys shorter than 32 characters: {', '.join(short)}")
        return self

    @property
    def verification_keys(self) -> dict[str, str]:
        """Every key a token may be signed with, by kid."""
        return dict(self.jwt_keys) if self.jwt_keys else {LEGACY_KID: self.jwt_secret}

    @property
    def active_kid(self) -> str:
        """The kid new tokens are signed with."""
        return self.jwt_active_kid if self.jwt_keys else LEGACY_KID

    @property
    def uses_nats_store(self) -> bool:
        """Whether shared state lives in JetStream KV (every replica sees it)."""
        return self.session_store == "nats" or (self.session_store == "auto" and self.env != "test")
