"""The loyalty service's view of the members service: stores and members of a brand, with a short
positive cache (stores and members are not deleted within seconds; a miss is always asked again)."""

from __future__ import annotations

import time
from datetime import date

import grpc

from crm.members.v1 import members_pb2
from crm.members.v1.members_pb2_grpc import MembersServiceStub
from crm_common.errors import InvalidArgument, RemoteError
from loyalty.domain.members import MemberInfo

CACHE_SECONDS = 30.0
CACHE_MAX = 50_000


def _info(member: members_pb2.Member) -> MemberInfo:
    birthday = None
    if member.birthday:
        try:
            birthday = date.fromisoformat(member.birthday)
        except ValueError:
            birthday = None  # the directory owns birthdays; a malformed one just earns no bonus
    return MemberInfo(member_id=member.id, phone=member.phone, birthday=birthday)


class MembersDirectory:
    """Answers existence questions over gRPC; NOT_FOUND becomes a plain "no", anything else propagates."""

    def __init__(self, stub: MembersServiceStub) -> None:
        self._stub = stub
        self._stores: dict[tuple[str, str], float] = {}
        self._members: dict[tuple[str, str], tuple[float, MemberInfo]] = {}

    async def store_exists(self, brand_id: str, store_id: str) -> bool:
        """True when ``store_id`` is a store of the brand."""
        key = (brand_id, store_id)
        if self._stores.get(key, 0.0) > time.monotonic():
            return True
        try:
            store = await self._stub.GetStore(members_pb2.GetStoreRequest(brand_id=brand_id, store_id=store_id))
        except RemoteError as err:
            if err.code == grpc.StatusCode.NOT_FOUND:
                return False
            raise
        # Belt and braces: never accept a store of another brand, whatever the directory answered.
        ok = store.brand_id in ("", brand_id)
        if ok:
            if len(self._stores) > CACHE_MAX:
                self._stores.clear()
            self._stores[key] = time.monotonic() + CACHE_SECONDS
        return ok

    async def get_member(self, brand_id: str, member_id: str, *, fresh: bool = False) -> MemberInfo | None:
        """The brand's member ``member_id``, or None when there is none."""
        key = (brand_id, member_id)
        cached = self._members.get(key)
        if cached is not None and not fresh and cached[0] > time.monotonic():
            return cached[1]
        try:
            member = await self._stub.GetMember(members_pb2.GetMemberRequest(brand_id=brand_id, member_id=member_id))
        except RemoteError as err:
            if err.code == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        if member.brand_id not in ("", brand_id):
            return None
        info = _info(member)
        if len(self._members) > CACHE_MAX:
            self._members.clear()
        self._members[key] = (time.monotonic() + CACHE_SECONDS, info)
        return info

    async def member_exists(self, brand_id: str, member_id: str) -> bool:
        """True when ``member_id`` is a member of the brand."""
        return await self.get_member(brand_id, member_id) is not None

    async def member_by_phone(self, brand_id: str, phone: str) -> MemberInfo | None:
        """The brand's member with this phone, or None when nobody has registered it (yet)."""
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
        return _info(member) if member.id else None
