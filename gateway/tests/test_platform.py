"""Health, readiness, metrics, docs, and problem+json for requests that match no route."""

from __future__ import annotations

import inspect

from fastapi.routing import APIRoute

from gateway.app import ROUTERS


async def test_healthz(client):
    r = await client.get("/healthz")

    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_readyz_is_200_when_every_service_serves(client):
    r = await client.get("/readyz")

    assert r.status_code == 200
    assert r.json()["status"] == "ready"
    assert set(r.json()["services"]) == {"members", "loyalty", "campaigns", "leads", "reporting"}


async def test_readyz_is_503_naming_a_stopped_backend(client, backends):
    await backends.stop("loyalty")

    r = await client.get("/readyz")

    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert "loyalty" in problem["detail"]
    assert problem["services"]["loyalty"] != "SERVING"
    assert problem["services"]["members"] == "SERVING"


async def test_request_to_a_stopped_backend_is_503(client, backends, as_role):
    await backends.stop("members")

    r = await client.get("/v1/brands/brand-a/members/m-a1", headers=as_role("brand_admin"))

    assert r.status_code == 503
    assert r.json()["type"] == "https://crm.example/problems/unavailable"


async def test_unknown_route_is_a_404_problem(client):
    r = await client.get("/v1/nothing-here")

    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "https://crm.example/problems/not-found"


async def test_wrong_method_is_a_405_problem_with_allow(client):
    r = await client.delete("/v1/auth/token")

    assert r.status_code == 405
    assert r.headers["content-type"] == "application/problem+json"
    assert "POST" in r.headers["allow"]


async def test_malformed_json_is_a_422_problem_naming_the_body(client):
    json_header = {"content-type": "application/json"}

    r = await client.post("/v1/auth/token", content=b"{not json", headers=json_header)

    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body"


async def test_metrics_label_requests_by_route_template(client, as_role):
    await client.get("/v1/brands/brand-a/members/m-a1", headers=as_role("brand_admin"))
    await client.get("/no/such/route")

    text = (await client.get("/metrics")).text

    assert 'route="/v1/brands/{brand_id}/members/{member_id}"' in text
    assert 'route="<unmatched>"' in text
    assert "m-a1" not in text


async def test_openapi_documents_the_contract(client):
    spec = (await client.get("/openapi.json")).json()

    assert "/v1/brands/{brand_id}/orders" in spec["paths"]
    assert "bearer" in str(spec["components"]["securitySchemes"]).lower()
    assert (await client.get("/docs")).status_code == 200


def test_every_dependency_runs_on_the_event_loop():
    """FastAPI runs a sync dependency (or endpoint) in its threadpool: a thread hop and a lock per request, a third
    of a lookup's gateway CPU when ``get_clients`` was sync. Every one of ours is a coroutine function."""
    sync: set[str] = set()

    def walk(dependant) -> None:
        call = dependant.call
        if call is not None:
            target = call if inspect.isfunction(call) else type(call).__call__
            if not inspect.iscoroutinefunction(target):
                sync.add(getattr(call, "__qualname__", repr(call)))
        for sub in dependant.dependencies:
            walk(sub)

    routes = [r for area in ROUTERS for r in area.router.routes if isinstance(r, APIRoute)]
    for route in routes:
        walk(route.dependant)

    assert len(routes) > 50
    assert not sync, sorted(sync)
