"""The MembersService gRPC servicer: validates with the domain, writes through the repository, and puts
every event in the outbox inside the same transaction as the change it describes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from google.protobuf.timestamp_pb2 import Timestamp
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from crm.common.v1.types_pb2 import GeoPoint
from crm.members.v1 import events_pb2, members_pb2, members_pb2_grpc
from crm_common.errors import AlreadyExists, InvalidArgument, NotFound, Unauthenticated
from crm_common.outbox import MongoOutbox
from members.adapters.repository import Doc, Repository, now
from members.domain.directory import NewStaff, new_brand, new_staff, new_store, normalize_username
from members.domain.members import new_member
from members.domain.phone import normalize_phone
from members.domain.pii import PiiCipher

_BAD_LOGIN = "invalid username or password"
# How often a registration is retried when it lost the phone race but the winner is not visible
# (the winner's transaction aborted after ours saw its key): rare, so a small bound suffices.
_REGISTER_ATTEMPTS = 3


def new_id(prefix: str) -> str:
    """An opaque id: a type prefix and a random UUID (``m_3f2a...``)."""
    return f"{prefix}_{uuid.uuid4().hex}"


def _ts(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _brand_not_found() -> NotFound:
    return NotFound("brand not found", reason="BRAND_NOT_FOUND", field="brand_id")


def _require_id(value: str, field: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidArgument(f"{field} is required", field=field)
    return text


class MembersServicer(members_pb2_grpc.MembersServiceServicer):
    """Every RPC of crm.members.v1.MembersService."""

    def __init__(
        self, repo: Repository, outbox: MongoOutbox, cipher: PiiCipher, hasher: PasswordHasher | None = None
    ) -> None:
        self.repo = repo
        self.outbox = outbox
        self.cipher = cipher
        self.hasher = hasher or PasswordHasher()
        # Verified against when the username is unknown, so both failures cost the same time.
        self._dummy_hash = self.hasher.hash(uuid.uuid4().hex)

    # --- mapping ------------------------------------------------------------------------------------

    @staticmethod
    def _brand(doc: Doc) -> members_pb2.Brand:
        return members_pb2.Brand(
            id=doc["_id"],
            code=doc["code"],
            name=doc["name"],
            timezone=doc["timezone"],
            created_at=_ts(doc["created_at"]),
        )

    @staticmethod
    def _store(doc: Doc) -> members_pb2.Store:
        store = members_pb2.Store(
            id=doc["_id"],
            brand_id=doc["brand_id"],
            code=doc["code"],
            name=doc["name"],
            city=doc["city"],
            open=doc["open"],
            created_at=_ts(doc["created_at"]),
        )
        if doc.get("location"):
            store.location.CopyFrom(GeoPoint(lat=doc["location"]["lat"], lng=doc["location"]["lng"]))
        return store

    @staticmethod
    def _staff(doc: Doc) -> members_pb2.Staff:
        return members_pb2.Staff(
            id=doc["_id"],
            brand_id=doc["brand_id"],
            username=doc["username"],
            display_name=doc["display_name"],
            role=doc["role"],
            store_ids=doc["store_ids"],
            active=doc["active"],
            created_at=_ts(doc["created_at"]),
        )

    def _member(self, doc: Doc) -> members_pb2.Member:
        return members_pb2.Member(
            id=doc["_id"],
            brand_id=doc["brand_id"],
            phone=self.cipher.decrypt(doc["phone_enc"], context=doc["brand_id"]),
            name=doc["name"],
            gender=doc["gender"],
            birthday=doc["birthday"],
            store_id=doc["store_id"],
            guide_id=doc["guide_id"],
            channel=doc["channel"],
            attributes=doc["attributes"],
            consents={key: c["granted"] for key, c in doc["consents"].items()},
            registered_at=_ts(doc["registered_at"]),
        )

    async def _brand_or_404(self, brand_id: str, session: AsyncClientSession | None = None) -> Doc:
        doc = await self.repo.get_brand((brand_id or "").strip(), session) if brand_id else None
        if doc is None:
            raise _brand_not_found()
        return doc

    # --- brands -------------------------------------------------------------------------------------

    async def CreateBrand(self, request: members_pb2.CreateBrandRequest, context: Any) -> members_pb2.Brand:
        """Create a brand with a unique code; emits BrandCreated."""
        cmd = new_brand(request.code, request.name, request.timezone)
        doc = {
            "_id": new_id("b"),
            "code": cmd.code,
            "name": cmd.name,
            "timezone": cmd.timezone,
            "created_at": now(),
        }
        event = events_pb2.BrandCreated(
            brand_id=doc["_id"], code=cmd.code, name=cmd.name, timezone=cmd.timezone
        )

        async def write(s: AsyncClientSession) -> None:
            await self.repo.insert_brand(doc, s)
            await self.outbox.add(event, brand_id=doc["_id"], subject=doc["_id"], session=s)

        try:
            await self.repo.transaction(write)
        except DuplicateKeyError:
            raise AlreadyExists(
                "a brand with this code exists", reason="DUPLICATE_BRAND_CODE", field="code"
            ) from None
        return self._brand(doc)

    async def GetBrand(self, request: members_pb2.GetBrandRequest, context: Any) -> members_pb2.Brand:
        """One brand by id."""
        return self._brand(await self._brand_or_404(request.brand_id))

    async def ListBrands(
        self, request: members_pb2.ListBrandsRequest, context: Any
    ) -> members_pb2.ListBrandsResponse:
        """Every brand of the group."""
        return members_pb2.ListBrandsResponse(brands=[self._brand(d) for d in await self.repo.list_brands()])

    # --- stores -------------------------------------------------------------------------------------

    async def CreateStore(self, request: members_pb2.CreateStoreRequest, context: Any) -> members_pb2.Store:
        """Create a store with a code unique in its brand; emits StoreCreated."""
        location = (request.location.lat, request.location.lng) if request.HasField("location") else None
        cmd = new_store(request.code, request.name, request.city, location)
        brand = await self._brand_or_404(request.brand_id)
        doc: Doc = {
            "_id": new_id("s"),
            "brand_id": brand["_id"],
            "code": cmd.code,
            "name": cmd.name,
            "city": cmd.city,
            "location": {"lat": location[0], "lng": location[1]} if location else None,
            "open": True,
            "created_at": now(),
        }
        event = events_pb2.StoreCreated(
            brand_id=brand["_id"], store_id=doc["_id"], code=cmd.code, name=cmd.name, city=cmd.city
        )

        async def write(s: AsyncClientSession) -> None:
            await self.repo.insert_store(doc, s)
            await self.outbox.add(event, brand_id=brand["_id"], subject=doc["_id"], session=s)

        try:
            await self.repo.transaction(write)
        except DuplicateKeyError:
            raise AlreadyExists(
                "a store with this code exists in the brand", reason="DUPLICATE_STORE_CODE", field="code"
            ) from None
        return self._store(doc)

    async def GetStore(self, request: members_pb2.GetStoreRequest, context: Any) -> members_pb2.Store:
        """One store of a brand; NOT_FOUND when it is another brand's."""
        doc = await self.repo.get_store((request.brand_id or "").strip(), (request.store_id or "").strip())
        if doc is None:
            raise NotFound("store not found", reason="STORE_NOT_FOUND", field="store_id")
        return self._store(doc)

    async def ListStores(
        self, request: members_pb2.ListStoresRequest, context: Any
    ) -> members_pb2.ListStoresResponse:
        """A brand's stores."""
        brand = await self._brand_or_404(request.brand_id)
        return members_pb2.ListStoresResponse(
            stores=[self._store(d) for d in await self.repo.list_stores(brand["_id"])]
        )

    # --- staff --------------------------------------------------------------------------------------

    async def _insert_staff(self, cmd: NewStaff) -> Doc:
        """Hash the password and write the account with its StaffCreated event (brand checked first)."""
        # Argon2 is deliberately slow (tens of ms): keep it off the event loop.
        password_hash = await asyncio.to_thread(self.hasher.hash, cmd.password)
        doc: Doc = {
            "_id": new_id("st"),
            "brand_id": cmd.brand_id,
            "username": cmd.username,
            "password_hash": password_hash,
            "display_name": cmd.display_name,
            "role": cmd.role,
            "store_ids": list(cmd.store_ids),
            "active": True,
            "created_at": now(),
        }
        event = events_pb2.StaffCreated(
            brand_id=cmd.brand_id, staff_id=doc["_id"], role=cmd.role, store_ids=cmd.store_ids
        )

        async def write(s: AsyncClientSession) -> None:
            if cmd.brand_id:
                await self._brand_or_404(cmd.brand_id, s)
                if cmd.store_ids and await self.repo.count_stores(
                    cmd.brand_id, list(cmd.store_ids), s
                ) != len(cmd.store_ids):
                    raise InvalidArgument(
                        "every store must belong to the brand", reason="UNKNOWN_STORE", field="store_ids"
                    )
            await self.repo.insert_staff(doc, s)
            await self.outbox.add(event, brand_id=cmd.brand_id, subject=doc["_id"], session=s)

        try:
            await self.repo.transaction(write)
        except DuplicateKeyError:
            raise AlreadyExists(
                "this username is taken", reason="DUPLICATE_USERNAME", field="username"
            ) from None
        return doc

    async def CreateStaff(self, request: members_pb2.CreateStaffRequest, context: Any) -> members_pb2.Staff:
        """Create a staff account (argon2-hashed password, globally unique username); emits StaffCreated."""
        cmd = new_staff(
            request.brand_id,
            request.username,
            request.password,
            request.display_name,
            request.role,
            list(request.store_ids),
        )
        return self._staff(await self._insert_staff(cmd))

    async def ensure_group_admin(self, username: str, password: str) -> bool:
        """Create the bootstrap group admin unless an account of that name exists; True when created.

        Bypasses the password-length rule on purpose: the dev stack's documented default is ``admin``
        (production refuses to start with it, see bootstrap).
        """
        username = normalize_username(username)
        if await self.repo.find_staff_by_username(username) is not None:
            return False
        cmd = NewStaff(
            brand_id="",
            username=username,
            password=password,
            display_name="Group admin",
            role="group_admin",
            store_ids=(),
        )
        try:
            await self._insert_staff(cmd)
        except AlreadyExists:
            return False  # another replica created it at the same moment
        return True

    async def ListStaff(
        self, request: members_pb2.ListStaffRequest, context: Any
    ) -> members_pb2.ListStaffResponse:
        """A brand's staff, optionally only those of one store."""
        brand = await self._brand_or_404(request.brand_id)
        docs = await self.repo.list_staff(brand["_id"], (request.store_id or "").strip())
        return members_pb2.ListStaffResponse(staff=[self._staff(d) for d in docs])

    async def VerifyStaffCredentials(
        self, request: members_pb2.VerifyStaffCredentialsRequest, context: Any
    ) -> members_pb2.Staff:
        """The staff account for a username and password; one error for every kind of failure."""
        try:
            username = normalize_username(request.username)
        except InvalidArgument:
            username = ""
        doc = await self.repo.find_staff_by_username(username) if username else None
        stored = doc["password_hash"] if doc else self._dummy_hash
        try:
            await asyncio.to_thread(self.hasher.verify, stored, request.password or "")
            valid = doc is not None
        except (VerificationError, InvalidHashError):
            valid = False
        if not valid or doc is None or not doc["active"]:
            raise Unauthenticated(_BAD_LOGIN, reason="INVALID_CREDENTIALS")
        if self.hasher.check_needs_rehash(doc["password_hash"]):
            await self.repo.set_password_hash(
                doc["_id"], await asyncio.to_thread(self.hasher.hash, request.password)
            )
        return self._staff(doc)

    # --- members ------------------------------------------------------------------------------------

    async def RegisterMember(
        self, request: members_pb2.RegisterMemberRequest, context: Any
    ) -> members_pb2.Member:
        """Register a member, unique per brand by phone; emits MemberRegistered (ids and facts, no PII)."""
        brand_id = _require_id(request.brand_id, "brand_id")
        brand = await self._brand_or_404(brand_id)
        # "Not in the future" is a calendar question, asked in the brand's timezone.
        today = datetime.now(ZoneInfo(brand["timezone"])).date()
        cmd = new_member(
            phone=request.phone,
            name=request.name,
            gender=request.gender,
            birthday=request.birthday,
            store_id=request.store_id,
            guide_id=request.guide_id,
            channel=request.channel,
            attributes=dict(request.attributes),
            consents=dict(request.consents),
            today=today,
        )
        phone_hash = self.cipher.phone_hash(cmd.phone)

        for _ in range(_REGISTER_ATTEMPTS):
            at = now()
            doc: Doc = {
                "_id": new_id("m"),
                "brand_id": brand_id,
                "phone_hash": phone_hash,
                "phone_enc": self.cipher.encrypt(cmd.phone, context=brand_id),
                "name": cmd.name,
                "gender": cmd.gender,
                "birthday": cmd.birthday,
                "store_id": cmd.store_id,
                "guide_id": cmd.guide_id,
                "channel": cmd.channel,
                "attributes": cmd.attributes,
                "consents": {
                    key: {"granted": granted, "at": at, "source": cmd.consent_source}
                    for key, granted in cmd.consents.items()
                },
                "registered_at": at,
                "updated_at": at,
            }
            event = events_pb2.MemberRegistered(
                brand_id=brand_id,
                member_id=doc["_id"],
                store_id=cmd.store_id,
                guide_id=cmd.guide_id,
                channel=cmd.channel,
                gender=cmd.gender,
                birthday=cmd.birthday,
                registered_at=_ts(at),
                consents=cmd.consents,
                phone_hash=phone_hash,
            )

            async def write(s: AsyncClientSession, doc: Doc = doc, event: Any = event) -> None:
                if cmd.store_id and await self.repo.get_store(brand_id, cmd.store_id, s) is None:
                    raise InvalidArgument(
                        "no such store in this brand", reason="UNKNOWN_STORE", field="store_id"
                    )
                if cmd.guide_id:
                    guide = await self.repo.get_staff(brand_id, cmd.guide_id, s)
                    if guide is None or not guide["active"]:
                        raise InvalidArgument(
                            "no such active staff in this brand", reason="UNKNOWN_GUIDE", field="guide_id"
                        )
                await self.repo.insert_member(doc, s)
                await self.outbox.add(event, brand_id=brand_id, subject=doc["_id"], session=s)

            try:
                await self.repo.transaction(write)
                return self._member(doc)
            except DuplicateKeyError:
                existing = await self.repo.find_member_by_phone_hash(brand_id, phone_hash)
                if existing is not None:
                    raise AlreadyExists(
                        "a member with this phone exists in the brand",
                        reason="DUPLICATE_PHONE",
                        field="phone",
                        details={"member_id": existing["_id"]},
                    ) from None
        # The unique key kept colliding with registrations that never committed: let the caller retry.
        raise AlreadyExists(
            "a registration of this phone is in progress; retry", reason="DUPLICATE_PHONE", field="phone"
        )

    async def GetMember(self, request: members_pb2.GetMemberRequest, context: Any) -> members_pb2.Member:
        """One member of a brand; NOT_FOUND when it is another brand's."""
        doc = await self.repo.get_member((request.brand_id or "").strip(), (request.member_id or "").strip())
        if doc is None:
            raise NotFound("member not found", reason="MEMBER_NOT_FOUND", field="member_id")
        return self._member(doc)

    async def FindMemberByPhone(
        self, request: members_pb2.FindMemberByPhoneRequest, context: Any
    ) -> members_pb2.Member:
        """The brand's member with this phone (any common format)."""
        phone = normalize_phone(request.phone)
        doc = await self.repo.find_member_by_phone_hash(
            (request.brand_id or "").strip(), self.cipher.phone_hash(phone)
        )
        if doc is None:
            raise NotFound("member not found", reason="MEMBER_NOT_FOUND", field="phone")
        return self._member(doc)


SERVICE_NAME = members_pb2.DESCRIPTOR.services_by_name["MembersService"].full_name


def registration(servicer: MembersServicer) -> tuple[Any, MembersServicer, str]:
    """The (add_to_server, servicer, full name) triple crm_common.grpc_server.Service expects."""
    return members_pb2_grpc.add_MembersServiceServicer_to_server, servicer, SERVICE_NAME
