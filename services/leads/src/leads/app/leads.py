"""Lead use cases: create (validate, assign, store, announce), read and list, follow up, move the stage."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from google.protobuf.timestamp_pb2 import Timestamp

from crm.leads.v1.events_pb2 import LeadAssigned, LeadFollowedUp, LeadStageChanged
from crm_common import paging
from crm_common.errors import AlreadyExists, InvalidArgument, NotFound
from crm_common.outbox import PgOutbox
from crm_common.paging import Page
from leads.adapters import repository
from leads.adapters.directory import MembersDirectory
from leads.adapters.repository import FollowUpRecord, LeadRecord
from leads.domain import assignment
from leads.domain.followup import (
    Actor,
    NewFollowUp,
    idempotency_key,
    may_work,
    require_actor,
    stage_after_follow_up,
    stage_reason,
)
from leads.domain.lead import NewLead, Stage, change_stage, parse_stage

MAX_ID = paging.MAX_ID


@dataclass(frozen=True)
class FollowUpResult:
    """A follow-up, its lead as it is now, and whether this was a repeat of an earlier request."""

    follow_up: FollowUpRecord
    lead: LeadRecord
    replayed: bool


async def _locked_lead(
    conn: asyncpg.Connection, brand_id: str, lead_id: str, store_ids: Sequence[str] | None
) -> LeadRecord:
    """The lead, row-locked for this transaction, or the same NOT_FOUND as a lead outside the caller's stores."""
    lead = await repository.get_lead(conn, brand_id, lead_id, store_ids, lock=True)
    if lead is None:
        raise _lead_not_found()
    return lead


def _lead_not_found() -> NotFound:
    return NotFound("lead not found", reason="LEAD_NOT_FOUND", field="lead_id")


_is_id = paging.is_id


def _filter(value: str, field: str) -> str:
    if len(value) > MAX_ID or "\x00" in value:
        raise InvalidArgument(f"{field} is not an id", reason="INVALID_ID", field=field)
    return value


def _timestamp(moment: datetime | None) -> Timestamp | None:
    if moment is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(moment)
    return ts


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

    async def get_lead(self, brand_id: str, lead_id: str, store_ids: Sequence[str] | None = None) -> LeadRecord:
        """The lead, or NotFound (also when it belongs to another brand or to a store outside ``store_ids``)."""
        found = _is_id(brand_id) and _is_id(lead_id)
        record = await repository.get_lead(self._pool, brand_id, lead_id, store_ids) if found else None
        if record is None:
            raise _lead_not_found()
        return record

    async def list_leads(
        self,
        brand_id: str,
        *,
        assignee_id: str = "",
        stage: str = "",
        store_id: str = "",
        store_ids: Sequence[str] | None = None,
        cursor: str = "",
        limit: int = 0,
    ) -> Page[LeadRecord]:
        """A page of the brand's leads, newest first; each filter given narrows it, ``store_ids`` scopes it."""
        wanted = parse_stage(stage) if stage else None
        size = paging.page_limit(limit)
        after = paging.after(cursor)
        _filter(assignee_id, "assignee_id")
        _filter(store_id, "store_id")
        if not _is_id(brand_id) or (store_ids is not None and not store_ids):
            return Page(items=[], next_cursor="")  # no brand, or a scope with no store: nothing to see
        rows = await repository.list_leads(
            self._pool, brand_id, assignee_id=assignee_id, stage=wanted, store_id=store_id, store_ids=store_ids,
            after=after, limit=size + 1,
        )
        return paging.page(rows, size)

    async def add_follow_up(
        self,
        brand_id: str,
        lead_id: str,
        actor: Actor,
        follow_up: NewFollowUp,
        *,
        store_ids: Sequence[str] | None = None,
        key: str = "",
    ) -> FollowUpResult:
        """Record a contact with the lead, update its plan, and queue LeadFollowedUp (and LeadStageChanged when
        it was new) atomically. With ``key``, a repeat returns the first follow-up and writes nothing."""
        require_actor(actor)
        key = idempotency_key(key)
        fingerprint = follow_up.fingerprint(lead_id, actor.staff_id) if key else ""
        if not (_is_id(brand_id) and _is_id(lead_id)):
            raise _lead_not_found()
        async with self._pool.acquire() as conn, conn.transaction():
            # The lead's row lock orders everything done to one lead: two follow-ups, a follow-up and a stage
            # change, a retry and its original.
            lead = await _locked_lead(conn, brand_id, lead_id, store_ids)
            if key:
                stored = await repository.find_keyed_follow_up(conn, brand_id, key)
                if stored is not None:
                    if stored.fingerprint != fingerprint:
                        raise _key_reused()
                    return FollowUpResult(follow_up=stored.follow_up, lead=lead, replayed=True)
            may_work(lead.assignee_id, actor)
            moved_to = stage_after_follow_up(lead.stage)
            written = await repository.insert_follow_up(
                conn, str(uuid.uuid4()), lead, follow_up, author_id=actor.staff_id, key=key, fingerprint=fingerprint
            )
            if written is None:
                raise _key_reused()
            record, updated = written
            await self._outbox.add(
                conn,
                LeadFollowedUp(
                    brand_id=brand_id,
                    lead_id=lead_id,
                    follow_up_id=record.id,
                    store_id=lead.store_id,
                    author_id=record.author_id,
                    channel=str(record.channel),
                    next_follow_up_at=_timestamp(record.next_follow_up_at),
                    created_at=_timestamp(record.created_at),
                ),
                brand_id=brand_id,
                subject=lead_id,
            )
            if moved_to is not None:
                updated = await self._move(conn, updated, moved_to, actor.staff_id, follow_up_id=record.id)
        return FollowUpResult(follow_up=record, lead=updated, replayed=False)

    async def list_follow_ups(
        self, brand_id: str, lead_id: str, *, store_ids: Sequence[str] | None = None, cursor: str = "", limit: int = 0
    ) -> Page[FollowUpRecord]:
        """A page of the lead's follow-ups, newest first; NotFound when the lead is not visible."""
        size = paging.page_limit(limit)
        after = paging.after(cursor)
        await self.get_lead(brand_id, lead_id, store_ids)
        rows = await repository.list_follow_ups(self._pool, brand_id, lead_id, after=after, limit=size + 1)
        return paging.page(rows, size)

    async def change_stage(
        self,
        brand_id: str,
        lead_id: str,
        actor: Actor,
        stage: str,
        *,
        reason: str = "",
        store_ids: Sequence[str] | None = None,
    ) -> LeadRecord:
        """Move the lead along the pipeline and queue LeadStageChanged atomically; the current stage again is
        a no-op, a move the pipeline forbids a Conflict naming both stages."""
        require_actor(actor)
        target = parse_stage(stage)
        reason = stage_reason(reason)
        if not (_is_id(brand_id) and _is_id(lead_id)):
            raise _lead_not_found()
        async with self._pool.acquire() as conn, conn.transaction():
            lead = await _locked_lead(conn, brand_id, lead_id, store_ids)
            may_work(lead.assignee_id, actor)
            moved_to = change_stage(lead.stage, target)
            if moved_to is None:
                return lead
            return await self._move(conn, lead, moved_to, actor.staff_id, reason=reason)

    async def _move(
        self,
        conn: asyncpg.Connection,
        lead: LeadRecord,
        stage: Stage,
        changed_by: str,
        *,
        reason: str = "",
        follow_up_id: str | None = None,
    ) -> LeadRecord:
        """Store a stage change decided by the domain, with its history row and its event."""
        moved = await repository.set_stage(
            conn, lead, stage, changed_by=changed_by, reason=reason, follow_up_id=follow_up_id
        )
        await self._outbox.add(
            conn,
            LeadStageChanged(
                brand_id=moved.brand_id,
                lead_id=moved.id,
                store_id=moved.store_id,
                assignee_id=moved.assignee_id,
                from_stage=str(lead.stage),
                to_stage=str(stage),
                changed_by=changed_by,
                reason=reason,
                changed_at=_timestamp(moved.stage_changed_at),
            ),
            brand_id=moved.brand_id,
            subject=moved.id,
        )
        return moved


def _key_reused() -> AlreadyExists:
    return AlreadyExists(
        "the Idempotency-Key was already used for a different request",
        reason="IDEMPOTENCY_CONFLICT",
        field="idempotency_key",
    )
