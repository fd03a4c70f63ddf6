"""POS API keys of a store: created (the secret shown once), listed (never the secret), revoked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from crm.members.v1 import members_pb2
from gateway.audit import AuditLog, audit_log
from gateway.auth import Permission, Principal, brand_access
from gateway.errors import not_found, problem_responses, rpc
from gateway.routers import ClientsDep
from gateway.schemas import PAGE, ApiKeyCreate, ApiKeyCreated, ApiKeyOut, Page, PageParams, page_of
from gateway.sessions import ApiKey, ApiKeyStore

router = APIRouter(prefix="/v1/brands/{brand_id}/stores/{store_id}/api-keys", tags=["pos keys"])

Admin = Annotated[Principal, Depends(brand_access(Permission.DIRECTORY_WRITE))]


def _keys(request: Request) -> ApiKeyStore:
    store: ApiKeyStore = request.app.state.api_keys
    return store


async def _require_store(clients: ClientsDep, brand_id: str, store_id: str) -> None:
    store = await rpc(
        clients.members.GetStore(members_pb2.GetStoreRequest(brand_id=brand_id, store_id=store_id)),
        not_found_as="store",
    )
    if store.brand_id and store.brand_id != brand_id:
        raise not_found("store")


def _out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(id=key.id, store_id=key.store_id, name=key.name, prefix=key.prefix,
                     created_at=datetime.fromtimestamp(key.created_at, UTC))


@router.post("", status_code=201, response_model=ApiKeyCreated, responses=problem_responses(401, 403, 404, 422))
async def create_api_key(
    brand_id: str, store_id: str, body: ApiKeyCreate, request: Request, clients: ClientsDep, caller: Admin,
    audit: Annotated[AuditLog, Depends(audit_log)],
) -> ApiKeyCreated:
    """A new POS key for the store (brand and group admins). The `key` is in this response only; it
    opens orders, refunds, member lookup and coupon redemption of this store."""
    await _require_store(clients, brand_id, store_id)
    key, secret = await _keys(request).create(brand_id=brand_id, store_id=store_id, name=body.name,
                                              created_by=caller.actor)
    audit.record("api_key.create", actor=caller.actor, brand_id=brand_id, target=f"api_key:{key.id}",
                 request=request, store_id=store_id)
    return ApiKeyCreated(**_out(key).model_dump(), key=secret)


@router.get("", response_model=Page[ApiKeyOut], responses=problem_responses(401, 403, 404, 422),
            openapi_extra=PAGE.openapi)
async def list_api_keys(
    brand_id: str, store_id: str, request: Request, clients: ClientsDep, _: Admin,
    page: PageParams,
) -> Page[ApiKeyOut]:
    """The store's live keys (name and prefix only)."""
    await _require_store(clients, brand_id, store_id)
    keys = [_out(k) for k in await _keys(request).list(brand_id, store_id)]
    return page_of(keys, page)


@router.delete("/{key_id}", status_code=204, response_class=Response, responses=problem_responses(401, 403, 404))
async def revoke_api_key(
    brand_id: str, store_id: str, key_id: str, request: Request, caller: Admin,
    audit: Annotated[AuditLog, Depends(audit_log)],
) -> Response:
    """Revoke a key at once (every replica refuses it from the next request)."""
    if not await _keys(request).revoke(brand_id, store_id, key_id):
        raise not_found("api key")
    audit.record("api_key.revoke", actor=caller.actor, brand_id=brand_id, target=f"api_key:{key_id}",
                 request=request, store_id=store_id)
    return Response(status_code=204)
