"""Who a message goes to: the member's addresses and current consents, asked of the members service at send
time (it owns the phone, the WeChat identities and consent; the audience store holds no PII). Each read is a
PII access, recorded by the members service with the campaign as its purpose."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import grpc

from crm.members.v1 import members_pb2
from crm.members.v1.members_pb2_grpc import MembersServiceStub
from crm_common.errors import RemoteError

EMAIL_ATTRIBUTE = "email"  # members keep an email address as a custom attribute


@dataclass(frozen=True)
class Contact:
    """A member's addresses and consents now."""

    member_id: str
    phone: str | None
    wechat_open_id: str | None
    email: str | None
    consents: Mapping[str, bool]


class MemberContacts:
    """Reads contacts over gRPC; a member who is gone (erased, merged away, unknown) is None."""

    def __init__(self, stub: MembersServiceStub, actor: str = "campaigns") -> None:
        self._stub = stub
        self._actor = actor

    async def contact(self, brand_id: str, member_id: str, purpose: str) -> Contact | None:
        """The member's contact for one message; ``purpose`` is recorded in the PII audit."""
        try:
            member = await self._stub.GetMember(members_pb2.GetMemberRequest(
                brand_id=brand_id, member_id=member_id,
                access=members_pb2.PiiAccess(actor_id=self._actor, mask=False, purpose=purpose),
            ))
        except RemoteError as err:
            if err.code == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        if member.id != member_id:
            return None  # merged into another member: that member gets their own message, not this one
        return Contact(
            member_id=member.id,
            phone=member.phone or None,
            wechat_open_id=member.wechat_open_ids[0] if member.wechat_open_ids else None,
            email=member.attributes.get(EMAIL_ATTRIBUTE) or None,
            consents=dict(member.consents),
        )
