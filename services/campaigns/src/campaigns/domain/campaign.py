"""Campaigns: what a draft must say, and the delivery policy every message obeys (no I/O here).

A campaign sends one message on one channel to the members of a saved segment. The policy: a member is
messaged only with consent for the channel, at most ``FrequencyCap.messages`` marketing messages in any
``FrequencyCap.days`` (across campaigns), and never inside the brand's quiet hours (local time) — a message
due then waits for the morning rather than being dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from campaigns.domain.segments import storable

CHANNELS = ("sms", "wechat", "email", "push")
AVAILABLE_CHANNELS = ("sms", "wechat", "email")
DEFAULT_COST_FEN = {"sms": 5, "wechat": 0, "email": 0}  # a typical mainland SMS price; the others are free
DEFAULT_ATTRIBUTION_DAYS = 7
MAX_ATTRIBUTION_DAYS = 90
MAX_NAME = 100
MAX_TEXT = 500
MAX_SEND_ATTEMPTS = 5


class CampaignInvalid(ValueError):
    """A draft breaks a rule; ``field`` names the request field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Content:
    """The message: text, email subject, the provider's template and its parameters, the WeChat page."""

    text: str = ""
    subject: str = ""
    template_id: str = ""
    params: Mapping[str, str] = field(default_factory=dict)
    page: str = ""


@dataclass(frozen=True)
class Draft:
    """A campaign as created."""

    name: str
    segment_id: str
    channel: str
    content: Content
    send_at: datetime | None
    attribution_days: int
    cost_per_message_fen: int


def validate_draft(draft: Draft, configured: set[str]) -> Draft:
    """The draft with defaults applied; raises CampaignInvalid naming the field otherwise.

    ``configured`` are the channels this deployment has provider credentials for.
    """
    name = draft.name.strip()
    if not name or len(name) > MAX_NAME:
        raise CampaignInvalid("name", f"name is required (at most {MAX_NAME} characters)")
    if not draft.segment_id:
        raise CampaignInvalid("segment_id", "segment_id is required")
    if draft.channel not in CHANNELS:
        raise CampaignInvalid("channel", f"channel must be one of {', '.join(CHANNELS)}")
    if draft.channel not in AVAILABLE_CHANNELS:
        raise CampaignInvalid("channel", f"the {draft.channel} channel is not available yet")
    if draft.channel not in configured:
        raise CampaignInvalid("channel", f"the {draft.channel} channel is not configured in this deployment")
    c = draft.content
    if len(c.text) > MAX_TEXT:
        raise CampaignInvalid("content.text", f"at most {MAX_TEXT} characters")
    if draft.channel in ("sms", "wechat") and not c.template_id:
        raise CampaignInvalid("content.template_id", f"{draft.channel} messages need the provider's template id")
    if draft.channel == "email" and not (c.subject.strip() and c.text.strip()):
        raise CampaignInvalid("content.subject" if not c.subject.strip() else "content.text",
                              "an email needs a subject and a text")
    if not all(storable(v) for v in (name, draft.segment_id, c.text, c.subject, c.template_id, c.page,
                                     *c.params, *c.params.values())):
        raise CampaignInvalid("content", "text must be valid UTF-8 without NUL characters")
    days = draft.attribution_days or DEFAULT_ATTRIBUTION_DAYS
    if not 1 <= days <= MAX_ATTRIBUTION_DAYS:
        raise CampaignInvalid("attribution_days", f"attribution_days must be within [1, {MAX_ATTRIBUTION_DAYS}]")
    if draft.cost_per_message_fen < 0:
        raise CampaignInvalid("cost_per_message_fen", "cost_per_message_fen must not be negative")
    cost = draft.cost_per_message_fen or DEFAULT_COST_FEN[draft.channel]
    return Draft(name, draft.segment_id, draft.channel, c, draft.send_at, days, cost)


@dataclass(frozen=True)
class QuietHours:
    """Local times between which no marketing message leaves (the window may wrap midnight)."""

    start: time = time(21, 0)
    end: time = time(9, 0)

    def contains(self, local: time) -> bool:
        """Whether a local time of day is inside the window."""
        if self.start == self.end:
            return False  # an empty window
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, moment: datetime, timezone: str) -> datetime:
        """``moment`` itself when it is outside the window, else the window's end (brand-local), as UTC."""
        tz = ZoneInfo(timezone)
        local = moment.astimezone(tz)
        if not self.contains(local.timetz().replace(tzinfo=None)):
            return moment
        day = local.date() if datetime.combine(local.date(), self.end) > local.replace(tzinfo=None) \
            else local.date() + timedelta(days=1)
        # Built in the zone from the wall-clock end, so a DST change in between keeps the local time.
        return datetime.combine(day, self.end, tzinfo=tz).astimezone(moment.tzinfo)


@dataclass(frozen=True)
class FrequencyCap:
    """At most ``messages`` marketing messages to one member in any ``days`` days, across campaigns."""

    messages: int = 2
    days: int = 7

    def allows(self, sent_recently: int) -> bool:
        """Whether one more message may go to a member who got ``sent_recently`` in the window."""
        return sent_recently < self.messages


def retry_delay(attempts: int) -> timedelta:
    """Back-off after a provider's transient failure: 30 s, 1 min, 2 min, ... at most 30 min."""
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 1800))


@dataclass(frozen=True)
class Outcomes:
    """A campaign's delivery counts, as stats report them."""

    audience: int = 0
    pending: int = 0
    sent: int = 0
    failed: int = 0
    suppressed_no_consent: int = 0
    suppressed_frequency_cap: int = 0


def roi(revenue_fen: int, cost_fen: int) -> float:
    """Return on the campaign's cost; 0 when it cost nothing (ROI is undefined, not infinite)."""
    return (revenue_fen - cost_fen) / cost_fen if cost_fen > 0 else 0.0
