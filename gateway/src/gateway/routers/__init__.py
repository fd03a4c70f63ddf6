"""REST routers, one per area of API.md; each translates to one service's gRPC and back."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gateway.clients import Clients


async def get_clients(request: Request) -> Clients:
    """The process-wide gRPC stubs opened by the app's lifespan (async: FastAPI runs a sync dependency in its
    threadpool, a thread hop per request)."""
    clients: Clients = request.app.state.clients
    return clients


ClientsDep = Annotated[Clients, Depends(get_clients)]
