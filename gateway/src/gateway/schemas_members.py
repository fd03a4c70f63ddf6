"""REST bodies of the members area of API.md beyond registration: profile edits, search, tags, timeline,
imports, transfers, merges, consents, custom attributes, PIPL copies, and the directory's status changes.

Masking is the members service's job (``PiiAccess.mask``): the gateway shows what it is given, and masks again
only when the service returned an unmasked copy to a caller without PII rights (an older service or a fake),
so a phone is never shown in full by mistake and never masked twice (``138****8000`` → ``****``).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, model_validator

from crm.members.v1 import members_pb2
from gateway.schemas import Code, Consents, Id, IsoDate, Phone, RequestBody, StaffOut, Text, mask_phone

Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
AttrName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
AttrValue = Annotated[str, StringConstraints(max_length=1000)]
Channel = Literal["sms", "wechat", "email", "push"]


def _ts(value: Timestamp, present: bool) -> datetime | None:
    return value.ToDatetime(tzinfo=UTC) if present else None


def timestamp(moment: datetime) -> Timestamp:
    """An aware datetime as a protobuf Timestamp."""
    ts = Timestamp()
    ts.FromDatetime(moment.astimezone(UTC))
    return ts


def _mask_name(name: str) -> str:
    # Same shape as the service's mask (王**): the first character, then stars.
    return name[:1] + "*" * max(len(name) - 1, 1) if name else name


# --- member -------------------------------------------------------------------------------------------


class ConsentOut(BaseModel):
    """One channel's consent: when and where it was given or withdrawn."""

    channel: str
    granted: bool
    at: datetime | None
    source: str | None


class FactsOut(BaseModel):
    """Purchase facts the automatic tags are computed from."""

    order_count: int
    total_spend_fen: int
    last_order_at: datetime | None


class MemberView(BaseModel):
    """A member (the 360° profile); ``phone`` and ``name`` are masked for roles without PII rights."""

    id: str
    brand_id: str
    phone: str = Field(examples=["+8613800138000", "138****8000"])
    name: str | None
    gender: str | None
    birthday: date | None
    store_id: str | None
    guide_id: str | None
    channel: str | None
    card_no: str | None
    attributes: dict[str, str]
    consents: dict[str, bool]
    consent_details: list[ConsentOut]
    preferred_channel: str | None
    tags: list[str]
    auto_tags: list[str]
    facts: FactsOut | None
    masked: bool
    registered_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, m: members_pb2.Member, *, mask: bool) -> MemberView:
        phone, name, birthday = m.phone, m.name, m.birthday
        if mask and not m.masked:  # the service did not mask: do it here rather than leak
            phone = mask_phone(phone) if phone else ""
            name, birthday = _mask_name(name), ""
        return cls(
            id=m.id, brand_id=m.brand_id, phone=phone, name=name or None, gender=m.gender or None,
            birthday=date.fromisoformat(birthday) if birthday else None,
            store_id=m.store_id or None, guide_id=m.guide_id or None, channel=m.channel or None,
            card_no=m.card_no or None, attributes=dict(m.attributes), consents=dict(m.consents),
            consent_details=[
                ConsentOut(channel=c.channel, granted=c.granted, at=_ts(c.at, c.HasField("at")),
                           source=c.source or None)
                for c in m.consent_details
            ],
            preferred_channel=m.preferred_channel or None, tags=list(m.tags), auto_tags=list(m.auto_tags),
            facts=FactsOut(
                order_count=m.facts.order_count, total_spend_fen=m.facts.total_spend_fen,
                last_order_at=_ts(m.facts.last_order_at, m.facts.HasField("last_order_at")),
            ) if m.HasField("facts") else None,
            masked=mask or m.masked,
            registered_at=_ts(m.registered_at, m.HasField("registered_at")),
            updated_at=_ts(m.updated_at, m.HasField("updated_at")),
        )


class MemberPatch(RequestBody):
    """PATCH a member: only the fields present change; ``remove_attributes`` deletes custom attributes."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"name": "Wang Fang", "attributes": {"child_birthday": "2023-04-01"}}]})

    phone: Phone | None = None
    name: Text | None = None
    gender: Literal["male", "female", "other"] | None = None
    birthday: IsoDate | None = None
    store_id: Id | None = None
    guide_id: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = Field(
        default=None, description="An empty string removes the guide")
    card_no: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None = None
    attributes: dict[AttrName, AttrValue] = Field(default_factory=dict)
    remove_attributes: list[AttrName] = Field(default_factory=list)
    preferred_channel: Channel | None = None

    def to_proto(self, brand_id: str, member_id: str, actor_id: str,
                 access: members_pb2.PiiAccess) -> members_pb2.UpdateMemberRequest:
        request = members_pb2.UpdateMemberRequest(
            brand_id=brand_id, member_id=member_id, attributes=self.attributes,
            remove_attributes=self.remove_attributes, actor_id=actor_id, access=access,
        )
        for name in ("phone", "name", "gender", "store_id", "guide_id", "card_no", "preferred_channel"):
            if name in self.model_fields_set and getattr(self, name) is not None:
                setattr(request, name, getattr(self, name))
        if self.birthday is not None:
            request.birthday = self.birthday.isoformat()
        return request


class TagsAdd(RequestBody):
    """Manual tags to add (existing ones are kept)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"tags": ["vip", "pet:cat"]}]})

    tags: Annotated[list[Tag], Field(min_length=1, max_length=50)]


class ConsentsPut(RequestBody):
    """Consent changes per channel; ``opt_out_all`` withdraws every channel in one step (PIPL)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"consents": {"sms": False, "wechat": True}, "preferred_channel": "wechat"}]})

    consents: Consents | None = None
    opt_out_all: bool = False
    preferred_channel: Channel | None = None
    source: Code = "console"

    def granted(self) -> dict[str, bool]:
        """The channels the body names, and whether each is now granted."""
        return {k: v for k, v in (self.consents.model_dump() if self.consents else {}).items() if v is not None}

    @model_validator(mode="after")
    def _something(self) -> ConsentsPut:
        if not self.granted() and not self.opt_out_all and self.preferred_channel is None:
            raise ValueError("give consents, opt_out_all or preferred_channel")
        return self


# --- timeline -----------------------------------------------------------------------------------------


class NoteCreate(RequestBody):
    """A staff note (or a recorded visit, inquiry or after-sales feedback) on the member's timeline."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"text": "Asked about the new autumn range", "kind": "inquiry"}]})

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    kind: Literal["note", "visit", "inquiry", "feedback"] = "note"


class TimelineEntryOut(BaseModel):
    """One event in a member's history, newest first."""

    id: str
    member_id: str
    kind: str
    at: datetime | None
    summary: str
    actor_id: str | None
    data: dict[str, str]

    @classmethod
    def of(cls, e: members_pb2.TimelineEntry) -> TimelineEntryOut:
        return cls(id=e.id, member_id=e.member_id, kind=e.kind, at=_ts(e.at, e.HasField("at")),
                   summary=e.summary, actor_id=e.actor_id or None, data=dict(e.data))


# --- ownership ----------------------------------------------------------------------------------------


class TransferCreate(RequestBody):
    """Move every member of a store, or of a guide, to another store (and optionally guide)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"from_guide_id": "st_01J...", "to_store_id": "s_01J...", "to_guide_id": "st_01K..."}]})

    from_store_id: Id | None = None
    from_guide_id: Id | None = None
    to_store_id: Id
    to_guide_id: Id | None = None

    @model_validator(mode="after")
    def _one_source(self) -> TransferCreate:
        if (self.from_store_id is None) == (self.from_guide_id is None):
            raise ValueError("give exactly one of from_store_id and from_guide_id")
        return self


class TransferOut(BaseModel):
    """How many members moved; ``replayed`` when the Idempotency-Key was seen before."""

    transfer_id: str
    moved: int
    replayed: bool


class MergeCreate(RequestBody):
    """Merge a duplicate member into the survivor (identities, tags, timeline, ownership move over)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"survivor_id": "m_01J...", "merged_id": "m_01K...", "reason": "same person"}]})

    survivor_id: Id
    merged_id: Id
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""

    @model_validator(mode="after")
    def _distinct(self) -> MergeCreate:
        if self.survivor_id == self.merged_id:
            raise ValueError("survivor_id and merged_id must differ")
        return self


class MergeOut(BaseModel):
    """The survivor after the merge, and the merge record's id."""

    merge_id: str
    member: MemberView


class ErasureCreate(RequestBody):
    """Why the member's personal data is erased (recorded in the audit, not the member)."""

    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""


class ErasureOut(BaseModel):
    """The erasure is done in members; other services remove their copies on the event."""

    member_id: str
    erased_at: datetime | None


# --- imports ------------------------------------------------------------------------------------------


class ImportAccepted(BaseModel):
    """A new import job; poll ``GET .../member-imports/{id}``."""

    id: str


class ImportErrorOut(BaseModel):
    """One rejected row: 1-based data row number (the header is row 0), the field, and why."""

    row: int
    field: str
    message: str


class ImportOut(BaseModel):
    """Progress of an import job."""

    id: str
    status: str = Field(examples=["uploading", "queued", "running", "done", "failed"])
    format: str
    total: int
    imported: int
    failed: int
    skipped: int = Field(description="Rows already imported by this same file: unchanged")
    merged: int = Field(description="Existing members whose blank fields were filled (on_existing=merge)")
    errors: list[ImportErrorOut] = Field(description="The first errors; errors.csv has them all")
    created_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, j: members_pb2.MemberImport) -> ImportOut:
        return cls(
            id=j.id, status=j.status, format=j.format, total=j.total, imported=j.imported, failed=j.failed,
            skipped=j.skipped, merged=j.merged,
            errors=[ImportErrorOut(row=e.row, field=e.field, message=e.message) for e in j.errors],
            created_at=_ts(j.created_at, j.HasField("created_at")),
            finished_at=_ts(j.finished_at, j.HasField("finished_at")),
        )


# --- custom attributes --------------------------------------------------------------------------------


class AttributeDefinitionBody(RequestBody):
    """A custom member attribute of the brand (e.g. a pet store's ``pet_species``)."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
    label: Text
    type: Literal["text", "number", "date", "enum", "boolean", "multi_select"]
    required: bool = False
    options: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(default_factory=list)
    min: float | None = None
    max: float | None = None

    def to_proto(self) -> members_pb2.AttributeDefinition:
        d = members_pb2.AttributeDefinition(name=self.name, label=self.label, type=self.type,
                                            required=self.required, options=self.options)
        if self.min is not None:
            d.min = self.min
        if self.max is not None:
            d.max = self.max
        return d

    @classmethod
    def of(cls, d: members_pb2.AttributeDefinition) -> AttributeDefinitionBody:
        return cls.model_construct(
            name=d.name, label=d.label, type=d.type, required=d.required, options=list(d.options),
            min=d.min if d.HasField("min") else None, max=d.max if d.HasField("max") else None,
        )


class AttributeDefinitions(RequestBody):
    """The brand's whole set of custom attribute definitions (PUT replaces it)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"definitions": [
        {"name": "pet_species", "label": "Pet species", "type": "enum", "options": ["cat", "dog"]}]}]})

    definitions: Annotated[list[AttributeDefinitionBody], Field(max_length=200)]


# --- automatic tag rules ------------------------------------------------------------------------------

TAG_RULE_FIELDS = ("order_count", "total_spend_fen", "days_since_last_order", "days_since_registration",
                   "days_since_new_category", "gender", "model_churn_risk", "p_alive", "attributes.<name>")


class TagConditionBody(RequestBody):
    """``field op value`` over a fact the tag engine knows (the service checks the value's type per fact)."""

    field: Annotated[str, StringConstraints(min_length=1, max_length=80)] = Field(
        description="One of " + ", ".join(TAG_RULE_FIELDS), examples=["days_since_last_order"])
    op: Literal["=", "!=", ">", ">=", "<", "<=", "in"]
    value: JsonValue = Field(description="A number, text, true/false, or a list of them for `in`", examples=[180])

    @classmethod
    def of(cls, c: members_pb2.TagCondition) -> TagConditionBody:
        return cls.model_construct(field=c.field, op=c.op, value=json.loads(c.value_json or "null"))


class TagRuleBody(RequestBody):
    """The member carries ``tag`` while every condition holds; several rules for one tag are alternatives."""

    tag: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    conditions: Annotated[list[TagConditionBody], Field(min_length=1, max_length=10)]

    def to_proto(self) -> members_pb2.TagRule:
        return members_pb2.TagRule(tag=self.tag, conditions=[
            members_pb2.TagCondition(field=c.field, op=c.op, value_json=json.dumps(c.value, ensure_ascii=False))
            for c in self.conditions])

    @classmethod
    def of(cls, r: members_pb2.TagRule) -> TagRuleBody:
        return cls.model_construct(tag=r.tag, conditions=[TagConditionBody.of(c) for c in r.conditions])


class TagRulesPut(RequestBody):
    """The brand's whole rule set (PUT replaces it); ``use_defaults: true`` with no rules restores the defaults."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"rules": [
        {"tag": "churn_risk", "conditions": [{"field": "order_count", "op": ">=", "value": 1},
                                             {"field": "days_since_last_order", "op": ">", "value": 120}]},
        {"tag": "vip", "conditions": [{"field": "total_spend_fen", "op": ">=", "value": 1000000}]},
        {"tag": "vip", "conditions": [{"field": "attributes.level", "op": "in", "value": ["gold", "black"]}]},
    ]}]})

    rules: Annotated[list[TagRuleBody], Field(max_length=50)] = Field(default_factory=list)
    use_defaults: bool = False


class TagRulesJobOut(BaseModel):
    """The re-evaluation of the brand's members after its rules changed (a background job)."""

    id: str
    state: Literal["pending", "done", "failed"]
    total: int
    processed: int
    changed: int


class TagRulesOut(BaseModel):
    """The rules in force (the defaults until the brand sets its own) and the last re-evaluation's progress."""

    brand_id: str
    is_default: bool
    rules: list[TagRuleBody]
    updated_at: datetime | None
    updated_by: str | None
    reevaluation: TagRulesJobOut | None

    @classmethod
    def of(cls, r: members_pb2.TagRules) -> TagRulesOut:
        job = r.reevaluation if r.HasField("reevaluation") else None
        return cls(
            brand_id=r.brand_id, is_default=r.is_default, rules=[TagRuleBody.of(x) for x in r.rules],
            updated_at=_ts(r.updated_at, r.HasField("updated_at")), updated_by=r.updated_by or None,
            reevaluation=TagRulesJobOut(id=job.id, state=job.state, total=job.total, processed=job.processed,
                                        changed=job.changed) if job else None,
        )


# --- directory ----------------------------------------------------------------------------------------


class StaffDeactivation(RequestBody):
    """A staff member leaves; their members move to ``transfer_to_guide_id`` (else keep only their store)."""

    transfer_to_guide_id: Id | None = None


class StaffDeactivated(BaseModel):
    """The deactivated account and how many members moved."""

    staff: StaffOut
    moved: int
    transfer_id: str | None


class StoreStatus(RequestBody):
    """Open or close a store; closing one that owns members needs ``transfer_to_store_id``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"open": False, "transfer_to_store_id": "s_01K..."}]})

    open: bool
    transfer_to_store_id: Id | None = None
