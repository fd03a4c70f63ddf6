"""The org directory: brands, stores and staff accounts (members service)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from crm.common.v1 import types_pb2
from crm.members.v1 import members_pb2
from gateway.auth import Permission, Principal, Role, brand_access, group_access
from gateway.errors import invalid, problem_responses, rpc
from gateway.routers import ClientsDep
from gateway.schemas import BrandCreate, BrandOut, StaffCreate, StaffOut, StoreCreate, StoreOut
from gateway.schemas_members import StaffDeactivated, StaffDeactivation, StoreStatus

router = APIRouter(prefix="/v1/brands", tags=["directory"])

_LOCATION = {"location.lat": "lat", "location.lng": "lng", "location": "lat"}


@router.post("", status_code=201, response_model=BrandOut, responses=problem_responses(401, 403, 409, 422))
async def create_brand(
    body: BrandCreate,
    clients: ClientsDep,
    _: Annotated[Principal, Depends(group_access(Permission.BRAND_WRITE))],
) -> BrandOut:
    """Create a brand (group admins only). It starts with the default loyalty programme."""
    brand = await rpc(clients.members.CreateBrand(
        members_pb2.CreateBrandRequest(code=body.code, name=body.name, timezone=body.timezone)
    ))
    return BrandOut.of(brand)


def location(lat: float | None, lng: float | None) -> types_pb2.GeoPoint | None:
    """A GeoPoint when both coordinates are given; a 422 when only one is."""
    if (lat is None) != (lng is None):
        missing = "lng" if lng is None else "lat"
        raise invalid((missing, "lat and lng must be given together"))
    return None if lat is None else types_pb2.GeoPoint(lat=lat, lng=lng)


@router.post(
    "/{brand_id}/stores", status_code=201, response_model=StoreOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def create_store(
    brand_id: str,
    body: StoreCreate,
    clients: ClientsDep,
    _: Annotated[Principal, Depends(brand_access(Permission.DIRECTORY_WRITE))],
) -> StoreOut:
    """Open a store in the brand (group and brand admins)."""
    store = await rpc(
        clients.members.CreateStore(members_pb2.CreateStoreRequest(
            brand_id=brand_id, code=body.code, name=body.name, city=body.city or "",
            location=location(body.lat, body.lng),
        )),
        field_aliases=_LOCATION,
    )
    return StoreOut.of(store)


@router.post(
    "/{brand_id}/staff", status_code=201, response_model=StaffOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def create_staff(
    brand_id: str,
    body: StaffCreate,
    clients: ClientsDep,
    _: Annotated[Principal, Depends(brand_access(Permission.DIRECTORY_WRITE))],
) -> StaffOut:
    """Create a staff account (group and brand admins). The password is never echoed."""
    if body.role in (Role.STORE_MANAGER, Role.CLERK) and not body.store_ids:
        raise invalid(("store_ids", f"a {body.role} needs at least one store"))
    staff = await rpc(clients.members.CreateStaff(members_pb2.CreateStaffRequest(
        brand_id=brand_id, username=body.username, password=body.password, display_name=body.display_name,
        role=body.role, store_ids=body.store_ids,
    )))
    return StaffOut.of(staff)


@router.post(
    "/{brand_id}/staff/{staff_id}/deactivation", response_model=StaffDeactivated,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def deactivate_staff(
    brand_id: str,
    staff_id: str,
    clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.DIRECTORY_WRITE))],
    body: StaffDeactivation | None = None,
) -> StaffDeactivated:
    """A staff member leaves: they can no longer sign in, and their members move to
    ``transfer_to_guide_id`` (or keep only their store) in the same step."""
    done = await rpc(
        clients.members.DeactivateStaff(members_pb2.DeactivateStaffRequest(
            brand_id=brand_id, staff_id=staff_id, to_guide_id=(body.transfer_to_guide_id or "") if body else "",
            actor_id=caller.staff_id,
        )),
        field_aliases={"to_guide_id": "transfer_to_guide_id"},
    )
    return StaffDeactivated(staff=StaffOut.of(done.staff), moved=done.moved, transfer_id=done.transfer_id or None)


@router.put(
    "/{brand_id}/stores/{store_id}/status", response_model=StoreOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def set_store_status(
    brand_id: str,
    store_id: str,
    body: StoreStatus,
    clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.DIRECTORY_WRITE))],
) -> StoreOut:
    """Open or close a store. Closing one that still owns members needs ``transfer_to_store_id`` (409
    ``store-has-members`` otherwise): no member is ever left without a store."""
    store = await rpc(
        clients.members.SetStoreOpen(members_pb2.SetStoreOpenRequest(
            brand_id=brand_id, store_id=store_id, open=body.open,
            transfer_to_store_id=body.transfer_to_store_id or "", actor_id=caller.staff_id,
        )),
    )
    return StoreOut.of(store)
