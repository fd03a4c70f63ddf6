"""Query-string models: the same OpenAPI parameters FastAPI would write, one validation, 422 naming the field."""

import json
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, Query

from gateway import errors
from gateway.params import QueryModel
from gateway.routers.app_member import OrdersQuery
from gateway.routers.members import SearchQuery
from gateway.schemas import PageQuery


@pytest.mark.parametrize("model", [SearchQuery, PageQuery, OrdersQuery])
def test_the_openapi_parameters_are_those_fastapi_writes_for_the_model(model) -> None:  # type: ignore[no-untyped-def]
    fastapi_way, ours = FastAPI(), FastAPI()
    params = QueryModel(model)

    @fastapi_way.get("/items")
    async def declared(query: Annotated[model, Query()]) -> None: ...  # type: ignore[valid-type]

    @ours.get("/items", openapi_extra=params.openapi)
    async def validated(query: Annotated[model, Depends(params)]) -> None: ...  # type: ignore[valid-type]

    def parameters(app: FastAPI) -> list[str]:
        return sorted(json.dumps(p, sort_keys=True) for p in app.openapi()["paths"]["/items"]["get"]["parameters"])

    assert parameters(ours) == parameters(fastapi_way)
    assert len(parameters(ours)) == len(model.model_fields)


async def test_values_are_validated_and_a_bad_one_is_a_422_naming_it() -> None:
    app = FastAPI()
    errors.install(app)
    search = QueryModel(SearchQuery)

    @app.get("/members")
    async def members(query: Annotated[SearchQuery, Depends(search)]) -> dict[str, object]:
        return query.model_dump(mode="json", exclude_none=True)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        ok = await http.get("/members", params=[("phone", "13800138000"), ("limit", "5"), ("tag", " vip "),
                                                ("limit", "7"), ("unknown", "x")])
        bad = await http.get("/members", params={"limit": "0", "phone": "12", "registered_from": "yesterday"})

    # A repeated key keeps its last value; unknown keys are ignored; constraints apply (whitespace stripped).
    assert ok.status_code == 200 and ok.json() == {"phone": "13800138000", "limit": 7, "tag": "vip"}
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert {e["field"] for e in bad.json()["errors"]} == {"limit", "phone", "registered_from"}


def test_a_nested_model_is_refused_when_the_route_is_built() -> None:
    from pydantic import BaseModel

    class Inner(BaseModel):
        x: int

    class Nested(BaseModel):
        inner: Inner

    with pytest.raises(TypeError, match="scalars only"):
        QueryModel(Nested)
