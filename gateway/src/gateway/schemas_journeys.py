"""Request and response models of the journey routes: automated campaigns that run every day on a trigger
(a birthday coming up, a member gone quiet, a repurchase due). A journey's message is a campaign's (the same
channels, content rules, attribution window and price), so those pieces come from ``schemas_campaigns``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crm.campaigns.v1 import campaigns_pb2
from gateway.schemas import RequestBody, _ts
from gateway.schemas_campaigns import (
    _CONTENT_EXAMPLE,
    _RULE_EXAMPLE,
    AttributionDays,
    CampaignContentIn,
    CampaignContentOut,
    CampaignName,
    Channel,
    CostPerMessageFen,
    Rule,
    content_problems,
    rule_json,
)

Trigger = Literal["birthday", "dormant", "repurchase"]
# What `days` means per trigger, its range and its value when absent (proto `CreateJourneyRequest.days`):
# birthday — days before the birthday; dormant — days since the last purchase; repurchase — days before the
# member's usual interval between purchases is reached. The gateway always sends the value, the default
# included: proto3 cannot tell an absent `days` from 0, and 0 is a valid birthday journey (on the day).
DAYS: dict[str, tuple[int, int, int]] = {  # trigger → (least, most, default)
    "birthday": (0, 30, 3),
    "dormant": (14, 730, 60),
    "repurchase": (0, 30, 0),
}
_DAYS_MAX = max(most for _, most, _ in DAYS.values())
_DAYS_HELP = "; ".join(f"{t}: {lo}–{hi} (default {d})" for t, (lo, hi, d) in DAYS.items())
JourneyStatus = Literal["active", "paused"]


class JourneyCreate(RequestBody):
    """A journey: every day at 10:00 brand time, the members the trigger selects that day (and `extra_rule`, if
    given) get one message on `channel`. A store manager's journey reaches members of their stores only."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "name": "Birthday coupon", "trigger": "birthday", "days": 3,
        "extra_rule": {"all": [{"field": "consent.sms", "op": "=", "value": True}]}, "channel": "sms",
        "content": _CONTENT_EXAMPLE, "attribution_days": 7}]})

    name: CampaignName
    trigger: Trigger = Field(description="`birthday`: the birthday is `days` away; `dormant`: `days` since the last "
                             "purchase; `repurchase`: the member's usual repurchase interval is `days` away")
    days: Annotated[int, Field(strict=True, ge=0, le=_DAYS_MAX)] | None = Field(
        default=None, description=f"Per trigger — {_DAYS_HELP}")
    extra_rule: Rule | None = Field(
        default=None, description="A segment rule the selected members must also match (the campaigns service "
        "checks it; its problems are named `extra_rule.…`)", examples=[_RULE_EXAMPLE])
    channel: Channel
    content: CampaignContentIn
    attribution_days: AttributionDays = Field(
        default=7, description="Orders of messaged members within this many days count as conversions")
    cost_per_message_fen: CostPerMessageFen | None = Field(
        default=None, description="For the ROI; absent or 0: the channel's default price")

    def resolved_days(self) -> int:
        return DAYS[self.trigger][2] if self.days is None else self.days

    def problems(self) -> list[tuple[str, str]]:
        """What the body's fields allow one by one but not together (the days for the trigger, the content for
        the channel), as ``(field, message)``."""
        least, most, _ = DAYS[self.trigger]
        days = self.resolved_days()
        out = [] if least <= days <= most else [("days", f"must be {least}–{most} for {self.trigger}")]
        return out + content_problems(self.channel, self.content)

    def to_proto(self, brand_id: str, scope: campaigns_pb2.StoreScope | None,
                 created_by: str) -> campaigns_pb2.CreateJourneyRequest:
        return campaigns_pb2.CreateJourneyRequest(
            brand_id=brand_id, name=self.name, trigger=self.trigger, days=self.resolved_days(),
            extra_rule_json=rule_json(self.extra_rule) if self.extra_rule is not None else "",
            channel=self.channel, content=self.content.to_proto(), attribution_days=self.attribution_days,
            cost_per_message_fen=self.cost_per_message_fen or 0, scope=scope, created_by=created_by,
        )


class JourneyStatusIn(RequestBody):
    """Pause a journey (no more runs) or resume it (runs again from the next 10:00)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "paused"}]})

    status: JourneyStatus


class JourneyOut(BaseModel):
    """A journey: its trigger and message, whether it runs, and how often it has."""

    id: str
    name: str
    trigger: str
    days: int
    extra_rule: dict[str, Any] | None = Field(description="The extra rule as the service normalised it; null: none")
    segment_id: str = Field(description="The saved rule each run selects with")
    channel: str
    content: CampaignContentOut
    status: str = Field(description="`active` or `paused`", examples=["active"])
    attribution_days: int
    cost_per_message_fen: int = Field(description="The price of one message, for the ROI")
    store_ids: list[str] = Field(description="The creator's stores the journey is limited to; empty: the brand")
    created_by: str = Field(description="The staff member who created it")
    created_at: datetime | None
    next_run_at: datetime | None = Field(description="The next daily run; null while paused")
    runs: int = Field(description="Daily runs so far (each a campaign of its own)")

    @classmethod
    def of(cls, j: campaigns_pb2.Journey) -> JourneyOut:
        return cls(
            id=j.id, name=j.name, trigger=j.trigger, days=j.days,
            extra_rule=json.loads(j.extra_rule_json) if j.extra_rule_json else None, segment_id=j.segment_id,
            channel=j.channel, content=CampaignContentOut.of(j.content), status=j.status,
            attribution_days=j.attribution_days, cost_per_message_fen=j.cost_per_message_fen,
            store_ids=list(j.store_ids), created_by=j.created_by,
            created_at=_ts(j.created_at, j.HasField("created_at")),
            next_run_at=_ts(j.next_run_at, j.HasField("next_run_at")), runs=j.runs,
        )
