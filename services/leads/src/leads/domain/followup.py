"""Working a lead: who may, what a follow-up must hold, and what it does to the lead's stage."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from crm_common.errors import Conflict, InvalidArgument, PermissionDenied
from leads.domain.lead import Stage

MAX_NOTE = 2000
"""Enough for a call summary; a bad client cannot store megabytes per follow-up."""
MAX_REASON = 200
MAX_KEY = 128
MAX_SCHEDULE_AHEAD = timedelta(days=366)
"""A next contact planned further out than a year is a typo (2052 for 2025), not a plan."""


class Channel(StrEnum):
    """How the lead was contacted."""

    PHONE = "phone"
    WECHAT = "wechat"
    SMS = "sms"
    EMAIL = "email"
    VISIT = "visit"  # the customer came to the store
    OTHER = "other"


@dataclass(frozen=True)
class Actor:
    """The staff member working a lead; a manager is a store manager or a brand or group admin."""

    staff_id: str
    manager: bool = False


def require_actor(actor: Actor) -> Actor:
    """The actor, or InvalidArgument when the caller did not say who acts (the records must name someone)."""
    if not actor.staff_id.strip() or "\x00" in actor.staff_id:
        raise InvalidArgument("actor.staff_id is required", reason="REQUIRED", field="actor.staff_id")
    return actor


def may_work(assignee_id: str, actor: Actor) -> None:
    """Only the lead's assignee or a manager works a lead; PermissionDenied ``NOT_ASSIGNEE`` otherwise.

    An unassigned lead (its store had nobody to take it) is a manager's to hand out, so a clerk cannot
    pick it up by writing a note on it.
    """
    if actor.manager or (assignee_id and assignee_id == actor.staff_id):
        return
    raise PermissionDenied(
        "only the lead's assignee or a manager may work this lead", reason="NOT_ASSIGNEE", field="lead_id"
    )


def parse_channel(value: str) -> Channel:
    """The channel named ``value`` (empty: other); InvalidArgument on ``channel`` for anything else."""
    if not value.strip():
        return Channel.OTHER
    try:
        return Channel(value.strip())
    except ValueError:
        allowed = ", ".join(Channel)
        raise InvalidArgument(
            f"unknown channel {value!r}: use one of {allowed}", reason="UNKNOWN_CHANNEL", field="channel"
        ) from None


def stage_reason(value: str) -> str:
    """The optional reason given with a stage change (why a lead was lost), trimmed and bounded."""
    value = value.strip()
    if len(value) > MAX_REASON:
        raise InvalidArgument(f"reason is longer than {MAX_REASON} characters", reason="TOO_LONG", field="reason")
    if "\x00" in value:
        raise InvalidArgument("reason contains a NUL character", reason="INVALID_TEXT", field="reason")
    return value


def idempotency_key(value: str) -> str:
    """The client's key as given ('' when none); bounded so it can be indexed."""
    if len(value) > MAX_KEY or "\x00" in value:
        raise InvalidArgument(
            f"idempotency_key must be at most {MAX_KEY} characters, without NUL", reason="INVALID_KEY",
            field="idempotency_key",
        )
    return value


@dataclass(frozen=True)
class NewFollowUp:
    """A validated follow-up before it is stored."""

    note: str
    channel: Channel
    next_follow_up_at: datetime | None = None

    @classmethod
    def create(
        cls, *, note: str, channel: str = "", next_follow_up_at: datetime | None = None, now: datetime
    ) -> NewFollowUp:
        """Validate raw input; the first bad field raises InvalidArgument naming it."""
        note = note.strip()
        if not note:
            raise InvalidArgument("note is required", reason="REQUIRED", field="note")
        if len(note) > MAX_NOTE:
            raise InvalidArgument(f"note is longer than {MAX_NOTE} characters", reason="TOO_LONG", field="note")
        if "\x00" in note:
            raise InvalidArgument("note contains a NUL character", reason="INVALID_TEXT", field="note")
        parsed = parse_channel(channel)
        if next_follow_up_at is not None:
            if next_follow_up_at.tzinfo is None:
                raise InvalidArgument(
                    "next_follow_up_at needs a time zone", reason="INVALID_TIME", field="next_follow_up_at"
                )
            if next_follow_up_at <= now:
                raise InvalidArgument(
                    "next_follow_up_at must be in the future", reason="OUT_OF_RANGE", field="next_follow_up_at"
                )
            if next_follow_up_at > now + MAX_SCHEDULE_AHEAD:
                raise InvalidArgument(
                    "next_follow_up_at must be within a year", reason="OUT_OF_RANGE", field="next_follow_up_at"
                )
        return cls(note=note, channel=parsed, next_follow_up_at=next_follow_up_at)

    def fingerprint(self, lead_id: str, author_id: str) -> str:
        """What a repeat with the same idempotency key must match to count as the same request."""
        content = {
            "lead_id": lead_id,
            "author_id": author_id,
            "note": self.note,
            "channel": str(self.channel),
            "next_follow_up_at": self.next_follow_up_at.timestamp() if self.next_follow_up_at else None,
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def stage_after_follow_up(current: Stage) -> Stage | None:
    """The stage a follow-up moves the lead to (None: it stays); Conflict ``LEAD_CLOSED`` on a closed lead.

    Reaching out is what "contacted" means, so the first follow-up of a new lead records it instead of
    leaving the assignee a second click. Won and lost leads take no follow-ups: the customer's story goes on
    in their member timeline, not in a closed inquiry.
    """
    if current.closed:
        raise Conflict(
            f"the lead is {current}: a closed lead takes no follow-ups",
            reason="LEAD_CLOSED",
            field="lead_id",
            details={"stage": str(current)},
        )
    return Stage.CONTACTED if current is Stage.NEW else None
