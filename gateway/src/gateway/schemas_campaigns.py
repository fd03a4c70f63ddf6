"""Request and response models of the campaigns routes (API.md "Campaigns"): segment rules, previews, segments,
campaigns and their stats."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from crm.campaigns.v1 import campaigns_pb2
from gateway.schemas import Id, RequestBody

_RULE_EXAMPLE = {"all": [{"field": "days_since_last_purchase", "op": ">", "value": 90},
                         {"field": "consent.sms", "op": "=", "value": True},
                         {"any": [{"field": "tier", "op": "in", "value": ["gold", "platinum"]},
                                  {"field": "tags", "op": "contains", "value": "vip"}]}]}


def _finite(rule: dict[str, Any]) -> dict[str, Any]:
    # Python's JSON reader takes NaN, Infinity and 1e400 (→ inf); JSON has no such numbers, so the service
    # could not read them back. Refused here, naming the rule, rather than forwarded as invalid JSON.
    try:
        text = json.dumps(rule, allow_nan=False, ensure_ascii=False)
    except ValueError as exc:
        raise ValueError("numbers in a rule must be finite") from exc
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate escape: the service could not store or read it
        raise ValueError("text in a rule must be valid Unicode") from exc
    return rule


Rule = Annotated[
    dict[str, Any],
    AfterValidator(_finite),
    Field(description='A segment rule (API.md "Campaigns"): a group `{"all": [...]}`, `{"any": [...]}` or '
          '`{"not": rule}` whose leaves are `{"field", "op", "value"}`. The campaigns service checks it and '
          "answers 422 with one entry in `errors` per problem (`rule.all[1].op`).",
          examples=[_RULE_EXAMPLE]),
]
SegmentName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


def rule_json(rule: dict[str, Any]) -> str:
    """The rule as the service reads it (``rule_json``): compact JSON, non-ASCII kept as is."""
    return json.dumps(rule, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class SegmentPreviewIn(RequestBody):
    """A rule to count now, without saving it."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"rule": _RULE_EXAMPLE}]})

    rule: Rule
    sample_size: Annotated[int, Field(strict=True, ge=1, le=100)] = Field(
        default=20, description="How many member ids to return as a sample")


class SegmentPreviewOut(BaseModel):
    """How many members the rule selects now (within the caller's stores), and some of their ids."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"count": 1284, "sample": ["m_01J...", "m_01K..."]}]})

    count: int
    sample: list[str] = Field(description="Ids of up to `sample_size` selected members")

    @classmethod
    def of(cls, preview: campaigns_pb2.SegmentPreview) -> SegmentPreviewOut:
        return cls(count=preview.count, sample=list(preview.sample_member_ids))


class SegmentCreate(RequestBody):
    """A named rule to target campaigns at. A store manager's segment selects members of their stores only."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Lapsed SMS subscribers",
                                                               "rule": _RULE_EXAMPLE}]})

    name: SegmentName
    rule: Rule


class SegmentOut(BaseModel):
    """A saved segment: its rule as the service normalised it, and how many members it selected."""

    id: str
    name: str
    rule: dict[str, Any]
    store_ids: list[str] = Field(description="The creator's stores the segment is limited to; empty: the whole brand")
    created_by: str = Field(description="The staff member who created it")
    created_at: datetime | None
    member_count: int = Field(description="Members selected when it was created (or last counted)")

    @classmethod
    def of(cls, segment: campaigns_pb2.Segment) -> SegmentOut:
        return cls(
            id=segment.id, name=segment.name, rule=json.loads(segment.rule_json), store_ids=list(segment.store_ids),
            created_by=segment.created_by,
            created_at=segment.created_at.ToDatetime(tzinfo=UTC) if segment.HasField("created_at") else None,
            member_count=segment.member_count,
        )


# --- campaigns ----------------------------------------------------------------------------------------------

Channel = Literal["sms", "wechat", "email", "push"]
# What a message cannot go out without: SMS and WeChat subscribe messages are sent only through a template the
# provider approved (its variables in `params`), an email needs a subject and a body. Which channels this
# deployment sends on is the service's to say (push: not yet, a 422 naming `channel`), so push has no rule here.
_CONTENT_REQUIRED: dict[str, tuple[str, ...]] = {
    "sms": ("template_id",), "wechat": ("template_id",), "email": ("subject", "text")}
SEND_AT_MAX_AHEAD = timedelta(days=90)
# A send_at a client computed as "now" is a little in the past by the time it arrives (clocks, latency).
_CLOCK_SKEW = timedelta(minutes=5)
MAX_COST_PER_MESSAGE_FEN = 100_000  # ¥1,000: far above any channel's price; sent × cost stays well inside int64
MAX_PARAMS = 20
# PostgreSQL text cannot hold NUL, and a line break in a one-line field (an email's subject is a mail header)
# would split it; tabs and line breaks are fine inside a message's text.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_PARAM_NAME = re.compile(r"[A-Za-z0-9_]{1,32}")  # WeChat's `thing1`, an SMS template's `code` or Tencent's `1`


def _one_line(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must be one line, without control characters")
    return value


def _message_text(value: str) -> str:
    if _CONTROL_IN_TEXT.search(value):
        raise ValueError("must not contain control characters (line breaks and tabs are fine)")
    return value


def _param_names(params: dict[str, str]) -> dict[str, str]:
    for name in params:
        if not _PARAM_NAME.fullmatch(name):
            raise ValueError(f"parameter name {name[:40]!r} must be 1–32 letters, digits or underscores")
    return params


def _schedulable(moment: datetime) -> datetime:
    try:
        moment = moment.astimezone(UTC)  # year 1 at +05:00 has no UTC instant: a 422, not a 500
    except OverflowError as exc:
        raise ValueError("out of range") from exc
    now = datetime.now(UTC)
    if moment < now - _CLOCK_SKEW:
        raise ValueError("must not be in the past")
    if moment > now + SEND_AT_MAX_AHEAD:
        raise ValueError(f"must be at most {SEND_AT_MAX_AHEAD.days} days ahead")
    return moment


CampaignName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
                         AfterValidator(_one_line)]
MessageText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(_message_text)]
OneLine = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(_one_line)]
ParamValue = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), AfterValidator(_one_line)]
_CONTENT_EXAMPLE = {"template_id": "SMS_154950909", "params": {"name": "王芳", "coupon": "¥20"},
                    "text": "王芳您好，您的¥20优惠券本周到期。"}


class CampaignContentIn(RequestBody):
    """What the message says. sms and wechat need `template_id` (the provider's approved template, filled with
    `params`); email needs `subject` and `text`. An empty string counts as absent."""

    model_config = ConfigDict(json_schema_extra={"examples": [_CONTENT_EXAMPLE]})

    text: MessageText | None = Field(
        default=None, description="The message: an SMS's text, an email's body; WeChat shows it as `thing1` when "
        "there are no params")
    subject: OneLine | None = Field(default=None, description="An email's subject")
    template_id: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64,
                                                  pattern=r"^[A-Za-z0-9_.\-]*$")] | None = Field(
        default=None, description="The provider's template: an SMS template code, a WeChat subscribe template id")
    params: Annotated[dict[str, ParamValue], Field(max_length=MAX_PARAMS), AfterValidator(_param_names)] = Field(
        default_factory=dict, description=f"Template parameters (at most {MAX_PARAMS}; names of 1–32 letters, "
        "digits or underscores, values of at most 100 characters)")
    page: Annotated[str, StringConstraints(strip_whitespace=True, max_length=256, pattern=r"^\S*$"),
                    AfterValidator(_one_line)] | None = Field(
        default=None, description="WeChat: the mini-program page the message opens", examples=["pages/coupons/index"])

    def to_proto(self) -> campaigns_pb2.CampaignContent:
        return campaigns_pb2.CampaignContent(text=self.text or "", subject=self.subject or "",
                                             template_id=self.template_id or "", params=self.params,
                                             page=self.page or "")


AttributionDays = Annotated[int, Field(strict=True, ge=1, le=90)]
CostPerMessageFen = Annotated[int, Field(strict=True, ge=0, le=MAX_COST_PER_MESSAGE_FEN)]


def content_problems(channel: str, content: CampaignContentIn) -> list[tuple[str, str]]:
    """The parts of `content` that `channel` needs and the body lacks, as ``(field, message)``: for checks a
    model cannot express on its own (the content depends on the channel), raised with ``errors.invalid``."""
    return [(f"content.{part}", f"required for {channel}")
            for part in _CONTENT_REQUIRED.get(channel, ()) if not getattr(content, part)]


class CampaignCreate(RequestBody):
    """A campaign in draft: one message on one channel to a saved segment's members, sent on activation (or at
    `send_at`). A store manager's campaign reaches members of their stores only."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "name": "Coupons expiring this week", "segment_id": "seg_01J...", "channel": "sms",
        "content": _CONTENT_EXAMPLE, "send_at": "2026-05-02T10:00:00+08:00", "attribution_days": 7}]})

    name: CampaignName
    segment_id: Id
    channel: Channel
    content: CampaignContentIn
    send_at: Annotated[AwareDatetime, AfterValidator(_schedulable)] | None = Field(
        default=None, description="When to send (RFC 3339 with an offset), at most 90 days ahead; absent: on "
        "activation")
    attribution_days: AttributionDays = Field(
        default=7, description="Orders of messaged members within this many days count as conversions")
    cost_per_message_fen: CostPerMessageFen | None = Field(
        default=None, description="For the ROI; absent or 0: the channel's default price")

    def content_problems(self) -> list[tuple[str, str]]:
        """The parts of `content` the channel needs and the body lacks, as ``(field, message)``."""
        return content_problems(self.channel, self.content)

    def to_proto(self, brand_id: str, scope: campaigns_pb2.StoreScope | None,
                 created_by: str) -> campaigns_pb2.CreateCampaignRequest:
        request = campaigns_pb2.CreateCampaignRequest(
            brand_id=brand_id, name=self.name, segment_id=self.segment_id, channel=self.channel,
            content=self.content.to_proto(), attribution_days=self.attribution_days,
            cost_per_message_fen=self.cost_per_message_fen or 0, scope=scope, created_by=created_by,
        )
        if self.send_at is not None:
            request.send_at.FromDatetime(self.send_at)
        return request


class CampaignActivation(RequestBody):
    """Nothing to say: the body may be absent or `{}` (any field is refused)."""


def _ts(value: Timestamp, present: bool) -> datetime | None:
    return value.ToDatetime(tzinfo=UTC) if present else None


class CampaignContentOut(BaseModel):
    """The message as saved; parts the channel does not use are null."""

    text: str | None
    subject: str | None
    template_id: str | None
    params: dict[str, str]
    page: str | None

    @classmethod
    def of(cls, content: campaigns_pb2.CampaignContent) -> CampaignContentOut:
        return cls(text=content.text or None, subject=content.subject or None,
                   template_id=content.template_id or None, params=dict(content.params), page=content.page or None)


class CampaignOut(BaseModel):
    """A campaign: its message, where it stands, and (once active) the audience frozen at activation."""

    id: str
    name: str
    segment_id: str
    channel: str
    content: CampaignContentOut
    status: str = Field(description="`draft`, `active` or `completed`", examples=["draft"])
    send_at: datetime | None = Field(description="When it is sent; null: on activation")
    attribution_days: int
    cost_per_message_fen: int = Field(description="The price of one message, for the ROI")
    store_ids: list[str] = Field(description="The creator's stores the audience is limited to; empty: the brand")
    created_by: str = Field(description="The staff member who created it")
    created_at: datetime | None
    activated_at: datetime | None
    audience: int = Field(description="Members frozen at activation (0 in draft)")

    @classmethod
    def of(cls, c: campaigns_pb2.Campaign) -> CampaignOut:
        return cls(
            id=c.id, name=c.name, segment_id=c.segment_id, channel=c.channel, content=CampaignContentOut.of(c.content),
            status=c.status, send_at=_ts(c.send_at, c.HasField("send_at")), attribution_days=c.attribution_days,
            cost_per_message_fen=c.cost_per_message_fen, store_ids=list(c.store_ids), created_by=c.created_by,
            created_at=_ts(c.created_at, c.HasField("created_at")),
            activated_at=_ts(c.activated_at, c.HasField("activated_at")), audience=c.audience,
        )


class CampaignStatsOut(BaseModel):
    """Delivery and attribution of a campaign so far."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "campaign_id": "cmp_01J...", "status": "active", "audience": 1200, "pending": 0, "sent": 1000, "failed": 20,
        "suppressed_no_consent": 150, "suppressed_frequency_cap": 30, "conversions": 60, "converted_members": 50,
        "revenue_fen": 600_000, "cost_fen": 5_000, "roi": 119.0, "conversion_rate": 0.05}]})

    campaign_id: str
    status: str
    audience: int = Field(description="Members frozen at activation")
    pending: int = Field(description="Messages not sent yet (scheduled, or waiting for quiet hours to end)")
    sent: int
    failed: int
    suppressed_no_consent: int = Field(description="Members left out: no consent for the channel")
    suppressed_frequency_cap: int = Field(description="Members left out: messaged too often lately")
    conversions: int = Field(description="Orders of messaged members within the attribution window")
    converted_members: int
    revenue_fen: int = Field(description="Those orders' totals, less their refunds")
    cost_fen: int = Field(description="sent × cost_per_message_fen")
    roi: float = Field(description="(revenue_fen − cost_fen) / cost_fen; 0 when nothing cost anything")
    conversion_rate: float = Field(description="converted_members / sent")

    @classmethod
    def of(cls, s: campaigns_pb2.CampaignStats) -> CampaignStatsOut:
        return cls(
            campaign_id=s.campaign_id, status=s.status, audience=s.audience, pending=s.pending, sent=s.sent,
            failed=s.failed, suppressed_no_consent=s.suppressed_no_consent,
            suppressed_frequency_cap=s.suppressed_frequency_cap, conversions=s.conversions,
            converted_members=s.converted_members, revenue_fen=s.revenue_fen, cost_fen=s.cost_fen, roi=s.roi,
            conversion_rate=s.conversion_rate,
        )
