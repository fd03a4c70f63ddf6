"""The org directory as the leads domain sees it, read over gRPC from the members service."""

from __future__ import annotations

import grpc

from crm.members.v1 import members_pb2
from crm.members.v1.members_pb2_grpc import MembersServiceStub
from crm_common.errors import RemoteError
from leads.domain.assignment import GeoPoint, StaffMember, Store


def _store(msg: members_pb2.Store) -> Store:
    location = GeoPoint(msg.location.lat, msg.location.lng) if msg.HasField("location") else None
    return Store(id=msg.id, city=msg.city, location=location, open=msg.open)


def _staff(msg: members_pb2.Staff) -> StaffMember:
    return StaffMember(id=msg.id, role=msg.role, store_ids=tuple(msg.store_ids), active=msg.active)


class MembersDirectory:
    """Stores and staff of a brand; every call has the client's deadline, failures raise RemoteError."""

    def __init__(self, stub: MembersServiceStub) -> None:
        self._stub = stub

    async def get_store(self, brand_id: str, store_id: str) -> Store | None:
        """The store, or None when the brand has no such store."""
        try:
            msg = await self._stub.GetStore(members_pb2.GetStoreRequest(brand_id=brand_id, store_id=store_id))
        except RemoteError as err:
            if err.code == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return _store(msg)

    async def list_stores(self, brand_id: str) -> list[Store]:
        """Every store of the brand, open or not."""
        reply = await self._stub.ListStores(members_pb2.ListStoresRequest(brand_id=brand_id))
        return [_store(s) for s in reply.stores]

    async def list_staff(self, brand_id: str, store_id: str) -> list[StaffMember]:
        """The staff attached to one store (any role, active or not)."""
        reply = await self._stub.ListStaff(members_pb2.ListStaffRequest(brand_id=brand_id, store_id=store_id))
        return [_staff(s) for s in reply.staff]
