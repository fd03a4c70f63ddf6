"""The composition root of the gateway: ``create_app(settings)`` wires clients, auth, errors and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import nats
from fastapi import FastAPI
from opentelemetry.trace import TracerProvider

from gateway import errors
from gateway.audit import AuditLog
from gateway.auth import TokenIssuer
from gateway.clients import Clients
from gateway.kv import MemoryKV, NatsKV
from gateway.limits import BodyLimitMiddleware, RateLimiter
from gateway.routers import (
    api_keys,
    app_member,
    campaigns,
    console,
    directory,
    health,
    leads,
    loyalty,
    members,
    reports,
    tokens,
)
from gateway.sessions import ApiKeyStore, SessionStore
from gateway.settings import GatewaySettings
from gateway.tracing import RequestTelemetry
from gateway.wechat import GrpcMemberDirectory, MemberDirectory, WeChatClient

DESCRIPTION = """\
The public REST API of the retail CRM. Money is integer fen (`*_fen`), times are RFC 3339, ids are opaque
strings. Errors are `application/problem+json` (RFC 9457); `type` ends with a stable reason
(e.g. `…/duplicate-phone`).

**Staff** authenticate with `POST /v1/auth/token` (→ a 15-minute access token and a single-use refresh
token for `POST /v1/auth/refresh`), then send `Authorization: Bearer <token>`. **POS systems** send a
store's key as `X-API-Key` (orders, refunds, member lookup, coupon redemption only). **Members** sign in
through the mini-program with `POST /v1/app/brands/{brand_id}/session` and use `/v1/app/me...` only.
A caller outside a resource's brand or store gets 404. Requests are rate limited per caller (429 with
`Retry-After`); bodies over 1 MiB get 413.
"""

ROUTERS = (members, loyalty, app_member, tokens, directory, leads, campaigns, reports, api_keys, health, console)
"""Every router of the API; add new areas here. A request is matched against them in this order, so the busiest
(the tills' and the mini-program's) come first; their paths do not overlap, so the order changes nothing else."""


def create_app(
    settings: GatewaySettings,
    clients: Clients | None = None,
    *,
    member_directory: MemberDirectory | None = None,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    """The gateway app. ``clients`` lets a caller (tests) own the gRPC channels; by default the app's
    lifespan opens them at start-up and closes them at shutdown. ``member_directory`` replaces the
    members-service adapter of mini-program sign-in (tests). Request spans go to ``tracer_provider``, by default
    the process's (``crm_common.telemetry``)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Channels connect lazily, so start-up does not wait for (or fail on) a backend that is still
        # starting; /readyz is where their state shows.
        owned = clients is None
        app.state.clients = Clients.open(settings) if owned else clients
        if member_directory is None:
            app.state.member_directory = GrpcMemberDirectory(app.state.clients)
        nc = None
        if settings.uses_nats_store:
            # Shared state must be shared: without NATS a second replica would honour a revoked token,
            # so the gateway refuses to start rather than silently fall back to memory.
            nc = await nats.connect(settings.nats_url, name="gateway", max_reconnect_attempts=-1,
                                    reconnect_time_wait=0.5, connect_timeout=5)
            js = nc.jetstream()
            app.state.sessions = _sessions(settings, await NatsKV.open(
                js, settings.session_bucket, ttl_seconds=float(settings.refresh_ttl_seconds)))
            app.state.api_keys = ApiKeyStore(await NatsKV.open(js, settings.api_key_bucket, ttl_seconds=None))
            app.state.audit = await AuditLog.with_jetstream(js)
        try:
            yield
        finally:
            await app.state.audit.drain()
            await app.state.wechat.close()
            if nc is not None:
                await nc.drain()
            if owned:
                await app.state.clients.close()

    app = FastAPI(
        title="Retail CRM gateway",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # Request spans and RED metrics come from RequestTelemetry (see gateway.tracing).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.tokens = TokenIssuer(settings.verification_keys, settings.token_ttl_seconds,
                                   active_kid=settings.active_kid,
                                   member_ttl_seconds=settings.member_token_ttl_seconds)
    # In-memory state until the lifespan binds the shared store (and for good when session_store=memory).
    app.state.sessions = _sessions(settings, MemoryKV())
    app.state.api_keys = ApiKeyStore(MemoryKV())
    app.state.audit = AuditLog()
    app.state.limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
    app.state.key_limiter = RateLimiter(settings.api_key_rate_limit_per_minute, settings.rate_limit_burst)
    app.state.login_limiter = RateLimiter(settings.login_rate_limit_per_minute, 10)
    app.state.wechat = WeChatClient(settings.wechat_base_url, timeout=settings.wechat_timeout_seconds)
    if member_directory is not None:
        app.state.member_directory = member_directory
    errors.install(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes,
                       max_upload_bytes=settings.max_upload_bytes)
    app.add_middleware(RequestTelemetry, tracer_provider=tracer_provider)
    for router in ROUTERS:
        app.include_router(router.router)
    console.mount(app)
    return app


def _sessions(settings: GatewaySettings, kv: MemoryKV | NatsKV) -> SessionStore:
    return SessionStore(kv, lockout_max_failures=settings.lockout_max_failures,
                        lockout_window_seconds=settings.lockout_window_seconds)
