"""Brand timezones: the local cache, filled from BrandCreated or, when an event is first, from members."""

from __future__ import annotations

import asyncpg

from crm.members.v1 import members_pb2, members_pb2_grpc
from reporting.adapters import repository
from reporting.domain.calendar import DEFAULT_TIMEZONE


class BrandTimezones:
    """Answers "which timezone does this brand report in", asking members only while it is not cached."""

    def __init__(self, members: members_pb2_grpc.MembersServiceStub) -> None:
        self._members = members
        # A brand's timezone is set when it is created and never changes (members has no call to change
        # it), so what the table said once can be kept: a query per event was half the fact builder's
        # round trips. BrandCreated still drops the entry, so the table stays the one authority.
        self._known: dict[str, str] = {}

    def forget(self, brand_id: str) -> None:
        """Drop what is remembered of a brand (its BrandCreated is being stored)."""
        self._known.pop(brand_id, None)

    async def timezone(self, conn: asyncpg.Connection, brand_id: str) -> str:
        """The brand's IANA timezone; raises RemoteError when members cannot say (the event is retried)."""
        known = self._known.get(brand_id)
        if known is not None:
            return known
        cached = await repository.brand_timezone(conn, brand_id)
        if cached is not None:
            self._known[brand_id] = cached
            return cached
        # Events of a brand can overtake its BrandCreated (another stream, another consumer), and a
        # report day computed with a guessed timezone would be wrong for good, so ask the owner.
        brand = await self._members.GetBrand(members_pb2.GetBrandRequest(brand_id=brand_id))
        await repository.save_brand(conn, brand_id, brand.timezone or DEFAULT_TIMEZONE, authoritative=False)
        # Read back: a BrandCreated committed meanwhile wins over what we fetched.
        return await repository.brand_timezone(conn, brand_id) or brand.timezone or DEFAULT_TIMEZONE
