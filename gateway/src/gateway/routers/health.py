"""Liveness, readiness (every backend SERVING) and Prometheus metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from grpc_health.v1 import health_pb2
from grpc_health.v1.health_pb2_grpc import HealthStub
from pydantic import BaseModel, Field

from crm_common.errors import RemoteError
from gateway import metrics
from gateway.errors import ProblemError, problem_responses
from gateway.routers import ClientsDep

router = APIRouter(tags=["health"])


class Healthy(BaseModel):
    """The process is up."""

    status: str = Field(examples=["ok"])


class Ready(BaseModel):
    """Every backend service reports SERVING."""

    status: str = Field(examples=["ready"])
    services: dict[str, str] = Field(examples=[{"members": "SERVING", "loyalty": "SERVING"}])


@router.get("/healthz", response_model=Healthy)
async def healthz() -> Healthy:
    """200 while the gateway process is up (no backend is asked: that is /readyz)."""
    return Healthy(status="ok")


async def _status(stub: HealthStub, deadline: float) -> str:
    try:
        # "" is the server's overall health, which the shared server bootstrap flips to SERVING only once
        # the service's database and NATS are connected.
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=deadline)
    except RemoteError as err:
        return err.code.name  # UNAVAILABLE (down), DEADLINE_EXCEEDED (hung), ...
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


@router.get("/readyz", response_model=Ready, responses=problem_responses(503))
async def readyz(request: Request, clients: ClientsDep) -> Ready:
    """200 only when all five services report SERVING; otherwise 503 naming those that do not."""
    timeout = request.app.state.settings.readiness_timeout_seconds
    names = list(clients.health)
    results = await asyncio.gather(*(_status(clients.health[n], timeout) for n in names))
    services = dict(zip(names, results, strict=True))
    down = sorted(n for n, s in services.items() if s != "SERVING")
    if down:
        raise ProblemError(
            503, f"not serving: {', '.join(down)}", reason="NOT_READY", extra={"services": services}
        )
    return Ready(status="ready", services=services)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def prometheus_metrics() -> Response:
    """Prometheus text format: RED metrics per route plus the process and gRPC client metrics."""
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)
