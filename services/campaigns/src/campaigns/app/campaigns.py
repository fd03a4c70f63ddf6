"""Campaign use cases: create, activate (freeze the audience, schedule the messages), send one message as a
claimed job, attribute orders, report stats. Orchestration only; the policy lives in ``domain.campaign``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from google.protobuf.timestamp_pb2 import Timestamp

from campaigns.adapters import campaign_store, repository, segment_store
from campaigns.adapters.campaign_store import CampaignRecord
from campaigns.adapters.channels import Channel, Outcome, OutgoingMessage, Recipient
from campaigns.adapters.contacts import MemberContacts
from campaigns.app.segments import SegmentsApp
from campaigns.domain.campaign import (
    MAX_SEND_ATTEMPTS,
    CampaignInvalid,
    Draft,
    FrequencyCap,
    Outcomes,
    QuietHours,
    retry_delay,
    roi,
    validate_draft,
)
from crm.campaigns.v1.events_pb2 import CampaignActivated, CampaignMessageSent
from crm_common import paging
from crm_common.errors import InvalidArgument, NotFound, RemoteError
from crm_common.jobs import RunLater
from crm_common.outbox import PgOutbox

SEND_JOB = "campaign.send"


@dataclass(frozen=True)
class Stats:
    """The delivery and attribution figures of a campaign (or of a journey's runs)."""

    status: str
    outcomes: Outcomes
    conversions: int
    converted_members: int
    revenue_fen: int
    cost_fen: int
    roi: float
    conversion_rate: float


async def stats_of(pool: asyncpg.Pool, status: str, campaigns: Sequence[CampaignRecord],
                   cost_per_message_fen: int) -> Stats:
    """Delivery counts and attributed orders of ``campaigns`` added up."""
    ids = [c.id for c in campaigns]
    outcomes = await campaign_store.outcomes(pool, ids, sum(c.audience for c in campaigns))
    orders, members, revenue = await campaign_store.conversions(pool, ids)
    cost = outcomes.sent * cost_per_message_fen
    return Stats(status=status, outcomes=outcomes, conversions=orders, converted_members=members,
                 revenue_fen=revenue, cost_fen=cost, roi=roi(revenue, cost),
                 conversion_rate=members / outcomes.sent if outcomes.sent else 0.0)


def _not_found() -> NotFound:
    return NotFound("campaign not found", reason="CAMPAIGN_NOT_FOUND", field="campaign_id")


def _timestamp(moment: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(moment)
    return ts


def _scope_of(campaign_scope: Sequence[str], segment_scope: Sequence[str]) -> list[str] | None:
    """Whose members a campaign may reach: the creator's stores, within the segment's own stores."""
    if campaign_scope and segment_scope:
        return sorted(set(campaign_scope) & set(segment_scope))
    return list(campaign_scope or segment_scope) or None


class CampaignsApp:
    """Campaigns of one service: drafts, activation, the send job, attribution and stats."""

    def __init__(self, pool: asyncpg.Pool, outbox: PgOutbox, segments: SegmentsApp,
                 channels: Mapping[str, Channel], contacts: MemberContacts, *,
                 quiet_hours: QuietHours | None = None, frequency_cap: FrequencyCap | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.pool = pool
        self.outbox = outbox
        self.segments = segments
        self.channels = channels
        self.contacts = contacts
        self.quiet_hours = quiet_hours or QuietHours()
        self.frequency_cap = frequency_cap or FrequencyCap()
        self._now = now

    async def create(self, brand_id: str, draft: Draft, scope: Sequence[str] | None,
                     created_by: str) -> CampaignRecord:
        """A draft campaign for a saved segment the caller can see."""
        try:
            draft = validate_draft(draft, set(self.channels))
        except CampaignInvalid as err:
            raise InvalidArgument(err.message, reason="INVALID_CAMPAIGN", field=err.field) from None
        if draft.send_at is not None and draft.send_at > self._now() + timedelta(days=90):
            raise InvalidArgument("send_at must be within 90 days", field="send_at")
        await self.segments.get(brand_id, draft.segment_id, scope)  # NOT_FOUND outside the caller's view
        return await campaign_store.insert_campaign(self.pool, CampaignRecord(
            id=str(uuid.uuid4()), brand_id=brand_id, name=draft.name, segment_id=draft.segment_id,
            channel=draft.channel, content=draft.content, status="draft", send_at=draft.send_at,
            attribution_days=draft.attribution_days, cost_per_message_fen=draft.cost_per_message_fen,
            store_ids=tuple(scope or ()), created_by=created_by, created_at=self._now(), activated_at=None,
            audience=0,
        ))

    async def get(self, brand_id: str, campaign_id: str, scope: Sequence[str] | None) -> CampaignRecord:
        """One campaign; NOT_FOUND outside the brand or the caller's stores."""
        found = None
        if paging.is_id(brand_id) and paging.is_id(campaign_id):
            found = await campaign_store.get_campaign(self.pool, brand_id, campaign_id, scope)
        if found is None:
            raise _not_found()
        return found

    async def list(self, brand_id: str, scope: Sequence[str] | None, cursor: str,
                   limit: int) -> paging.Page[CampaignRecord]:
        """The brand's campaigns in the caller's scope, newest first."""
        if not paging.is_id(brand_id):
            raise InvalidArgument("brand_id is required", field="brand_id")
        size = paging.page_limit(limit)
        rows = await campaign_store.list_campaigns(self.pool, brand_id, scope, paging.after(cursor), size + 1)
        return paging.page(rows, size)

    async def activate(self, brand_id: str, campaign_id: str, scope: Sequence[str] | None,
                       activated_by: str) -> CampaignRecord:
        """Freeze the audience and schedule its messages, in one transaction; a repeat changes nothing."""
        await self.get(brand_id, campaign_id, scope)
        async with self.pool.acquire() as conn, conn.transaction():
            campaign = await campaign_store.get_campaign(conn, brand_id, campaign_id, scope, lock=True)
            if campaign is None:
                raise _not_found()
            if campaign.status != "draft":
                return campaign  # activated before (a retry, or a second click)
            segment = await self.segments.get(brand_id, campaign.segment_id, None)
            rule, clock, stores = await self.segments.compile(brand_id, json.dumps(segment.rule))
            now, timezone = self._now(), clock.timezone.key
            query, params = segment_store.selection(
                brand_id, rule, clock, stores, _scope_of(campaign.store_ids, segment.store_ids)
            )
            audience, pending = await campaign_store.freeze_audience(conn, campaign_id, campaign.channel, query,
                                                                     params)
            first = self.quiet_hours.next_allowed(max(now, campaign.send_at or now), timezone)
            await campaign_store.schedule_sends(conn, campaign_id, brand_id, SEND_JOB, first)
            activated = await campaign_store.mark_active(conn, campaign_id, now, activated_by, audience, pending)
            await self.outbox.add(conn, CampaignActivated(
                brand_id=brand_id, campaign_id=campaign_id, channel=campaign.channel, audience=audience,
                scheduled=pending, activated_at=_timestamp(now)), brand_id=brand_id, subject=campaign_id)
            return activated

    async def stats(self, brand_id: str, campaign_id: str, scope: Sequence[str] | None) -> Stats:
        """Delivery counts and the orders attributed to the campaign."""
        campaign = await self.get(brand_id, campaign_id, scope)
        return await stats_of(self.pool, campaign.status, [campaign], campaign.cost_per_message_fen)

    async def send(self, conn: asyncpg.Connection, payload: dict[str, Any]) -> RunLater | None:
        """The job of one message: policy checks at send time, then the provider. Runs in the job's
        transaction, so the outcome, the member's message count and the event commit together; a crash
        after the provider accepted sends again with the same idempotency key."""
        campaign_id, member_id, brand_id = payload["campaign_id"], payload["member_id"], payload["brand_id"]
        recipient = await campaign_store.lock_recipient(conn, campaign_id, member_id)
        if recipient is None or recipient["status"] != "pending":
            return None
        campaign = await campaign_store.get_campaign(conn, brand_id, campaign_id, None)
        assert campaign is not None  # recipients are only created for an existing campaign
        now = self._now()
        allowed = self.quiet_hours.next_allowed(now, await repository.brand_timezone(conn, brand_id))
        if allowed > now:
            return RunLater(allowed)

        async def finish(status: str, **kwargs: Any) -> None:
            await campaign_store.finish_recipient(conn, campaign_id, member_id, status, **kwargs)

        await campaign_store.lock_member_messages(conn, brand_id, member_id)
        now = self._now()  # after waiting for the member's lock: the cap window and sent_at count from here
        window = now - timedelta(days=self.frequency_cap.days)
        if not self.frequency_cap.allows(await campaign_store.sent_since(conn, brand_id, member_id, window)):
            await finish("suppressed_frequency_cap")
            return None
        attempts = recipient["attempts"] + 1
        try:
            contact = await self.contacts.contact(brand_id, member_id, purpose=f"campaign {campaign_id}")
        except RemoteError as err:
            # The directory is away: retried like a provider's transient failure, so the recipient ends
            # failed (not pending forever) if it stays away.
            return await self._retry_or_fail(finish, now, attempts, f"members service: {err.code.name}")
        if contact is None:
            await finish("failed", detail="the member no longer exists")
            return None
        if contact.consents.get(campaign.channel) is not True:
            await finish("suppressed_no_consent")  # consent withdrawn since the audience was frozen
            return None
        channel = self.channels.get(campaign.channel)
        if channel is None:
            await finish("failed", detail=f"the {campaign.channel} channel is no longer configured")
            return None
        delivery = await channel.send(OutgoingMessage(
            idempotency_key=f"{campaign_id}:{member_id}",
            recipient=Recipient(member_id=member_id, phone=contact.phone, wechat_open_id=contact.wechat_open_id,
                                email=contact.email),
            content=campaign.content,
        ))
        if delivery.outcome is Outcome.SENT:
            await finish("sent", at=now, provider_message_id=delivery.provider_message_id, attempts=attempts)
            await self.outbox.add(conn, CampaignMessageSent(
                brand_id=brand_id, campaign_id=campaign_id, member_id=member_id, channel=campaign.channel,
                sent_at=_timestamp(now)), brand_id=brand_id, subject=member_id)
            return None
        if delivery.outcome is Outcome.RETRY:
            return await self._retry_or_fail(finish, now, attempts, delivery.detail)
        await finish("failed", detail=delivery.detail, attempts=attempts)
        return None

    @staticmethod
    async def _retry_or_fail(finish: Callable[..., Awaitable[None]], now: datetime, attempts: int,
                             detail: str) -> RunLater | None:
        """A transient failure: try again after a back-off, or give up after ``MAX_SEND_ATTEMPTS``."""
        if attempts < MAX_SEND_ATTEMPTS:
            await finish("pending", detail=detail, attempts=attempts)
            return RunLater(now + retry_delay(attempts))
        await finish("failed", detail=detail, attempts=attempts)
        return None
