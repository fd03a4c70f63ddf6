"""Request and response models of the campaigns routes (API.md "Campaigns"): segment rules, previews, segments."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from crm.campaigns.v1 import campaigns_pb2
from gateway.schemas import RequestBody

_RULE_EXAMPLE = {"all": [{"field": "days_since_last_purchase", "op": ">", "value": 90},
                         {"field": "consent.sms", "op": "=", "value": True},
                         {"any": [{"field": "tier", "op": "in", "value": ["gold", "platinum"]},
                                  {"field": "tags", "op": "contains", "value": "vip"}]}]}


def _finite(rule: dict[str, Any]) -> dict[str, Any]:
    # Python's JSON reader takes NaN, Infinity and 1e400 (→ inf); JSON has no such numbers, so the service
    # could not read them back. Refused here, naming the rule, rather than forwarded as invalid JSON.
    try:
        json.dumps(rule, allow_nan=False)
    except ValueError as exc:
        raise ValueError("numbers in a rule must be finite") from exc
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
