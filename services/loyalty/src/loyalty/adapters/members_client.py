"""The loyalty service's view of the members service: does this store / member exist in the brand?"""

from __future__ import annotations

import grpc

from crm.members.v1 import members_pb2
from crm.members.v1.members_pb2_grpc import MembersServiceStub
from crm_common.errors import InvalidArgument, RemoteError


class MembersDirectory:
    """Answers existence questions over gRPC; NOT_FOUND becomes a plain "no", anything else propagates."""

    def __init__(self, stub: MembersServiceStub) -> None:
        self._stub = stub

    async def store_exists(self, brand_id: str, store_id: str) -> bool:
        """True when ``store_id`` is a store of the brand."""
        try:
            store = await self._stub.GetStore(
                members_pb2.GetStoreRequest(brand_id=brand_id, store_id=store_id)
            )
        except RemoteError as err:
            if err.code == grpc.StatusCode.NOT_FOUND:
                return False
            raise
        # Belt and braces: never accept a store of another brand, whatever the directory answered.
        return store.brand_id in ("", brand_id)

    async def member_exists(self, brand_id: str, member_id: str) -> bool:
        """True when ``member_id`` is a member of the brand."""
        try:
            member = await self._stub.GetMember(
                members_pb2.GetMemberRequest(brand_id=brand_id, member_id=member_id)
            )
        except RemoteError as err:
            if err.code == grpc.StatusCode.NOT_FOUND:
                return False
            raise
        return member.brand_id in ("", brand_id)

    async def member_id_by_phone(self, brand_id: str, phone: str) -> str | None:
        """Id of the brand's member with this phone, or None when nobody has registered it (yet)."""
        try:
            member = await self._stub.FindMemberByPhone(
                members_pb2.FindMemberByPhoneRequest(brand_id=brand_id, phone=phone)
            )
        except RemoteError as err:
            if err.code == grpc.StatusCode.NOT_FOUND:
                return None
            if err.code == grpc.StatusCode.INVALID_ARGUMENT:
                # Name our field, not the directory's; the message never repeats the phone.
                raise InvalidArgument(
                    "member_phone is not a valid phone number", reason=err.reason, field="member_phone"
                ) from None
            raise
        return member.id or None
