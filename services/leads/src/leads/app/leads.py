"""Lead use cases: create (validate, assign, store, announce) and read."""

from __future__ import annotations

import uuid

import asyncpg

from crm.leads.v1.events_pb2 import LeadAssigned
from crm_common.errors import InvalidArgument, NotFound
from crm_common.outbox import PgOutbox
from leads.adapters import repository
from leads.adapters.directory import MembersDirectory
from leads.adapters.repository import LeadRecord
from leads.domain import assignment
from leads.domain.lead import NewLead


class LeadsApp:
    """Orchestrates the domain, the directory and the database; holds no rules of its own."""

    def __init__(self, pool: asyncpg.Pool, outbox: PgOutbox, directory: MembersDirectory) -> None:
        self._pool = pool
        self._outbox = outbox
        self._directory = directory

    async def _choose_store(self, lead: NewLead) -> assignment.Store:
        if lead.store_id:
            store = await self._directory.get_store(lead.brand_id, lead.store_id)
            if store is None:
                raise InvalidArgument(
                    f"store {lead.store_id} does not exist in this brand",
                    reason="UNKNOWN_STORE",
                    field="store_id",
                )
            return assignment.choose_store([store], store_id=lead.store_id)
        stores = await self._directory.list_stores(lead.brand_id)
        return assignment.choose_store(stores, location=lead.location, city=lead.city)

    async def create_lead(self, lead: NewLead) -> LeadRecord:
        """Assign a validated lead to a store and a person, store it and queue LeadAssigned atomically."""
        # Directory reads happen before the transaction: a slow members service must not hold the
        # store's cursor lock (and with it every other lead of that store).
        store = await self._choose_store(lead)
        people = assignment.candidates(await self._directory.list_staff(lead.brand_id, store.id), store.id)
        lead_id = str(uuid.uuid4())
        async with self._pool.acquire() as conn, conn.transaction():
            # The cursor is read, advanced and saved under a row lock in the same transaction as the
            # insert, so concurrent leads of one store take consecutive turns and a rollback loses none.
            # A store with nobody to take leads gets the lead unassigned and keeps no cursor.
            last = await repository.lock_cursor(conn, lead.brand_id, store.id) if people else None
            picked = assignment.next_assignee(people, last)
            if picked.next_cursor is not None:
                await repository.save_cursor(conn, lead.brand_id, store.id, picked.next_cursor)
            record = await repository.insert_lead(conn, lead_id, lead, store.id, picked.assignee_id)
            await self._outbox.add(
                conn,
                LeadAssigned(
                    brand_id=record.brand_id,
                    lead_id=record.id,
                    store_id=record.store_id,
                    assignee_id=record.assignee_id,
                    source=record.source,
                ),
                brand_id=record.brand_id,
                subject=record.id,
            )
        return record

    async def get_lead(self, brand_id: str, lead_id: str) -> LeadRecord:
        """The lead, or NotFound (also when it belongs to another brand)."""
        record = await repository.get_lead(self._pool, brand_id, lead_id) if brand_id and lead_id else None
        if record is None:
            raise NotFound("lead not found", reason="LEAD_NOT_FOUND", field="lead_id")
        return record
