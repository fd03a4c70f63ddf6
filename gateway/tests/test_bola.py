"""Object-level authorisation, generated from the app's route table so every new route is covered at once.

For every route that takes a brand, store, member, order, lead or coupon id:
- a token of another brand gets 404 (never 403: that would confirm the id exists);
- a clerk of another store of the same brand gets 404 on member- and lead-scoped reads;
- a member (mini-program) token gets 403/404 outside ``/v1/app/me``, and a staff token 403 inside it;
- a POS key gets 403 outside its till routes, and 404 on another brand's.
"""

from __future__ import annotations

import re

import pytest

from gateway.app import create_app
from gateway.auth import POS_ROUTES, route_shape
from gateway.settings import GatewaySettings

STAFF_SCHEME, MEMBER_SCHEME = "HTTPBearer", "MemberBearer"
IDS = {"brand_id": "brand-a", "store_id": "store-a1", "member_id": "m-a1", "lead_id": "LEAD"}
SCOPED_PARAMS = {"brand_id", "store_id", "member_id", "order_id", "external_id", "lead_id", "code",
                 "coupon_code", "template_id", "id", "import_id", "campaign_id", "segment_id", "journey_id"}


def _operations() -> list[tuple[str, str, set[str]]]:
    # The OpenAPI document is the app's route table as FastAPI resolved it (prefixes, dependencies); each
    # operation lists the security schemes its dependencies declare.
    app = create_app(GatewaySettings(env="test", jwt_secret="x" * 40))
    ops = []
    for path, item in app.openapi()["paths"].items():
        for method, op in item.items():
            schemes = {name for requirement in op.get("security", []) for name in requirement}
            ops.append((method.upper(), path, schemes))
    return ops


def _staff_routes() -> list[tuple[str, str]]:
    return [(m, p) for m, p, schemes in _operations() if STAFF_SCHEME in schemes]


def _app_routes() -> list[tuple[str, str]]:
    return [(m, p) for m, p, schemes in _operations() if MEMBER_SCHEME in schemes]


def _params(path: str) -> list[str]:
    return re.findall(r"\{([^}:]+)", path)


def _fill(path: str, **override: str) -> str:
    ids = {**IDS, **override}
    return re.sub(r"\{([^}:]+)(:[^}]*)?\}", lambda m: ids.get(m.group(1), f"{m.group(1)}-1"), path)


def _ids(rows: list[tuple[str, str]]) -> list[str]:
    return [f"{m} {p}" for m, p in rows]


STAFF = _staff_routes()
BRAND_SCOPED = [(m, p) for m, p in STAFF if "brand_id" in _params(p)]
ID_SCOPED = [(m, p) for m, p in STAFF if set(_params(p)) & SCOPED_PARAMS]
STORE_READS = [(m, p) for m, p in STAFF if m == "GET" and {"member_id", "lead_id"} & set(_params(p))]
APP = _app_routes()


def test_the_matrix_covers_the_routes_it_must():
    # A guard against the generator silently matching nothing (e.g. after a rename of a security scheme).
    assert ("GET", "/v1/brands/{brand_id}/members/{member_id}") in BRAND_SCOPED
    assert ("GET", "/v1/brands/{brand_id}/members/{member_id}") in STORE_READS
    assert ("GET", "/v1/app/me") in APP
    assert len(ID_SCOPED) == len(BRAND_SCOPED)  # every id-taking staff route sits under a brand


@pytest.fixture
async def lead_id(backends) -> str:
    from crm.leads.v1 import leads_pb2

    backends.leads.leads["lead-a1"] = leads_pb2.Lead(id="lead-a1", brand_id="brand-a", store_id="store-a1",
                                                      phone="+8613800138000", source="web", stage="new")
    return "lead-a1"


async def _send(client, method: str, url: str, headers: dict[str, str]):
    body = None if method in ("GET", "DELETE") else {}
    return await client.request(method, url, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path"), BRAND_SCOPED, ids=_ids(BRAND_SCOPED))
@pytest.mark.parametrize("role", ["brand_admin", "analyst", "clerk"])
async def test_another_brands_token_gets_404(client, as_role, lead_id, method, path, role):
    headers = as_role(role, "brand-b", ("store-b1",))

    r = await _send(client, method, _fill(path, lead_id=lead_id), headers)

    assert r.status_code == 404, f"{method} {path} as {role} of brand-b → {r.status_code} {r.text}"
    assert r.json()["detail"].endswith("not found")


@pytest.mark.parametrize(("method", "path"), STORE_READS, ids=_ids(STORE_READS))
async def test_a_clerk_of_another_store_gets_404(client, as_role, lead_id, method, path):
    headers = as_role("clerk", "brand-a", ("store-a2",))

    r = await _send(client, method, _fill(path, lead_id=lead_id), headers)

    if r.status_code == 403:
        # The role may not use this route at all: fine, if it says the same about its own store's records
        # (a 403 that depended on the record would tell the two apart).
        own = await _send(client, method, _fill(path, lead_id=lead_id), as_role("clerk", "brand-a", ("store-a1",)))
        assert own.status_code == 403, f"{method} {path}: 403 for another store but {own.status_code} for own"
    else:
        assert r.status_code == 404, f"{method} {path} as clerk of store-a2 → {r.status_code} {r.text}"


@pytest.mark.parametrize(("method", "path"), STAFF, ids=_ids(STAFF))
async def test_a_member_token_opens_no_staff_route(client, lead_id, method, path):
    app = client._transport.app
    token = app.state.tokens.issue_member(member_id="m-a1", brand_id="brand-a")

    r = await _send(client, method, _fill(path, lead_id=lead_id), {"Authorization": f"Bearer {token}"})

    assert r.status_code in (403, 404), f"{method} {path} with a member token → {r.status_code}"


@pytest.mark.parametrize(("method", "path"), APP, ids=_ids(APP))
async def test_a_staff_token_opens_no_member_route(client, as_role, method, path):
    r = await _send(client, method, _fill(path), as_role("group_admin", ""))

    assert r.status_code == 403


@pytest.mark.parametrize(("method", "path"), STAFF, ids=_ids(STAFF))
async def test_a_pos_key_opens_only_its_till_routes(client, lead_id, method, path):
    app = client._transport.app
    _, key = await app.state.api_keys.create(brand_id="brand-a", store_id="store-a1", name="t", created_by="t")

    own = await _send(client, method, _fill(path, lead_id=lead_id), {"X-API-Key": key})
    other_brand = await _send(client, method, _fill(path, brand_id="brand-b", store_id="store-b1",
                                                    member_id="m-b1", lead_id=lead_id), {"X-API-Key": key})

    if route_shape(method, path) in POS_ROUTES:
        assert other_brand.status_code == 404
        assert own.status_code not in (401, 403)
    else:
        assert own.status_code == 403, f"{method} {path} with a POS key → {own.status_code}"
        assert other_brand.status_code in (403, 404)
