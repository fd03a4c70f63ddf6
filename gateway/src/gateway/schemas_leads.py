"""Request and response models of the leads routes (API.md "Leads"): leads, their list, follow-ups, stages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from crm.leads.v1 import leads_pb2
from gateway.schemas import Code, Id, Lat, Lng, PageQuery, Phone, RequestBody, Text

# The pipeline as the leads service defines it (domain/lead.py); the service checks the moves between them.
LeadStage = Literal["new", "contacted", "qualified", "won", "lost"]
Channel = Literal["phone", "wechat", "sms", "email", "visit", "other"]


def _ts(value: Timestamp, present: bool) -> datetime | None:
    return value.ToDatetime(tzinfo=UTC) if present else None


def _or_none(value: str) -> str | None:
    return value or None


def _in_utc(moment: datetime) -> datetime:
    # Year 1 at +05:00 is before the first UTC instant Python can hold: a 422 here, not a 500 at conversion.
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("out of range") from exc


class LeadCreate(RequestBody):
    """An inquiry to be assigned to a store and a person."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"source": "web", "name": "Zhao Lei", "phone": "13900139000", "city": "Shanghai",
                          "interest": "wedding rings"}]
        }
    )

    source: Code
    name: Text | None = None
    phone: Phone
    lat: Lat | None = None
    lng: Lng | None = None
    city: Text | None = None
    interest: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None
    store_id: Id | None = None


class LeadOut(BaseModel):
    """A lead, who it is assigned to, and where it stands in the pipeline."""

    id: str
    brand_id: str
    source: str
    name: str | None
    phone: str
    interest: str | None
    store_id: str | None
    assignee_id: str | None
    stage: str
    created_at: datetime | None
    stage_changed_at: datetime | None = None
    next_follow_up_at: datetime | None = Field(
        default=None, description="When the assignee plans to contact the lead next (from the latest follow-up)")
    last_follow_up_at: datetime | None = None
    follow_up_count: int = 0

    @classmethod
    def of(cls, lead: leads_pb2.Lead) -> LeadOut:
        return cls(
            id=lead.id, brand_id=lead.brand_id, source=lead.source, name=_or_none(lead.name),
            phone=lead.phone, interest=_or_none(lead.interest), store_id=_or_none(lead.store_id),
            assignee_id=_or_none(lead.assignee_id), stage=lead.stage,
            created_at=_ts(lead.created_at, lead.HasField("created_at")),
            stage_changed_at=_ts(lead.stage_changed_at, lead.HasField("stage_changed_at")),
            next_follow_up_at=_ts(lead.next_follow_up_at, lead.HasField("next_follow_up_at")),
            last_follow_up_at=_ts(lead.last_follow_up_at, lead.HasField("last_follow_up_at")),
            follow_up_count=lead.follow_up_count,
        )


class LeadsQuery(PageQuery):
    """Filters of the leads list (all optional, combined with AND); newest first."""

    assignee_id: Id | None = None
    stage: LeadStage | None = None
    store_id: Id | None = None


class FollowUpCreate(RequestBody):
    """A contact with the lead, by its assignee or a manager. The first follow-up of a `new` lead moves it to
    `contacted`; a closed (won or lost) lead takes none."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "note": "Called; she wants to try the rings on Saturday.", "channel": "phone",
        "next_follow_up_at": "2026-05-02T10:00:00+08:00"}]})

    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    channel: Channel | None = None
    next_follow_up_at: Annotated[AwareDatetime, AfterValidator(_in_utc)] | None = Field(
        default=None, description="The next planned contact: in the future, within a year")

    def to_proto(self, brand_id: str, lead_id: str) -> leads_pb2.AddFollowUpRequest:
        message = leads_pb2.AddFollowUpRequest(
            brand_id=brand_id, lead_id=lead_id, note=self.note, channel=self.channel or "")
        if self.next_follow_up_at is not None:
            message.next_follow_up_at.FromDatetime(self.next_follow_up_at)
        return message


class FollowUpOut(BaseModel):
    """A follow-up of a lead."""

    id: str
    lead_id: str
    author_id: str = Field(description="The staff member who made the contact")
    note: str
    channel: str
    next_follow_up_at: datetime | None
    created_at: datetime | None

    @classmethod
    def of(cls, f: leads_pb2.FollowUp) -> FollowUpOut:
        return cls(
            id=f.id, lead_id=f.lead_id, author_id=f.author_id, note=f.note, channel=f.channel,
            next_follow_up_at=_ts(f.next_follow_up_at, f.HasField("next_follow_up_at")),
            created_at=_ts(f.created_at, f.HasField("created_at")),
        )


class StageChange(RequestBody):
    """Move a lead along the pipeline: new → contacted → qualified → won, or lost from any open stage."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"stage": "qualified"},
                                                              {"stage": "lost", "reason": "bought elsewhere"}]})

    stage: LeadStage
    reason: Text | None = Field(default=None, description="Why, e.g. why the lead was lost")
