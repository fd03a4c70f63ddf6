"""Journey use cases: create (the trigger saved as a segment, the first run scheduled), read, pause/resume,
stats, and the daily run (a claimed job) that turns each day into a campaign of its own."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from campaigns.adapters import campaign_store, journey_store, repository, segment_store
from campaigns.adapters.campaign_store import CampaignRecord
from campaigns.adapters.journey_store import JourneyRecord
from campaigns.adapters.segment_store import SavedSegment
from campaigns.app.campaigns import CampaignsApp, Stats, stats_of
from campaigns.app.segments import rule_invalid
from campaigns.domain.campaign import CampaignInvalid, Draft, validate_draft
from campaigns.domain.journey import (
    STATUSES,
    JourneyInvalid,
    journey_rule,
    next_run,
    run_date,
    trigger_days,
)
from campaigns.domain.segments import RuleError, parse_rule_json, to_json
from crm_common import paging
from crm_common.errors import InvalidArgument, NotFound
from crm_common.jobs import JobQueue

RUN_JOB = "journey.run"


def _not_found() -> NotFound:
    return NotFound("journey not found", reason="JOURNEY_NOT_FOUND", field="journey_id")


class JourneysApp:
    """Journeys of one service; each daily run goes through ``CampaignsApp`` like any campaign."""

    def __init__(self, pool: asyncpg.Pool, campaigns: CampaignsApp,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.pool = pool
        self.campaigns = campaigns
        self.jobs = JobQueue(pool)
        self._now = now

    async def create(self, brand_id: str, draft: Draft, trigger: str, days: int | None, extra_rule_json: str,
                     scope: Sequence[str] | None, created_by: str) -> JourneyRecord:
        """A journey, active from the next 10:00 (brand-local)."""
        if not paging.is_id(brand_id):
            raise InvalidArgument("brand_id is required", field="brand_id")
        try:
            days = trigger_days(trigger, days)
            draft = validate_draft(Draft(draft.name, "journey", draft.channel, draft.content, None,
                                         draft.attribution_days, draft.cost_per_message_fen),
                                   set(self.campaigns.channels))
        except (JourneyInvalid, CampaignInvalid) as err:
            raise InvalidArgument(err.message, reason="INVALID_JOURNEY", field=err.field) from None
        extra = None
        if extra_rule_json:
            try:
                extra = to_json(parse_rule_json(extra_rule_json, place="extra_rule"))
            except RuleError as err:
                raise rule_invalid(err) from None
        rule = journey_rule(trigger, days, extra)
        compiled, clock, stores = await self.campaigns.segments.compile(brand_id, json.dumps(rule))
        now = self._now()
        first_run = next_run(now, clock.timezone.key)
        async with self.pool.acquire() as conn, conn.transaction():
            count, _ = await segment_store.preview(conn, brand_id, compiled, clock, stores, scope, 0)
            segment = await segment_store.insert_segment(conn, SavedSegment(
                id=str(uuid.uuid4()), brand_id=brand_id, name=draft.name, rule=to_json(compiled),
                store_ids=tuple(scope or ()), created_by=created_by, created_at=now, member_count=count,
            ))
            journey = await journey_store.insert_journey(conn, JourneyRecord(
                id=str(uuid.uuid4()), brand_id=brand_id, name=draft.name, trigger=trigger, days=days,
                extra_rule=extra, segment_id=segment.id, channel=draft.channel, content=draft.content,
                status="active", attribution_days=draft.attribution_days,
                cost_per_message_fen=draft.cost_per_message_fen, store_ids=tuple(scope or ()),
                created_by=created_by, created_at=now, next_run_at=first_run,
            ))
            await self._schedule(conn, journey, first_run, clock.timezone.key)
        return journey

    async def _schedule(self, conn: asyncpg.Connection, journey: JourneyRecord, at: datetime,
                        timezone: str) -> None:
        # Keyed by the day: a resumed or re-run journey never gets two runs for one day.
        await self.jobs.schedule(conn, RUN_JOB, at, {"journey_id": journey.id, "brand_id": journey.brand_id},
                                 key=f"{journey.id}:{run_date(at, timezone).isoformat()}")

    async def get(self, brand_id: str, journey_id: str, scope: Sequence[str] | None) -> JourneyRecord:
        """One journey; NOT_FOUND outside the brand or the caller's stores."""
        found = None
        if paging.is_id(brand_id) and paging.is_id(journey_id):
            found = await journey_store.get_journey(self.pool, brand_id, journey_id, scope)
        if found is None:
            raise _not_found()
        return found

    async def list(self, brand_id: str, scope: Sequence[str] | None, cursor: str,
                   limit: int) -> paging.Page[JourneyRecord]:
        """The brand's journeys in the caller's scope, newest first."""
        if not paging.is_id(brand_id):
            raise InvalidArgument("brand_id is required", field="brand_id")
        size = paging.page_limit(limit)
        rows = await journey_store.list_journeys(self.pool, brand_id, scope, paging.after(cursor), size + 1)
        return paging.page(rows, size)

    async def set_status(self, brand_id: str, journey_id: str, status: str,
                         scope: Sequence[str] | None) -> JourneyRecord:
        """Pause or resume; asking for the status it has changes nothing."""
        if status not in STATUSES:
            raise InvalidArgument(f"status must be one of {', '.join(STATUSES)}", field="status")
        await self.get(brand_id, journey_id, scope)
        async with self.pool.acquire() as conn, conn.transaction():
            journey = await journey_store.get_journey(conn, brand_id, journey_id, scope, lock=True)
            if journey is None:
                raise _not_found()
            if journey.status != status:
                timezone = await repository.brand_timezone(conn, brand_id)
                at = next_run(self._now(), timezone) if status == "active" else None
                await journey_store.set_status(conn, journey_id, status, at)
                if at is not None:
                    await self._schedule(conn, journey, at, timezone)
        return await self.get(brand_id, journey_id, scope)

    async def stats(self, brand_id: str, journey_id: str, scope: Sequence[str] | None) -> Stats:
        """The journey's runs added up."""
        journey = await self.get(brand_id, journey_id, scope)
        runs = await campaign_store.journey_runs(self.pool, journey_id)
        return await stats_of(self.pool, journey.status, runs, journey.cost_per_message_fen)

    async def run(self, conn: asyncpg.Connection, payload: dict[str, Any]) -> None:
        """The daily run (job ``journey.run``): today's campaign, activated, and the next run scheduled.

        Safe to run twice: the day's campaign is found again and activation is idempotent.
        """
        # No row lock: the day's campaign is created on another connection and its foreign key must be able
        # to share-lock the journey. Two runs of one day are kept apart by the (journey, day) unique key.
        journey = await journey_store.get_journey(conn, payload["brand_id"], payload["journey_id"], None)
        if journey is None or journey.status != "active":
            return  # paused: resuming schedules again
        now = self._now()
        timezone = await repository.brand_timezone(conn, journey.brand_id)
        day = run_date(now, timezone)
        campaign = await campaign_store.insert_campaign(self.pool, CampaignRecord(
            id=str(uuid.uuid4()), brand_id=journey.brand_id, name=f"{journey.name} {day.isoformat()}",
            segment_id=journey.segment_id, channel=journey.channel, content=journey.content, status="draft",
            send_at=None, attribution_days=journey.attribution_days,
            cost_per_message_fen=journey.cost_per_message_fen, store_ids=journey.store_ids,
            created_by=f"journey:{journey.id}", created_at=now, activated_at=None, audience=0,
            journey_id=journey.id, run_date=day,
        ))
        await self.campaigns.activate(journey.brand_id, campaign.id, None, f"journey:{journey.id}")
        following = next_run(now, timezone)
        await journey_store.set_status(conn, journey.id, "active", following)
        await self._schedule(conn, journey, following, timezone)
