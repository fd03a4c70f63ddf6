"""The member search takes its query and caller itself, not through dependencies: same contract and checks."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from gateway.app import create_app
from gateway.settings import GatewaySettings

SEARCH = "/v1/brands/{brand_id}/members"


def test_the_search_still_documents_both_schemes_and_every_filter(settings: GatewaySettings) -> None:
    operation = create_app(settings).openapi()["paths"][SEARCH]["get"]
    assert {name for requirement in operation["security"] for name in requirement} == {"HTTPBearer", "APIKeyHeader"}
    assert {p["name"] for p in operation["parameters"]} == {
        "brand_id",
        "cursor",
        "limit",
        "phone",
        "card",
        "q",
        "tag",
        "store_id",
        "guide_id",
        "registered_from",
        "registered_to",
    }


async def test_a_bad_query_is_a_422_before_authentication_as_before(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/brands/brand-a/members?phone=not-a-phone")
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["phone"]
    assert (await client.get("/v1/brands/brand-a/members?phone=13800138000")).status_code == 401


async def test_another_brand_is_a_404_and_the_own_brand_answers(
    client: httpx.AsyncClient, as_role: Callable[..., dict[str, str]]
) -> None:
    other = await client.get("/v1/brands/brand-b/members?phone=13800138000", headers=as_role("clerk"))
    assert other.status_code == 404
    own = await client.get("/v1/brands/brand-a/members?phone=13800138000", headers=as_role("brand_admin"))
    assert own.status_code == 200, own.text
