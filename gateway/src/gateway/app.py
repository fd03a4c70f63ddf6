"""The composition root of the gateway: ``create_app(settings)`` wires clients, auth, errors and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from gateway import errors
from gateway.auth import TokenIssuer
from gateway.clients import Clients
from gateway.metrics import REDMiddleware
from gateway.routers import directory, health, leads, loyalty, members, reports, tokens
from gateway.settings import GatewaySettings

DESCRIPTION = """\
The public REST API of the retail CRM. Money is integer fen (`*_fen`), times are RFC 3339, ids are opaque
strings. Errors are `application/problem+json` (RFC 9457); `type` ends with a stable reason
(e.g. `…/duplicate-phone`). Authenticate with `POST /v1/auth/token`, then `Authorization: Bearer <token>`.
"""


def create_app(settings: GatewaySettings, clients: Clients | None = None) -> FastAPI:
    """The gateway app. ``clients`` lets a caller (tests) own the gRPC channels; by default the app's
    lifespan opens them at start-up and closes them at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Channels connect lazily, so start-up does not wait for (or fail on) a backend that is still
        # starting; /readyz is where their state shows.
        owned = clients is None
        app.state.clients = Clients.open(settings) if owned else clients
        try:
            yield
        finally:
            if owned:
                await app.state.clients.close()

    app = FastAPI(
        title="Retail CRM gateway",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.tokens = TokenIssuer(settings.jwt_secret, settings.token_ttl_seconds)
    errors.install(app)
    app.add_middleware(REDMiddleware)
    for router in (health, tokens, directory, members, loyalty, leads, reports):
        app.include_router(router.router)
    # Probes and scrapes would drown the real traces.
    FastAPIInstrumentor.instrument_app(app, excluded_urls="/healthz,/readyz,/metrics")
    return app
