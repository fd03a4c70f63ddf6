"""The MembersService gRPC servicer: validates with the domain, writes through the repository, and puts
every event in the outbox inside the same transaction as the change it describes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from crm.common.v1.types_pb2 import GeoPoint
from crm.members.v1 import events_pb2, members_pb2, members_pb2_grpc
from crm_common.errors import AlreadyExists, Conflict, InvalidArgument, NotFound, Unauthenticated
from crm_common.outbox import MongoOutbox
from members.adapters.audit import AuditWriter
from members.adapters.repository import Doc, Repository, identity_id, now
from members.domain import profile
from members.domain.attributes import AttributeDef, AttributeSchema, render_value, validate_definitions, validate_values
from members.domain.directory import NewStaff, new_brand, new_staff, new_store, normalize_username
from members.domain.members import new_member, validate_birthday, validate_gender
from members.domain.phone import mask_phone, normalize_phone
from members.domain.pii import PiiCipher
from members.domain.tags import TagRule, apply_tag_changes, evaluate, facts_of, normalize_tags

_BAD_LOGIN = "invalid username or password"
# How often a registration is retried when it lost the phone race but the winner is not visible
# (the winner's transaction aborted after ours saw its key): rare, so a small bound suffices.
_REGISTER_ATTEMPTS = 3
IDENTITY_KINDS = frozenset({"phone", "card", "wechat_union_id", "wechat_open_id"})
# MembersTransferred lists member ids; keep each event well under NATS' 1 MiB message limit.
_TRANSFER_EVENT_IDS = 5_000
_MAX_ID = 128


def new_id(prefix: str) -> str:
    """An opaque id: a type prefix and a random UUID (``m_3f2a...``)."""
    return f"{prefix}_{uuid.uuid4().hex}"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ts(moment: datetime) -> Timestamp:
    # The same seconds and nanos as Timestamp.FromDatetime (naive means UTC), without its utctimetuple() and
    # calendar.timegm(): a fifth of rendering a member, which every read does.
    if not isinstance(moment, datetime):
        stamp = Timestamp()
        stamp.FromDatetime(moment)  # its TypeError, as before
        return stamp
    delta = (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)) - _EPOCH
    return Timestamp(seconds=delta.days * 86_400 + delta.seconds, nanos=delta.microseconds * 1000)


def _all_tags(doc: Doc) -> list[str]:
    """A member's manual and rule tags, each once, as events carry them."""
    return list(dict.fromkeys([*doc.get("tags", []), *doc.get("auto_tags", [])]))


def _rendered_attributes(doc: Doc) -> dict[str, str]:
    """A member's custom attributes as text, as events carry them."""
    return {k: render_value(v) for k, v in (doc.get("attributes") or {}).items()}


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
        self.imports: Any = None  # the ImportRunner, wired by bootstrap
        self.auto_tags: Any = None  # the AutoTags (rules and their jobs), wired by bootstrap
        self.repo = repo
        self.outbox = outbox
        self.cipher = cipher
        self.hasher = hasher or PasswordHasher()
        self.audit = AuditWriter(repo.pii_audit)
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
        event = events_pb2.BrandCreated(brand_id=doc["_id"], code=cmd.code, name=cmd.name, timezone=cmd.timezone)

        async def write(s: AsyncClientSession) -> None:
            await self.repo.insert_brand(doc, s)
            await self.outbox.add(event, brand_id=doc["_id"], subject=doc["_id"], session=s)
            # The brand's daily re-evaluation of time-based tags starts with the brand.
            await self.auto_tags.schedule_daily(doc, doc["created_at"], s)

        try:
            await self.repo.transaction(write)
        except DuplicateKeyError:
            raise AlreadyExists("a brand with this code exists", reason="DUPLICATE_BRAND_CODE", field="code") from None
        return self._brand(doc)

    async def GetBrand(self, request: members_pb2.GetBrandRequest, context: Any) -> members_pb2.Brand:
        """One brand by id."""
        return self._brand(await self._brand_or_404(request.brand_id))

    async def ListBrands(self, request: members_pb2.ListBrandsRequest, context: Any) -> members_pb2.ListBrandsResponse:
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
        if location is not None:  # campaigns' distance rules need it
            event.lat, event.lng = location

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

    async def ListStores(self, request: members_pb2.ListStoresRequest, context: Any) -> members_pb2.ListStoresResponse:
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
                if cmd.store_ids and await self.repo.count_stores(cmd.brand_id, list(cmd.store_ids), s) != len(
                    cmd.store_ids
                ):
                    raise InvalidArgument(
                        "every store must belong to the brand", reason="UNKNOWN_STORE", field="store_ids"
                    )
            await self.repo.insert_staff(doc, s)
            await self.outbox.add(event, brand_id=cmd.brand_id, subject=doc["_id"], session=s)

        try:
            await self.repo.transaction(write)
        except DuplicateKeyError:
            raise AlreadyExists("this username is taken", reason="DUPLICATE_USERNAME", field="username") from None
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

    async def ListStaff(self, request: members_pb2.ListStaffRequest, context: Any) -> members_pb2.ListStaffResponse:
        """A brand's staff, optionally only those of one store."""
        brand = await self._brand_or_404(request.brand_id)
        docs = await self.repo.list_staff(brand["_id"], (request.store_id or "").strip())
        return members_pb2.ListStaffResponse(staff=[self._staff(d) for d in docs])

    async def GetStaff(self, request: members_pb2.GetStaffRequest, context: Any) -> members_pb2.Staff:
        """One staff account (active or not); a group admin is asked for with an empty brand_id."""
        staff_id = _require_id(request.staff_id, "staff_id")
        doc = await self.repo.get_staff((request.brand_id or "").strip(), staff_id)
        if doc is None:
            raise NotFound("staff not found", reason="STAFF_NOT_FOUND", field="staff_id")
        return self._staff(doc)

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
            await self.repo.set_password_hash(doc["_id"], await asyncio.to_thread(self.hasher.hash, request.password))
        return self._staff(doc)

    # --- member mapping, PII access and events ------------------------------------------------------

    def member_message(self, doc: Doc, access: members_pb2.PiiAccess | None = None) -> members_pb2.Member:
        """A member document as the API sees it; phone and name masked when ``access.mask``."""
        brand_id = doc["brand_id"]
        phone = self.cipher.decrypt(doc["phone_enc"], context=brand_id) if doc.get("phone_enc") else ""
        name = self.cipher.decrypt(doc["name_enc"], context=brand_id) if doc.get("name_enc") else doc.get("name", "")
        mask = bool(access and access.mask)
        if mask:
            phone, name = (mask_phone(phone) if phone else ""), profile.mask_name(name)
        stats = doc.get("facts") or {}
        facts = members_pb2.MemberFacts(
            order_count=stats.get("order_count", 0), total_spend_fen=stats.get("total_spend_fen", 0)
        )
        if stats.get("last_order_at"):
            facts.last_order_at.CopyFrom(_ts(stats["last_order_at"]))
        consents = doc.get("consents") or {}
        message = members_pb2.Member(
            id=doc["_id"],
            brand_id=brand_id,
            phone=phone,
            name=name,
            gender=doc.get("gender", ""),
            birthday="" if mask else doc.get("birthday", ""),
            store_id=doc.get("store_id", ""),
            guide_id=doc.get("guide_id", ""),
            channel=doc.get("channel", ""),
            attributes={k: render_value(v) for k, v in (doc.get("attributes") or {}).items()},
            consents={key: c["granted"] for key, c in consents.items()},
            registered_at=_ts(doc["registered_at"]),
            card_no=doc.get("card_no", ""),
            wechat_union_id=doc.get("wechat_union_id", ""),
            wechat_open_ids=doc.get("wechat_open_ids", []),
            tags=doc.get("tags", []),
            auto_tags=doc.get("auto_tags", []),
            preferred_channel=doc.get("preferred_channel", ""),
            consent_details=[
                members_pb2.Consent(channel=k, granted=c["granted"], at=_ts(c["at"]), source=c.get("source", ""))
                for k, c in sorted(consents.items())
            ],
            facts=facts,
            masked=mask,
        )
        if doc.get("updated_at"):
            message.updated_at.CopyFrom(_ts(doc["updated_at"]))
        return message

    async def audit_pii(
        self, brand_id: str, access: members_pb2.PiiAccess | None, member_ids: list[str], what: str = "read"
    ) -> None:
        """Record an unmasked read of members' PII by a staff member (ids only, never the data)."""
        if access is None or access.mask or not access.actor_id or not member_ids:
            return
        # Group commit: the reply waits for its audit document, but concurrent reads share one insert.
        await self.audit.record(
            {
                "brand_id": brand_id,
                "actor_id": access.actor_id,
                "member_ids": member_ids,
                "purpose": access.purpose[:200],
                "what": what,
                "at": now(),
            }
        )

    async def _reply(self, doc: Doc, access: members_pb2.PiiAccess | None, what: str = "read") -> members_pb2.Member:
        # The audit row and the reply go out together: the write costs no extra latency on the read path.
        message = self.member_message(doc, access)
        await self.audit_pii(doc["brand_id"], access, [doc["_id"]], what)
        return message

    async def _live_member(self, brand_id: str, member_id: str, session: AsyncClientSession | None = None) -> Doc:
        """The member, following merges to the survivor; NOT_FOUND when missing, erased or another brand's."""
        doc = await self.repo.get_member((brand_id or "").strip(), (member_id or "").strip(), session)
        for _ in range(5):  # merge chains are short; the bound stops a corrupted cycle
            if doc is None or not doc.get("merged_into"):
                break
            doc = await self.repo.get_member(brand_id, doc["merged_into"], session)
        if doc is None or doc.get("status") == "erased":
            raise NotFound("member not found", reason="MEMBER_NOT_FOUND", field="member_id")
        return doc

    def member_updated(self, doc: Doc, at: datetime) -> events_pb2.MemberUpdated:
        """MemberUpdated of a member document: ids and facts, no PII."""
        return events_pb2.MemberUpdated(
            brand_id=doc["brand_id"],
            member_id=doc["_id"],
            store_id=doc.get("store_id", ""),
            guide_id=doc.get("guide_id", ""),
            gender=doc.get("gender", ""),
            birthday=doc.get("birthday", ""),
            consents={k: c["granted"] for k, c in (doc.get("consents") or {}).items()},
            tags=_all_tags(doc),
            attributes=_rendered_attributes(doc),
            updated_at=_ts(at),
        )

    async def _save_member(
        self,
        doc: Doc,
        changes: Doc,
        session: AsyncClientSession,
        at: datetime,
        rules: tuple[TagRule, ...] | None = None,
    ) -> Doc:
        """Apply ``changes`` to a member, re-evaluate its automatic tags (the brand's rules unless given)
        and emit MemberUpdated."""
        updated = {**doc, **changes}
        if rules is None:
            rules = await self.auto_tags.rules(doc["brand_id"], session)
        auto = evaluate(rules, facts_of(updated, now=at))
        changes = {
            **changes,
            "auto_tags": auto,
            "updated_at": at,
            "all_tags": list(dict.fromkeys([*updated.get("tags", []), *auto])),
        }
        await self.repo.members.update_one({"_id": doc["_id"]}, {"$set": changes}, session=session)
        updated.update(changes)
        await self.outbox.add(
            self.member_updated(updated, at), brand_id=doc["brand_id"], subject=doc["_id"], session=session
        )
        return updated

    async def attribute_schema(self, brand_id: str, session: AsyncClientSession | None = None) -> AttributeSchema:
        """The brand's custom attribute definitions."""
        doc = await self.repo.attribute_defs.find_one({"_id": brand_id}, session=session)
        defs = [
            AttributeDef(**{**d, "options": tuple(d.get("options", ()))}) for d in (doc or {}).get("definitions", [])
        ]
        return AttributeSchema.of(defs)

    async def _check_owner(self, brand_id: str, store_id: str, guide_id: str, session: AsyncClientSession) -> None:
        if store_id:
            store = await self.repo.get_store(brand_id, store_id, session)
            if store is None:
                raise InvalidArgument("no such store in this brand", reason="UNKNOWN_STORE", field="store_id")
        if guide_id:
            guide = await self.repo.get_staff(brand_id, guide_id, session)
            if guide is None or not guide["active"]:
                raise InvalidArgument("no such active staff in this brand", reason="UNKNOWN_GUIDE", field="guide_id")

    async def _claim_identities(
        self, brand_id: str, member_id: str, claims: list[tuple[str, str]], session: AsyncClientSession
    ) -> None:
        """Insert identity documents; a taken one is ALREADY_EXISTS naming the member that has it."""
        for kind, value in claims:
            try:
                await self.repo.identities.insert_one(
                    {
                        "_id": identity_id(brand_id, kind, value),
                        "brand_id": brand_id,
                        "kind": kind,
                        "value": value,
                        "member_id": member_id,
                    },
                    session=session,
                )
            except DuplicateKeyError:
                raise _IdentityTaken(kind) from None

    async def _identity_conflict(self, brand_id: str, kind: str, value: str) -> AlreadyExists:
        existing = await self.repo.find_identity(brand_id, kind, value)
        field = {"card": "card_no"}.get(kind, kind)
        details = {"member_id": existing["member_id"]} if existing else {}
        return AlreadyExists(
            f"a member with this {field} exists in the brand",
            reason=f"DUPLICATE_{kind.upper()}",
            field=field,
            details=details,
        )

    # --- members ------------------------------------------------------------------------------------

    def new_member_doc(self, brand_id: str, cmd: Any, at: datetime, rules: tuple[TagRule, ...], **extra: Any) -> Doc:
        """The stored form of a validated registration (phone and name encrypted, lookup hashes), its
        automatic tags computed with the brand's ``rules``."""
        member_id = extra.pop("_id", None) or new_id("m")
        tags = extra.pop("tags", [])
        doc: Doc = {
            "_id": member_id,
            "brand_id": brand_id,
            "status": "active",
            "phone_hash": self.cipher.phone_hash(cmd.phone) if cmd.phone else f"none:{member_id}",
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
            "tags": tags,
            "auto_tags": [],
            "registered_at": at,
            "updated_at": at,
        }
        if cmd.phone:
            doc["phone_enc"] = self.cipher.encrypt(cmd.phone, context=brand_id)
        if cmd.name:
            doc["name_enc"] = self.cipher.encrypt(cmd.name, context=brand_id)
            doc["name_keys"] = [self.cipher.name_key(p) for p in profile.name_prefixes(cmd.name)]
        doc.update(extra)
        doc["auto_tags"] = evaluate(rules, facts_of(doc, now=at))
        doc["all_tags"] = list(dict.fromkeys([*tags, *doc["auto_tags"]]))
        return doc

    def registered_event(self, doc: Doc) -> events_pb2.MemberRegistered:
        """MemberRegistered of a new member document (ids and facts, no PII)."""
        return events_pb2.MemberRegistered(
            brand_id=doc["brand_id"],
            member_id=doc["_id"],
            store_id=doc["store_id"],
            guide_id=doc["guide_id"],
            channel=doc["channel"],
            gender=doc["gender"],
            birthday=doc["birthday"],
            registered_at=_ts(doc["registered_at"]),
            consents={k: c["granted"] for k, c in doc["consents"].items()},
            phone_hash="" if doc["phone_hash"].startswith("none:") else doc["phone_hash"],
            tags=_all_tags(doc),
            attributes=_rendered_attributes(doc),
        )

    async def RegisterMember(self, request: members_pb2.RegisterMemberRequest, context: Any) -> members_pb2.Member:
        """Register a member, unique per brand by phone, card and WeChat ids; emits MemberRegistered."""
        brand_id = _require_id(request.brand_id, "brand_id")
        brand = await self._brand_or_404(brand_id)
        # "Not in the future" is a calendar question, asked in the brand's timezone.
        today = datetime.now(ZoneInfo(brand["timezone"])).date()
        schema = await self.attribute_schema(brand_id)
        cmd = new_member(
            phone=request.phone,
            name=request.name,
            gender=request.gender,
            birthday=request.birthday,
            store_id=request.store_id,
            guide_id=request.guide_id,
            channel=request.channel,
            attributes={},
            consents=dict(request.consents),
            today=today,
        )
        attributes = {
            k: v
            for k, v in validate_values(schema, dict(request.attributes), enforce_required=True).items()
            if v is not None
        }
        extra: Doc = {
            "tags": normalize_tags(request.tags),
            "preferred_channel": profile.validate_channel_name(request.preferred_channel),
        }
        claims = _identity_claims(request.card_no, request.wechat_union_id, request.wechat_open_id)
        for kind, value in claims:
            extra[{"card": "card_no", "wechat_open_id": "wechat_open_ids"}.get(kind, kind)] = (
                [value] if kind == "wechat_open_id" else value
            )
        phone_hash = self.cipher.phone_hash(cmd.phone)
        rules = await self.auto_tags.rules(brand_id)

        for _ in range(_REGISTER_ATTEMPTS):
            doc = self.new_member_doc(brand_id, _with_attributes(cmd, attributes), now(), rules, **extra)

            async def write(s: AsyncClientSession, doc: Doc = doc) -> None:
                await self._check_owner(brand_id, cmd.store_id, cmd.guide_id, s)
                await self.repo.insert_member(doc, s)
                await self._claim_identities(brand_id, doc["_id"], claims, s)
                await self.outbox.add(self.registered_event(doc), brand_id=brand_id, subject=doc["_id"], session=s)

            try:
                await self.repo.transaction(write)
                return self.member_message(doc, request.access)
            except _IdentityTaken as taken:
                raise await self._identity_conflict(brand_id, taken.kind, dict(claims)[taken.kind]) from None
            except DuplicateKeyError:
                existing = await self.repo.find_member_by_phone_hash(brand_id, phone_hash)
                if existing is not None:
                    raise AlreadyExists(
                        "a member with this phone exists in the brand",
                        reason="DUPLICATE_PHONE",
                        field="phone",
                        details={"member_id": existing.get("merged_into") or existing["_id"]},
                    ) from None
        # The unique key kept colliding with registrations that never committed: let the caller retry.
        raise AlreadyExists(
            "a registration of this phone is in progress; retry", reason="DUPLICATE_PHONE", field="phone"
        )

    async def GetMember(self, request: members_pb2.GetMemberRequest, context: Any) -> members_pb2.Member:
        """One member of a brand (a merged member's id answers with the survivor); NOT_FOUND when it is
        another brand's or erased."""
        return await self._reply(await self._live_member(request.brand_id, request.member_id), request.access)

    async def FindMemberByPhone(
        self, request: members_pb2.FindMemberByPhoneRequest, context: Any
    ) -> members_pb2.Member:
        """The brand's member with this phone (any common format)."""
        phone = normalize_phone(request.phone)
        brand_id = (request.brand_id or "").strip()
        doc = await self.repo.find_member_by_phone_hash(brand_id, self.cipher.phone_hash(phone))
        if doc is None:
            raise NotFound("member not found", reason="MEMBER_NOT_FOUND", field="phone")
        if doc.get("merged_into"):
            doc = await self._live_member(brand_id, doc["_id"])
        return await self._reply(doc, request.access)

    async def FindMemberByIdentity(
        self, request: members_pb2.FindMemberByIdentityRequest, context: Any
    ) -> members_pb2.Member:
        """The member with a phone, card number, UnionID or OpenID."""
        kind = request.kind
        if kind not in IDENTITY_KINDS:
            raise InvalidArgument(f"kind must be one of {', '.join(sorted(IDENTITY_KINDS))}", field="kind")
        if kind == "phone":
            return await self.FindMemberByPhone(
                members_pb2.FindMemberByPhoneRequest(
                    brand_id=request.brand_id, phone=request.value, access=request.access
                ),
                context,
            )
        found = await self.repo.find_identity(request.brand_id, kind, (request.value or "").strip())
        if found is None:
            raise NotFound("member not found", reason="MEMBER_NOT_FOUND", field="value")
        return await self._reply(await self._live_member(request.brand_id, found["member_id"]), request.access)

    async def FindOrCreateMemberByWechat(
        self, request: members_pb2.FindOrCreateMemberByWechatRequest, context: Any
    ) -> members_pb2.FindOrCreateMemberByWechatResponse:
        """Mini-program login: the member with this UnionID, else this OpenID, else a new member (channel
        wechat, no phone yet). A member found by OpenID learns its UnionID; concurrent first logins of one
        person create one member (the identity keys are unique)."""
        brand_id = _require_id(request.brand_id, "brand_id")
        open_id = _require_id(request.open_id, "open_id")
        union_id = (request.union_id or "").strip()
        await self._brand_or_404(brand_id)
        for _ in range(_REGISTER_ATTEMPTS):
            for kind, value in (("wechat_union_id", union_id), ("wechat_open_id", open_id)):
                if not value:
                    continue
                found = await self.repo.find_identity(brand_id, kind, value)
                if found is None:
                    continue
                doc = await self._live_member(brand_id, found["member_id"])
                await self._attach_wechat(doc, union_id, open_id)
                return members_pb2.FindOrCreateMemberByWechatResponse(
                    member=self.member_message(await self._live_member(brand_id, doc["_id"])), created=False
                )
            cmd = new_member(
                phone="",
                name="",
                gender="",
                birthday="",
                store_id=request.store_id,
                guide_id="",
                channel="wechat",
                attributes={},
                consents={},
                today=now().date(),
                phone_required=False,
            )
            claims = _identity_claims("", union_id, open_id)
            doc = self.new_member_doc(
                brand_id,
                cmd,
                now(),
                await self.auto_tags.rules(brand_id),
                wechat_union_id=union_id,
                wechat_open_ids=[open_id],
            )

            async def write(s: AsyncClientSession, doc: Doc = doc, cmd: Any = cmd, claims: Any = claims) -> None:
                await self._check_owner(brand_id, cmd.store_id, "", s)
                await self.repo.insert_member(doc, s)
                await self._claim_identities(brand_id, doc["_id"], claims, s)
                await self.outbox.add(self.registered_event(doc), brand_id=brand_id, subject=doc["_id"], session=s)

            try:
                await self.repo.transaction(write)
            except _IdentityTaken:
                continue  # another login of the same person won: find it on the next pass
            return members_pb2.FindOrCreateMemberByWechatResponse(member=self.member_message(doc), created=True)
        raise Conflict("concurrent logins of this WeChat user; retry", reason="WECHAT_LOGIN_RACE")

    async def _attach_wechat(self, doc: Doc, union_id: str, open_id: str) -> None:
        claims = []
        if union_id and not doc.get("wechat_union_id"):
            claims.append(("wechat_union_id", union_id))
        if open_id and open_id not in (doc.get("wechat_open_ids") or []):
            claims.append(("wechat_open_id", open_id))
        if not claims:
            return

        async def write(s: AsyncClientSession) -> None:
            await self._claim_identities(doc["brand_id"], doc["_id"], claims, s)
            changes: Doc = {"wechat_open_ids": list(dict.fromkeys([*(doc.get("wechat_open_ids") or []), open_id]))}
            if union_id and not doc.get("wechat_union_id"):
                changes["wechat_union_id"] = union_id
            await self.repo.members.update_one({"_id": doc["_id"]}, {"$set": changes}, session=s)

        try:
            await self.repo.transaction(write)
        except _IdentityTaken:
            pass  # the id belongs to another member already: keep the login on the one we found

    async def UpdateMember(self, request: members_pb2.UpdateMemberRequest, context: Any) -> members_pb2.Member:
        """PATCH a member's profile; identities stay unique; emits MemberUpdated."""
        brand_id = _require_id(request.brand_id, "brand_id")
        brand = await self._brand_or_404(brand_id)
        today = datetime.now(ZoneInfo(brand["timezone"])).date()
        schema = await self.attribute_schema(brand_id)
        changes: Doc = {}
        claims: list[tuple[str, str]] = []
        if request.HasField("phone"):
            phone = normalize_phone(request.phone)
            changes["phone_hash"] = self.cipher.phone_hash(phone)
            changes["phone_enc"] = self.cipher.encrypt(phone, context=brand_id)
        if request.HasField("name"):
            name = request.name.strip()
            if len(name) > 64:
                raise InvalidArgument("name is longer than 64 characters", field="name")
            changes["name_enc"] = self.cipher.encrypt(name, context=brand_id) if name else None
            changes["name_keys"] = [self.cipher.name_key(p) for p in profile.name_prefixes(name)]
        if request.HasField("gender"):
            changes["gender"] = validate_gender(request.gender)
        if request.HasField("birthday"):
            changes["birthday"] = validate_birthday(request.birthday, today=today)
        for key in ("store_id", "guide_id"):
            if request.HasField(key):
                changes[key] = getattr(request, key).strip()
        if request.HasField("card_no"):
            changes["card_no"] = request.card_no.strip()
            if changes["card_no"]:
                claims.append(("card", changes["card_no"]))
        if request.HasField("preferred_channel"):
            changes["preferred_channel"] = profile.validate_channel_name(request.preferred_channel)
        if "store_id" in changes and not changes["store_id"]:
            raise InvalidArgument("a member always belongs to a store", reason="STORE_REQUIRED", field="store_id")

        async def write(s: AsyncClientSession) -> Doc:
            doc = await self._live_member(brand_id, request.member_id, s)
            attrs = dict(doc.get("attributes") or {})
            typed = validate_values(schema, dict(request.attributes), existing=attrs, enforce_required=False)
            for name in request.remove_attributes:
                typed[name] = None
            for name, value in typed.items():
                if value is None:
                    attrs.pop(name, None)
                else:
                    attrs[name] = value
            if schema.definitions:
                validate_values(schema, {}, existing=attrs, enforce_required=True)
            mine = dict(changes, attributes=attrs)
            await self._check_owner(brand_id, mine.get("store_id", ""), mine.get("guide_id", ""), s)
            if claims and doc.get("card_no") != changes.get("card_no"):
                await self._claim_identities(brand_id, doc["_id"], claims, s)
                if doc.get("card_no"):
                    await self.repo.identities.delete_one(
                        {"_id": identity_id(brand_id, "card", doc["card_no"])}, session=s
                    )
            return await self._save_member(doc, mine, s, now())

        try:
            doc = await self.repo.transaction(write)
        except _IdentityTaken as taken:
            raise await self._identity_conflict(brand_id, taken.kind, changes["card_no"]) from None
        except DuplicateKeyError:
            existing = await self.repo.find_member_by_phone_hash(brand_id, changes.get("phone_hash", ""))
            raise AlreadyExists(
                "a member with this phone exists in the brand",
                reason="DUPLICATE_PHONE",
                field="phone",
                details={"member_id": existing["_id"]} if existing else {},
            ) from None
        return self.member_message(doc, request.access)

    # --- attributes, tags, consents -----------------------------------------------------------------

    @staticmethod
    def _definitions_message(brand_id: str, schema: AttributeSchema) -> members_pb2.AttributeDefinitions:
        return members_pb2.AttributeDefinitions(
            brand_id=brand_id,
            definitions=[
                members_pb2.AttributeDefinition(
                    name=d.name,
                    label=d.label,
                    type=d.type,
                    required=d.required,
                    options=d.options,
                    min=d.min,
                    max=d.max,
                )
                for d in schema.definitions
            ],
        )

    async def GetAttributeDefinitions(
        self, request: members_pb2.GetAttributeDefinitionsRequest, context: Any
    ) -> members_pb2.AttributeDefinitions:
        """The brand's custom attribute definitions."""
        brand = await self._brand_or_404(request.brand_id)
        return self._definitions_message(brand["_id"], await self.attribute_schema(brand["_id"]))

    async def PutAttributeDefinitions(
        self, request: members_pb2.PutAttributeDefinitionsRequest, context: Any
    ) -> members_pb2.AttributeDefinitions:
        """Replace the brand's definitions (existing values are kept; new rules apply to new writes)."""
        brand = await self._brand_or_404(request.brand_id)
        defs = validate_definitions(
            [
                AttributeDef(
                    d.name,
                    d.label,
                    d.type,
                    d.required,
                    tuple(d.options),
                    d.min if d.HasField("min") else None,
                    d.max if d.HasField("max") else None,
                )
                for d in request.definitions
            ]
        )
        await self.repo.attribute_defs.replace_one(
            {"_id": brand["_id"]},
            {
                "_id": brand["_id"],
                "definitions": [
                    {
                        "name": d.name,
                        "label": d.label,
                        "type": d.type,
                        "required": d.required,
                        "options": list(d.options),
                        "min": d.min,
                        "max": d.max,
                    }
                    for d in defs
                ],
                "updated_at": now(),
            },
            upsert=True,
        )
        return self._definitions_message(brand["_id"], AttributeSchema.of(defs))

    async def ChangeTags(self, request: members_pb2.ChangeTagsRequest, context: Any) -> members_pb2.Member:
        """Add and remove manual tags; emits MemberUpdated when something changed."""
        add, remove = normalize_tags(request.add), normalize_tags(request.remove)

        async def write(s: AsyncClientSession) -> Doc:
            doc = await self._live_member(request.brand_id, request.member_id, s)
            tags = apply_tag_changes(doc.get("tags", []), add, remove)
            if tags == doc.get("tags", []):
                return doc
            return await self._save_member(doc, {"tags": tags}, s, now())

        return self.member_message(await self.repo.transaction(write), request.access)

    async def SetConsents(self, request: members_pb2.SetConsentsRequest, context: Any) -> members_pb2.Member:
        """Grant or withdraw consents (time and source recorded), or opt out of everything in one step.
        Every change emits MemberUpdated, so campaigns stop messaging a withdrawn channel."""
        source = validate_source(request.source)
        preferred = (
            profile.validate_channel_name(request.preferred_channel) if request.HasField("preferred_channel") else None
        )

        async def write(s: AsyncClientSession) -> Doc:
            at = now()
            doc = await self._live_member(request.brand_id, request.member_id, s)
            consents, withdrawn = profile.apply_consents(
                doc.get("consents") or {}, dict(request.consents), opt_out_all=request.opt_out_all, source=source, at=at
            )
            changes: Doc = {}
            if consents != (doc.get("consents") or {}):
                changes["consents"] = consents
            if preferred is not None and preferred != doc.get("preferred_channel", ""):
                changes["preferred_channel"] = preferred
            if request.opt_out_all and doc.get("preferred_channel"):
                changes["preferred_channel"] = ""
            if not changes:
                return doc
            if withdrawn:
                await self._timeline_add(
                    doc, "consent", f"consent withdrawn: {', '.join(withdrawn)}", "", {"source": source}, at, s
                )
            return await self._save_member(doc, changes, s, at)

        return self.member_message(await self.repo.transaction(write), request.access)

    # --- timeline -----------------------------------------------------------------------------------

    async def _timeline_add(
        self,
        doc: Doc,
        kind: str,
        summary: str,
        actor_id: str,
        data: dict[str, str],
        at: datetime,
        session: AsyncClientSession | None,
        entry_id: str | None = None,
    ) -> Doc:
        entry = {
            "_id": entry_id or new_id("t"),
            "brand_id": doc["brand_id"],
            "member_id": doc["_id"],
            "kind": kind,
            "at": at,
            "summary": summary,
            "actor_id": actor_id,
            "data": data,
        }
        await self.repo.timeline.insert_one(entry, session=session)
        return entry

    @staticmethod
    def _entry(entry: Doc) -> members_pb2.TimelineEntry:
        return members_pb2.TimelineEntry(
            id=entry["_id"],
            member_id=entry["member_id"],
            kind=entry["kind"],
            at=_ts(entry["at"]),
            summary=entry.get("summary", ""),
            actor_id=entry.get("actor_id", ""),
            data={k: str(v) for k, v in (entry.get("data") or {}).items()},
        )

    async def AddMemberNote(self, request: members_pb2.AddMemberNoteRequest, context: Any) -> members_pb2.TimelineEntry:
        """A staff note (or a visit, inquiry or feedback) on the member's timeline."""
        text = (request.text or "").strip()
        if not text or len(text) > 2000:
            raise InvalidArgument("a note is 1-2000 characters", field="text")
        kind = request.kind or "note"
        if kind not in ("note", "visit", "inquiry", "feedback"):
            raise InvalidArgument("kind must be note, visit, inquiry or feedback", field="kind")
        doc = await self._live_member(request.brand_id, request.member_id)
        entry = await self._timeline_add(doc, kind, text, request.actor_id, {}, now(), None)
        return self._entry(entry)

    async def ListTimeline(
        self, request: members_pb2.ListTimelineRequest, context: Any
    ) -> members_pb2.ListTimelineResponse:
        """Newest first, cursor-paged. Registration is not stored as an entry: it is the member's
        ``registered_at``, slotted into its place (imports then write one document per member, not two)."""
        doc = await self._live_member(request.brand_id, request.member_id)
        limit = profile.clamp_limit(request.limit)
        after = profile.decode_cursor(request.cursor)
        query: Doc = {"brand_id": doc["brand_id"], "member_id": doc["_id"]}
        if after:
            query["$or"] = [{"at": {"$lt": after[0]}}, {"at": after[0], "_id": {"$lt": after[1]}}]
        rows = [e async for e in self.repo.timeline.find(query).sort([("at", -1), ("_id", -1)]).limit(limit + 1)]
        registered = {
            "_id": "registered",
            "member_id": doc["_id"],
            "kind": "registered",
            "at": doc["registered_at"],
            "summary": f"registered via {doc.get('channel') or 'api'}",
            "actor_id": "",
            "data": {"store_id": doc.get("store_id", ""), "channel": doc.get("channel", "")},
        }
        key = (registered["at"], registered["_id"])
        if after is None or key < after:
            rows.append(registered)
            rows.sort(key=lambda e: (e["at"], e["_id"]), reverse=True)
        page = rows[:limit]
        more = len(rows) > limit
        next_cursor = profile.encode_cursor(page[-1]["at"], page[-1]["_id"]) if more and page else ""
        return members_pb2.ListTimelineResponse(entries=[self._entry(e) for e in page], next_cursor=next_cursor)

    # --- merge --------------------------------------------------------------------------------------

    async def MergeMembers(
        self, request: members_pb2.MergeMembersRequest, context: Any
    ) -> members_pb2.MergeMembersResponse:
        """Fold a duplicate into the survivor in one transaction: profile blanks, tags, consents, facts,
        identities, timeline and ownership. The merged document stays as a tombstone pointing at the
        survivor (its phone keeps resolving to the survivor), and both originals are kept in ``merges``."""
        brand_id = _require_id(request.brand_id, "brand_id")
        survivor_id = _require_id(request.survivor_member_id, "survivor_member_id")
        merged_id = _require_id(request.merged_member_id, "merged_member_id")
        if survivor_id == merged_id:
            raise InvalidArgument("a member cannot be merged into itself", field="merged_member_id")
        merge_id = new_id("mg")

        async def write(s: AsyncClientSession) -> Doc:
            at = now()
            survivor = await self.repo.get_member(brand_id, survivor_id, s)
            merged = await self.repo.get_member(brand_id, merged_id, s)
            for doc, field in ((survivor, "survivor_member_id"), (merged, "merged_member_id")):
                if doc is None or doc.get("status", "active") != "active":
                    raise NotFound("member not found", reason="MEMBER_NOT_FOUND", field=field)
            assert survivor is not None and merged is not None
            changes = profile.plan_merge(survivor, merged)
            if not survivor.get("phone_enc") and merged.get("phone_enc"):
                # The survivor had no phone (a WeChat-only member): it takes the duplicate's. The tombstone
                # gives its hash up first, so the unique index never sees two owners.
                await self.repo.members.update_one(
                    {"_id": merged_id}, {"$set": {"phone_hash": f"none:{merged_id}"}}, session=s
                )
                changes["phone_hash"] = merged["phone_hash"]
                # Re-encrypting is not needed: the ciphertext is bound to the brand, not to the member.
                changes["phone_enc"] = merged["phone_enc"]
            await self.repo.merges.insert_one(
                {
                    "_id": merge_id,
                    "brand_id": brand_id,
                    "survivor_member_id": survivor_id,
                    "merged_member_id": merged_id,
                    "actor_id": request.actor_id,
                    "reason": request.reason[:500],
                    "at": at,
                    "survivor_before": survivor,
                    "merged_before": merged,
                },
                session=s,
            )
            await self.repo.members.update_one(
                {"_id": merged_id},
                {"$set": {"status": "merged", "merged_into": survivor_id, "merged_at": at, "updated_at": at}},
                session=s,
            )
            await self.repo.identities.update_many(
                {"brand_id": brand_id, "member_id": merged_id}, {"$set": {"member_id": survivor_id}}, session=s
            )
            await self.repo.timeline.update_many(
                {"brand_id": brand_id, "member_id": merged_id}, {"$set": {"member_id": survivor_id}}, session=s
            )
            await self._timeline_add(
                survivor,
                "registered",
                f"registered via {merged.get('channel') or 'api'} (merged member)",
                "",
                {"merged_member_id": merged_id},
                merged["registered_at"],
                s,
                entry_id=f"reg:{merged_id}",
            )
            await self._timeline_add(
                survivor,
                "merged",
                "merged a duplicate member",
                request.actor_id,
                {"merged_member_id": merged_id, "merge_id": merge_id},
                at,
                s,
            )
            await self.outbox.add(
                events_pb2.MemberMerged(
                    brand_id=brand_id, survivor_member_id=survivor_id, merged_member_id=merged_id, merged_at=_ts(at)
                ),
                brand_id=brand_id,
                subject=survivor_id,
                session=s,
            )
            return await self._save_member(survivor, changes, s, at)

        doc = await self.repo.transaction(write)
        return members_pb2.MergeMembersResponse(member=self.member_message(doc), merge_id=merge_id)

    # --- ownership ----------------------------------------------------------------------------------

    async def move_members(
        self,
        s: AsyncClientSession,
        *,
        brand_id: str,
        transfer_id: str,
        query: Doc,
        from_store_id: str,
        from_guide_id: str,
        to_store_id: str,
        to_guide_id: str,
        actor_id: str,
        at: datetime,
    ) -> int:
        """Move every member matching ``query`` inside the caller's transaction; one audit record and
        MembersTransferred events (chunked to stay under the NATS message limit)."""
        ids = [
            d["_id"]
            async for d in self.repo.members.find(
                {"brand_id": brand_id, "status": {"$ne": "merged"}, **query}, {"_id": 1}, session=s
            )
        ]
        changes: Doc = {"updated_at": at}
        if to_store_id:
            changes["store_id"] = to_store_id
        if to_guide_id or from_guide_id:
            changes["guide_id"] = to_guide_id
        if ids:
            await self.repo.members.update_many(
                {"brand_id": brand_id, "_id": {"$in": ids}}, {"$set": changes}, session=s
            )
        await self.repo.transfers.insert_one(
            {
                "_id": f"{brand_id}|{transfer_id}",
                "brand_id": brand_id,
                "transfer_id": transfer_id,
                "from_store_id": from_store_id,
                "from_guide_id": from_guide_id,
                "to_store_id": to_store_id,
                "to_guide_id": to_guide_id,
                "actor_id": actor_id,
                "moved": len(ids),
                "at": at,
            },
            session=s,
        )
        for i in range(0, max(len(ids), 1), _TRANSFER_EVENT_IDS):
            await self.outbox.add(
                events_pb2.MembersTransferred(
                    brand_id=brand_id,
                    transfer_id=transfer_id,
                    from_store_id=from_store_id,
                    from_guide_id=from_guide_id,
                    to_store_id=to_store_id,
                    to_guide_id=to_guide_id,
                    member_ids=ids[i : i + _TRANSFER_EVENT_IDS],
                ),
                brand_id=brand_id,
                subject=transfer_id,
                session=s,
            )
        return len(ids)

    async def TransferMembers(
        self, request: members_pb2.TransferMembersRequest, context: Any
    ) -> members_pb2.TransferMembersResponse:
        """Bulk ownership change by store or by guide, in one transaction, idempotent by ``transfer_id``."""
        brand_id = _require_id(request.brand_id, "brand_id")
        transfer_id = _require_id(request.transfer_id, "transfer_id")[:_MAX_ID]
        from_store, from_guide = request.from_store_id.strip(), request.from_guide_id.strip()
        to_store, to_guide = request.to_store_id.strip(), request.to_guide_id.strip()
        if bool(from_store) == bool(from_guide):
            raise InvalidArgument("give exactly one of from_store_id and from_guide_id", field="from_store_id")
        if not to_store:
            # Members are owned by a store; a transfer without a destination could leave them unowned.
            raise InvalidArgument("to_store_id is required", field="to_store_id")
        fingerprint = {
            "from_store_id": from_store,
            "from_guide_id": from_guide,
            "to_store_id": to_store,
            "to_guide_id": to_guide,
        }
        previous = await self.repo.transfers.find_one({"_id": f"{brand_id}|{transfer_id}"})
        if previous is not None:
            return self._replay(previous, fingerprint)

        async def write(s: AsyncClientSession) -> int:
            await self._brand_or_404(brand_id, s)
            store = await self.repo.get_store(brand_id, to_store, s)
            if store is None or not store.get("open", True):
                raise InvalidArgument("no such open store in this brand", reason="UNKNOWN_STORE", field="to_store_id")
            await self._check_owner(brand_id, "", to_guide, s)
            query = {"store_id": from_store} if from_store else {"guide_id": from_guide}
            return await self.move_members(
                s,
                brand_id=brand_id,
                transfer_id=transfer_id,
                query=query,
                from_store_id=from_store,
                from_guide_id=from_guide,
                to_store_id=to_store,
                to_guide_id=to_guide,
                actor_id=request.actor_id,
                at=now(),
            )

        try:
            moved = await self.repo.transaction(write)
        except DuplicateKeyError:
            # The same transfer id raced with itself: the winner's record is the answer.
            previous = await self.repo.transfers.find_one({"_id": f"{brand_id}|{transfer_id}"})
            if previous is None:
                raise
            return self._replay(previous, fingerprint)
        return members_pb2.TransferMembersResponse(transfer_id=transfer_id, moved=moved)

    @staticmethod
    def _replay(previous: Doc, fingerprint: Doc) -> members_pb2.TransferMembersResponse:
        if any(previous.get(k, "") != v for k, v in fingerprint.items()):
            raise Conflict(
                "this transfer id was used for another transfer", reason="TRANSFER_ID_REUSED", field="transfer_id"
            )
        return members_pb2.TransferMembersResponse(
            transfer_id=previous["transfer_id"], moved=previous["moved"], replayed=True
        )

    async def SetStoreOpen(self, request: members_pb2.SetStoreOpenRequest, context: Any) -> members_pb2.Store:
        """Open or close a store; closing moves its members to ``transfer_to_store_id`` in the same step."""
        brand_id = _require_id(request.brand_id, "brand_id")
        store_id = _require_id(request.store_id, "store_id")
        target = request.transfer_to_store_id.strip()

        async def write(s: AsyncClientSession) -> Doc:
            at = now()
            store = await self.repo.get_store(brand_id, store_id, s)
            if store is None:
                raise NotFound("store not found", reason="STORE_NOT_FOUND", field="store_id")
            if store.get("open", True) == request.open:
                return store
            if not request.open:
                owned = await self.repo.members.count_documents(
                    {"brand_id": brand_id, "store_id": store_id, "status": {"$ne": "merged"}}, session=s
                )
                if owned and not target:
                    raise Conflict(
                        f"the store still owns {owned} members; name transfer_to_store_id",
                        reason="STORE_HAS_MEMBERS",
                        field="transfer_to_store_id",
                        details={"members": owned},
                    )
                if owned:
                    dest = await self.repo.get_store(brand_id, target, s)
                    if dest is None or not dest.get("open", True) or target == store_id:
                        raise InvalidArgument(
                            "no such other open store in this brand",
                            reason="UNKNOWN_STORE",
                            field="transfer_to_store_id",
                        )
                    await self.move_members(
                        s,
                        brand_id=brand_id,
                        transfer_id=f"close-{store_id}-{at.timestamp():.0f}",
                        query={"store_id": store_id},
                        from_store_id=store_id,
                        from_guide_id="",
                        to_store_id=target,
                        to_guide_id="",
                        actor_id=request.actor_id,
                        at=at,
                    )
            await self.repo.stores.update_one(
                {"_id": store_id}, {"$set": {"open": request.open, "status_changed_at": at}}, session=s
            )
            await self.outbox.add(
                events_pb2.StoreStatusChanged(brand_id=brand_id, store_id=store_id, open=request.open),
                brand_id=brand_id,
                subject=store_id,
                session=s,
            )
            return {**store, "open": request.open}

        return self._store(await self.repo.transaction(write))

    async def DeactivateStaff(
        self, request: members_pb2.DeactivateStaffRequest, context: Any
    ) -> members_pb2.DeactivateStaffResponse:
        """A staff member leaves: login refused from now on, and their members move to ``to_guide_id`` (or
        keep only their store) in the same transaction. Repeating it is harmless."""
        brand_id = _require_id(request.brand_id, "brand_id")
        staff_id = _require_id(request.staff_id, "staff_id")
        to_guide = request.to_guide_id.strip()
        if to_guide == staff_id:
            raise InvalidArgument("the members must move to someone else", field="to_guide_id")

        async def write(s: AsyncClientSession) -> tuple[Doc, int, str]:
            at = now()
            staff = await self.repo.get_staff(brand_id, staff_id, s)
            if staff is None:
                raise NotFound("staff not found", reason="STAFF_NOT_FOUND", field="staff_id")
            await self._check_owner(brand_id, "", to_guide, s)
            transfer_id = f"leave-{staff_id}"
            moved = 0
            if await self.repo.members.count_documents({"brand_id": brand_id, "guide_id": staff_id}, session=s):
                transfer_id = f"leave-{staff_id}-{int(at.timestamp() * 1000)}"
                moved = await self.move_members(
                    s,
                    brand_id=brand_id,
                    transfer_id=transfer_id,
                    query={"guide_id": staff_id},
                    from_store_id="",
                    from_guide_id=staff_id,
                    to_store_id="",
                    to_guide_id=to_guide,
                    actor_id=request.actor_id,
                    at=at,
                )
            if staff["active"]:
                await self.repo.staff.update_one(
                    {"_id": staff_id}, {"$set": {"active": False, "left_at": at}}, session=s
                )
                await self.outbox.add(
                    events_pb2.StaffDeactivated(brand_id=brand_id, staff_id=staff_id, left_at=_ts(at)),
                    brand_id=brand_id,
                    subject=staff_id,
                    session=s,
                )
            return {**staff, "active": False}, moved, transfer_id

        staff, moved, transfer_id = await self.repo.transaction(write)
        return members_pb2.DeactivateStaffResponse(staff=self._staff(staff), moved=moved, transfer_id=transfer_id)

    # --- search -------------------------------------------------------------------------------------

    async def SearchMembers(
        self, request: members_pb2.SearchMembersRequest, context: Any
    ) -> members_pb2.SearchMembersResponse:
        """Members by phone, card, name prefix, tag, stores, guide and registration range; newest first."""
        brand_id = _require_id(request.brand_id, "brand_id")
        limit = profile.clamp_limit(request.limit, default=50, maximum=1000)
        query: Doc = {"brand_id": brand_id, "status": {"$nin": ["merged", "erased"]}}
        if request.phone:
            query["phone_hash"] = self.cipher.phone_hash(normalize_phone(request.phone))
        if request.card_no:
            # Cards are looked up through their identity (no members index to maintain on every import).
            card = await self.repo.find_identity(brand_id, "card", request.card_no.strip())
            query["_id"] = card["member_id"] if card else ""
        if request.name_prefix:
            norm = profile.normalize_name(request.name_prefix)[: profile.MAX_NAME_PREFIX]
            if not norm:
                raise InvalidArgument("name prefix is empty", field="name_prefix")
            query["name_keys"] = self.cipher.name_key(norm)
        if request.tag:
            query["all_tags"] = request.tag.strip().lower()
        if request.store_ids:
            query["store_id"] = {"$in": list(request.store_ids)}
        if request.guide_id:
            query["guide_id"] = request.guide_id
        window: Doc = {}
        if request.HasField("registered_from"):
            window["$gte"] = request.registered_from.ToDatetime(tzinfo=UTC)
        if request.HasField("registered_to"):
            window["$lt"] = request.registered_to.ToDatetime(tzinfo=UTC)
        if window:
            query["registered_at"] = window
        after = profile.decode_cursor(request.cursor)
        if after:
            query["$or"] = [{"registered_at": {"$lt": after[0]}}, {"registered_at": after[0], "_id": {"$lt": after[1]}}]
        if request.phone or request.card_no:
            # A phone or card names at most one member: fetch it by its unique key alone and check the other
            # filters here. With the extra conditions in the query the embedded server's planner walked a
            # brand-wide index instead (3 lookups/s); this is the till's hot path.
            key = {"brand_id": brand_id, "phone_hash": query["phone_hash"]} if request.phone else {"_id": query["_id"]}
            doc = await self.repo.members.find_one(key)
            docs = [doc] if doc is not None and _matches(doc, query) else []
        else:
            cursor = self.repo.members.find(query).sort([("registered_at", -1), ("_id", -1)]).limit(limit + 1)
            docs = [d async for d in cursor]
        page = docs[:limit]
        next_cursor = profile.encode_cursor(page[-1]["registered_at"], page[-1]["_id"]) if len(docs) > limit else ""
        await self.audit_pii(brand_id, request.access, [d["_id"] for d in page], "search")
        return members_pb2.SearchMembersResponse(
            members=[self.member_message(d, request.access) for d in page], next_cursor=next_cursor
        )

    # --- PIPL ---------------------------------------------------------------------------------------

    async def ExportMemberData(
        self, request: members_pb2.ExportMemberDataRequest, context: Any
    ) -> members_pb2.ExportMemberDataResponse:
        """Everything held about one member (PIPL copy) as JSON; audited as an unmasked read."""
        doc = await self._live_member(request.brand_id, request.member_id)
        member = self.member_message(doc)
        timeline = [
            e
            async for e in self.repo.timeline.find({"brand_id": doc["brand_id"], "member_id": doc["_id"]}).sort(
                [("at", -1)]
            )
        ]
        identities = [
            {"kind": i["kind"], "value": i["value"]}
            async for i in self.repo.identities.find({"brand_id": doc["brand_id"], "member_id": doc["_id"]})
        ]
        body = {
            "member": json_format.MessageToDict(member, preserving_proto_field_name=True),
            "identities": identities,
            "timeline": [json_format.MessageToDict(self._entry(e), preserving_proto_field_name=True) for e in timeline],
            "merged_from": [
                m["merged_member_id"]
                async for m in self.repo.merges.find(
                    {"brand_id": doc["brand_id"], "survivor_member_id": doc["_id"]}, {"merged_member_id": 1}
                )
            ],
            "exported_at": now().isoformat(),
        }
        await self.audit_pii(
            doc["brand_id"],
            members_pb2.PiiAccess(actor_id=request.actor_id or "system", purpose="pipl-export"),
            [doc["_id"]],
            "export",
        )
        return members_pb2.ExportMemberDataResponse(json=json.dumps(body, ensure_ascii=False, default=str))

    async def EraseMember(
        self, request: members_pb2.EraseMemberRequest, context: Any
    ) -> members_pb2.EraseMemberResponse:
        """PIPL erasure: phone, name, birthday, attributes, identities, notes and tombstones' PII removed in
        one transaction; anonymous facts (store, order counts) stay; MemberErased tells every service.
        Erasing again answers with the first erasure."""
        brand_id = _require_id(request.brand_id, "brand_id")
        member_id = _require_id(request.member_id, "member_id")

        async def write(s: AsyncClientSession) -> datetime:
            at = now()
            doc = await self.repo.get_member(brand_id, member_id, s)
            if doc is None or doc.get("merged_into"):
                raise NotFound("member not found", reason="MEMBER_NOT_FOUND", field="member_id")
            if doc.get("status") == "erased":
                return doc["erased_at"]
            # Duplicates merged into this person hold their PII too.
            ids = [member_id] + [
                d["_id"]
                async for d in self.repo.members.find(
                    {"brand_id": brand_id, "merged_into": member_id}, {"_id": 1}, session=s
                )
            ]
            for mid in ids:
                await self.repo.members.update_one(
                    {"_id": mid},
                    {
                        "$set": {
                            "status": "erased" if mid == member_id else "merged",
                            "phone_hash": f"erased:{mid}",
                            "erased_at": at,
                            "updated_at": at,
                            "attributes": {},
                            "tags": [],
                            "all_tags": [],
                            "auto_tags": [],
                            "birthday": "",
                            "gender": "",
                            "wechat_open_ids": [],
                            "preferred_channel": "",
                        },
                        "$unset": {
                            "phone_enc": "",
                            "name_enc": "",
                            "name_keys": "",
                            "name": "",
                            "card_no": "",
                            "wechat_union_id": "",
                            "import_sha": "",
                            "import_row": "",
                        },
                    },
                    session=s,
                )
            await self.repo.identities.delete_many({"brand_id": brand_id, "member_id": member_id}, session=s)
            # Notes are free text typed about the person; order entries are anonymous facts and stay.
            await self.repo.timeline.delete_many(
                {"brand_id": brand_id, "member_id": member_id, "kind": {"$nin": ["order"]}}, session=s
            )
            await self.repo.merges.update_many(
                {"brand_id": brand_id, "$or": [{"survivor_member_id": member_id}, {"merged_member_id": {"$in": ids}}]},
                {"$unset": {"survivor_before": "", "merged_before": ""}},
                session=s,
            )
            await self.repo.erasures.insert_one(
                {
                    "_id": member_id,
                    "brand_id": brand_id,
                    "actor_id": request.actor_id,
                    "reason": request.reason[:500],
                    "at": at,
                },
                session=s,
            )
            await self.outbox.add(
                events_pb2.MemberErased(brand_id=brand_id, member_id=member_id, erased_at=_ts(at)),
                brand_id=brand_id,
                subject=member_id,
                session=s,
            )
            return at

        erased_at = await self.repo.transaction(write)
        return members_pb2.EraseMemberResponse(member_id=member_id, erased_at=_ts(erased_at))

    # --- automatic tag rules (adapters.auto_tags.AutoTags) -------------------------------------------

    async def GetTagRules(self, request: members_pb2.GetTagRulesRequest, context: Any) -> members_pb2.TagRules:
        """The brand's automatic tag rules and the progress of their last re-evaluation."""
        brand = await self._brand_or_404(request.brand_id)
        return await self.auto_tags.message(brand["_id"])

    async def PutTagRules(self, request: members_pb2.PutTagRulesRequest, context: Any) -> members_pb2.TagRules:
        """Replace the brand's rules (validated, 422 naming the field) and queue the re-evaluation job."""
        brand = await self._brand_or_404(request.brand_id)
        return await self.auto_tags.replace(brand["_id"], request)

    # --- imports (the work is done by adapters.imports.ImportRunner) ---------------------------------

    async def CreateMemberImport(
        self, request: members_pb2.CreateMemberImportRequest, context: Any
    ) -> members_pb2.MemberImport:
        """Open an import job (status uploading); the file follows in chunks."""
        return await self.imports.create(request)

    async def AppendMemberImportChunk(
        self, request: members_pb2.AppendMemberImportChunkRequest, context: Any
    ) -> members_pb2.MemberImport:
        """Store one chunk of the file (at most 1 MiB; idempotent by sequence number)."""
        return await self.imports.append(request)

    async def StartMemberImport(
        self, request: members_pb2.StartMemberImportRequest, context: Any
    ) -> members_pb2.MemberImport:
        """Queue the uploaded file for processing (in the background, resumable)."""
        return await self.imports.start(request)

    async def GetMemberImport(
        self, request: members_pb2.GetMemberImportRequest, context: Any
    ) -> members_pb2.MemberImport:
        """Progress of an import and its first errors."""
        return await self.imports.get(request.brand_id, request.import_id)

    async def ListMemberImportErrors(
        self, request: members_pb2.ListMemberImportErrorsRequest, context: Any
    ) -> members_pb2.ListMemberImportErrorsResponse:
        """Every bad row of an import, in row order, paged."""
        return await self.imports.errors(request)


def _matches(doc: Doc, query: Doc) -> bool:
    """Whether ``doc`` satisfies a SearchMembers query (equality or array membership, $in, $nin, $gte, $lt, $or)."""
    for field, cond in query.items():
        if field == "$or":
            if not any(_matches(doc, sub) for sub in cond):
                return False
            continue
        value = doc.get(field)
        if isinstance(cond, dict):
            for op, arg in cond.items():
                ok = {
                    "$in": lambda a, v=value: v in a,
                    "$nin": lambda a, v=value: v not in a,
                    "$gte": lambda a, v=value: v is not None and v >= a,
                    "$lt": lambda a, v=value: v is not None and v < a,
                }[op](arg)
                if not ok:
                    return False
        elif not (cond in value if isinstance(value, list) else value == cond):
            return False
    return True


class _IdentityTaken(Exception):
    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def _identity_claims(card_no: str, union_id: str, open_id: str) -> list[tuple[str, str]]:
    claims = []
    for kind, value in (("card", card_no), ("wechat_union_id", union_id), ("wechat_open_id", open_id)):
        value = (value or "").strip()
        if len(value) > _MAX_ID:
            raise InvalidArgument(f"longer than {_MAX_ID} characters", field="card_no" if kind == "card" else kind)
        if value:
            claims.append((kind, value))
    return claims


def _with_attributes(cmd: Any, attributes: dict[str, Any]) -> Any:
    return dataclasses.replace(cmd, attributes=attributes)


def validate_source(value: str) -> str:
    """Where a consent change came from: a short token, "api" when not given."""
    source = (value or "").strip().lower() or "api"
    if len(source) > 32 or not source.replace("_", "").replace("-", "").isalnum():
        raise InvalidArgument("source must be 1-32 letters, digits, '_' or '-'", field="source")
    return source


SERVICE_NAME = members_pb2.DESCRIPTOR.services_by_name["MembersService"].full_name


def registration(servicer: MembersServicer) -> tuple[Any, MembersServicer, str]:
    """The (add_to_server, servicer, full name) triple crm_common.grpc_server.Service expects."""
    return members_pb2_grpc.add_MembersServiceServicer_to_server, servicer, SERVICE_NAME
