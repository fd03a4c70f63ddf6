"""MongoDB persistence of the directory (brands, stores, staff) and members; every query filters by brand."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

T = TypeVar("T")
Doc = dict[str, Any]
Session = AsyncClientSession | None

INDEXES: dict[str, list[IndexModel]] = {
    "brands": [IndexModel([("code", ASCENDING)], unique=True, name="brand_code_unique")],
    "stores": [
        IndexModel([("brand_id", ASCENDING), ("code", ASCENDING)], unique=True, name="store_code_unique"),
    ],
    "staff": [
        IndexModel([("username", ASCENDING)], unique=True, name="username_unique"),
        IndexModel([("brand_id", ASCENDING), ("store_ids", ASCENDING)], name="staff_by_store"),
    ],
    "members": [
        # The authority on "one member per phone per brand": concurrent registrations race here. Members
        # without a phone (WeChat-only, erased) carry a unique placeholder ("none:<id>", "erased:<id>"):
        # the embedded MongoDB-wire server ignores partial indexes for plain queries.
        IndexModel([("brand_id", ASCENDING), ("phone_hash", ASCENDING)], unique=True, name="member_phone_unique"),
        IndexModel([("brand_id", ASCENDING), ("store_id", ASCENDING)], name="members_by_store"),
        IndexModel([("brand_id", ASCENDING), ("guide_id", ASCENDING)], name="members_by_guide"),
        IndexModel(
            [("brand_id", ASCENDING), ("registered_at", DESCENDING), ("_id", DESCENDING)],
            name="members_by_registration",
        ),
        IndexModel([("brand_id", ASCENDING), ("all_tags", ASCENDING)], name="members_by_tag"),
        IndexModel([("brand_id", ASCENDING), ("name_keys", ASCENDING)], name="members_by_name_prefix"),
    ],
    # Card numbers and WeChat ids, unique per brand by construction: _id = "<brand>|<kind>|<value>".
    "identities": [IndexModel([("brand_id", ASCENDING), ("member_id", ASCENDING)], name="identities_by_member")],
    "timeline": [
        IndexModel(
            [("brand_id", ASCENDING), ("member_id", ASCENDING), ("at", DESCENDING), ("_id", DESCENDING)],
            name="timeline_by_member",
        )
    ],
    "import_batches": [IndexModel([("import_id", ASCENDING)], name="import_batches_by_import")],
    "import_errors": [IndexModel([("import_id", ASCENDING), ("row", ASCENDING)], name="import_errors_by_row")],
    "pii_audit": [IndexModel([("brand_id", ASCENDING), ("at", DESCENDING)], name="pii_audit_by_time")],
}
"""The service's own indexes (the platform's outbox/inbox indexes are added by ensure_mongo_indexes)."""


def now() -> datetime:
    """The current UTC time at MongoDB's precision (milliseconds), so what we return is what we stored."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def identity_id(brand_id: str, kind: str, value: str) -> str:
    """The key of an identity document."""
    return f"{brand_id}|{kind}|{value}"


class Repository:
    """Collections of the members database. Writes take the caller's transaction session."""

    def __init__(self, client: AsyncMongoClient[Doc], db: AsyncDatabase[Doc]) -> None:
        self.client = client
        self.db = db
        self.brands = db["brands"]
        self.stores = db["stores"]
        self.staff = db["staff"]
        self.members = db["members"]
        self.identities = db["identities"]
        self.timeline = db["timeline"]
        self.transfers = db["transfers"]
        self.merges = db["merges"]
        self.erasures = db["erasures"]
        self.attribute_defs = db["attribute_defs"]
        self.imports = db["imports"]
        self.import_chunks = db["import_chunks"]
        self.import_errors = db["import_errors"]
        self.import_batches = db["import_batches"]
        self.pii_audit = db["pii_audit"]

    async def transaction(self, work: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
        """Run ``work(session)`` in one multi-document transaction.

        PyMongo retries transient errors (write conflicts between concurrent transactions) and unknown
        commit results; anything else, such as a duplicate key, aborts and propagates.
        """
        async with self.client.start_session() as session:
            return await session.with_transaction(work)

    # --- brands -------------------------------------------------------------------------------------

    async def insert_brand(self, doc: Doc, session: Session) -> None:
        """Insert a brand; DuplicateKeyError when its code is taken."""
        await self.brands.insert_one(doc, session=session)

    async def get_brand(self, brand_id: str, session: Session = None) -> Doc | None:
        """A brand by id, or None."""
        return await self.brands.find_one({"_id": brand_id}, session=session)

    async def list_brands(self) -> list[Doc]:
        """Every brand, oldest first (the group's brands are few)."""
        return [d async for d in self.brands.find({}).sort([("created_at", ASCENDING), ("_id", ASCENDING)])]

    # --- stores -------------------------------------------------------------------------------------

    async def insert_store(self, doc: Doc, session: Session) -> None:
        """Insert a store; DuplicateKeyError when its code is taken in the brand."""
        await self.stores.insert_one(doc, session=session)

    async def get_store(self, brand_id: str, store_id: str, session: Session = None) -> Doc | None:
        """A store of the brand, or None (also when it belongs to another brand)."""
        return await self.stores.find_one({"_id": store_id, "brand_id": brand_id}, session=session)

    async def count_stores(self, brand_id: str, store_ids: list[str], session: Session = None) -> int:
        """How many of ``store_ids`` are stores of the brand."""
        return await self.stores.count_documents({"brand_id": brand_id, "_id": {"$in": store_ids}}, session=session)

    async def list_stores(self, brand_id: str) -> list[Doc]:
        """The brand's stores ordered by code."""
        return [d async for d in self.stores.find({"brand_id": brand_id}).sort("code", ASCENDING)]

    # --- staff --------------------------------------------------------------------------------------

    async def insert_staff(self, doc: Doc, session: Session) -> None:
        """Insert a staff account; DuplicateKeyError when the username is taken."""
        await self.staff.insert_one(doc, session=session)

    async def get_staff(self, brand_id: str, staff_id: str, session: Session = None) -> Doc | None:
        """A staff member of the brand, or None."""
        return await self.staff.find_one({"_id": staff_id, "brand_id": brand_id}, session=session)

    async def find_staff_by_username(self, username: str) -> Doc | None:
        """The account with this (normalised) username, or None."""
        return await self.staff.find_one({"username": username})

    async def set_password_hash(self, staff_id: str, password_hash: str) -> None:
        """Replace a stored password hash (after the hashing parameters were raised)."""
        await self.staff.update_one({"_id": staff_id}, {"$set": {"password_hash": password_hash}})

    async def list_staff(self, brand_id: str, store_id: str = "") -> list[Doc]:
        """The brand's staff, optionally only those scoped to ``store_id``, ordered by username."""
        query: Doc = {"brand_id": brand_id}
        if store_id:
            query["store_ids"] = store_id
        return [d async for d in self.staff.find(query).sort("username", ASCENDING)]

    # --- members ------------------------------------------------------------------------------------

    async def insert_member(self, doc: Doc, session: Session) -> None:
        """Insert a member; DuplicateKeyError when the brand already has this phone hash."""
        await self.members.insert_one(doc, session=session)

    async def get_member(self, brand_id: str, member_id: str, session: Session = None) -> Doc | None:
        """A member of the brand, or None (also when it belongs to another brand)."""
        return await self.members.find_one({"_id": member_id, "brand_id": brand_id}, session=session)

    async def find_member_by_phone_hash(self, brand_id: str, phone_hash: str, session: Session = None) -> Doc | None:
        """The brand's member with this phone hash, or None."""
        return await self.members.find_one({"brand_id": brand_id, "phone_hash": phone_hash}, session=session)

    async def find_identity(self, brand_id: str, kind: str, value: str, session: Session = None) -> Doc | None:
        """The identity document of a card number or WeChat id, or None."""
        return await self.identities.find_one({"_id": identity_id(brand_id, kind, value)}, session=session)

    async def find_in(
        self, collection: str, field: str, values: list[Any], query: Doc | None = None, projection: Doc | None = None
    ) -> list[Doc]:
        """Documents whose ``field`` is in ``values``, asked 100 at a time: the embedded MongoDB-wire
        server's ``$in`` slows down sharply beyond that."""
        out: list[Doc] = []
        for i in range(0, len(values), 100):
            cursor = self.db[collection].find({**(query or {}), field: {"$in": values[i : i + 100]}}, projection)
            out.extend([d async for d in cursor])
        return out
