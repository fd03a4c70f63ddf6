import datetime

from crm.common.v1 import types_pb2 as _types_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StoreScope(_message.Message):
    __slots__ = ("store_ids",)
    STORE_IDS_FIELD_NUMBER: _ClassVar[int]
    store_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, store_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class Actor(_message.Message):
    __slots__ = ("staff_id", "manager")
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    MANAGER_FIELD_NUMBER: _ClassVar[int]
    staff_id: str
    manager: bool
    def __init__(self, staff_id: _Optional[str] = ..., manager: _Optional[bool] = ...) -> None: ...

class CreateLeadRequest(_message.Message):
    __slots__ = ("brand_id", "source", "name", "phone", "location", "city", "interest", "store_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    INTEREST_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    source: str
    name: str
    phone: str
    location: _types_pb2.GeoPoint
    city: str
    interest: str
    store_id: str
    def __init__(self, brand_id: _Optional[str] = ..., source: _Optional[str] = ..., name: _Optional[str] = ..., phone: _Optional[str] = ..., location: _Optional[_Union[_types_pb2.GeoPoint, _Mapping]] = ..., city: _Optional[str] = ..., interest: _Optional[str] = ..., store_id: _Optional[str] = ...) -> None: ...

class GetLeadRequest(_message.Message):
    __slots__ = ("brand_id", "lead_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    lead_id: str
    def __init__(self, brand_id: _Optional[str] = ..., lead_id: _Optional[str] = ...) -> None: ...

class Lead(_message.Message):
    __slots__ = ("id", "brand_id", "source", "name", "phone", "interest", "store_id", "assignee_id", "stage", "created_at", "stage_changed_at", "next_follow_up_at", "last_follow_up_at", "follow_up_count")
    ID_FIELD_NUMBER: _ClassVar[int]
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    INTEREST_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STAGE_CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    NEXT_FOLLOW_UP_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_FOLLOW_UP_AT_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_UP_COUNT_FIELD_NUMBER: _ClassVar[int]
    id: str
    brand_id: str
    source: str
    name: str
    phone: str
    interest: str
    store_id: str
    assignee_id: str
    stage: str
    created_at: _timestamp_pb2.Timestamp
    stage_changed_at: _timestamp_pb2.Timestamp
    next_follow_up_at: _timestamp_pb2.Timestamp
    last_follow_up_at: _timestamp_pb2.Timestamp
    follow_up_count: int
    def __init__(self, id: _Optional[str] = ..., brand_id: _Optional[str] = ..., source: _Optional[str] = ..., name: _Optional[str] = ..., phone: _Optional[str] = ..., interest: _Optional[str] = ..., store_id: _Optional[str] = ..., assignee_id: _Optional[str] = ..., stage: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stage_changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_follow_up_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_follow_up_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., follow_up_count: _Optional[int] = ...) -> None: ...

class ListLeadsRequest(_message.Message):
    __slots__ = ("brand_id", "assignee_id", "stage", "store_id", "scope", "cursor", "limit")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    assignee_id: str
    stage: str
    store_id: str
    scope: StoreScope
    cursor: str
    limit: int
    def __init__(self, brand_id: _Optional[str] = ..., assignee_id: _Optional[str] = ..., stage: _Optional[str] = ..., store_id: _Optional[str] = ..., scope: _Optional[_Union[StoreScope, _Mapping]] = ..., cursor: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListLeadsResponse(_message.Message):
    __slots__ = ("leads", "next_cursor")
    LEADS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    leads: _containers.RepeatedCompositeFieldContainer[Lead]
    next_cursor: str
    def __init__(self, leads: _Optional[_Iterable[_Union[Lead, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class FollowUp(_message.Message):
    __slots__ = ("id", "brand_id", "lead_id", "author_id", "note", "channel", "next_follow_up_at", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    NEXT_FOLLOW_UP_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    brand_id: str
    lead_id: str
    author_id: str
    note: str
    channel: str
    next_follow_up_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., brand_id: _Optional[str] = ..., lead_id: _Optional[str] = ..., author_id: _Optional[str] = ..., note: _Optional[str] = ..., channel: _Optional[str] = ..., next_follow_up_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AddFollowUpRequest(_message.Message):
    __slots__ = ("brand_id", "lead_id", "actor", "scope", "note", "channel", "next_follow_up_at", "idempotency_key")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    NEXT_FOLLOW_UP_AT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    lead_id: str
    actor: Actor
    scope: StoreScope
    note: str
    channel: str
    next_follow_up_at: _timestamp_pb2.Timestamp
    idempotency_key: str
    def __init__(self, brand_id: _Optional[str] = ..., lead_id: _Optional[str] = ..., actor: _Optional[_Union[Actor, _Mapping]] = ..., scope: _Optional[_Union[StoreScope, _Mapping]] = ..., note: _Optional[str] = ..., channel: _Optional[str] = ..., next_follow_up_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class AddFollowUpResponse(_message.Message):
    __slots__ = ("follow_up", "lead", "replayed")
    FOLLOW_UP_FIELD_NUMBER: _ClassVar[int]
    LEAD_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    follow_up: FollowUp
    lead: Lead
    replayed: bool
    def __init__(self, follow_up: _Optional[_Union[FollowUp, _Mapping]] = ..., lead: _Optional[_Union[Lead, _Mapping]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class ListFollowUpsRequest(_message.Message):
    __slots__ = ("brand_id", "lead_id", "scope", "cursor", "limit")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    lead_id: str
    scope: StoreScope
    cursor: str
    limit: int
    def __init__(self, brand_id: _Optional[str] = ..., lead_id: _Optional[str] = ..., scope: _Optional[_Union[StoreScope, _Mapping]] = ..., cursor: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListFollowUpsResponse(_message.Message):
    __slots__ = ("follow_ups", "next_cursor")
    FOLLOW_UPS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    follow_ups: _containers.RepeatedCompositeFieldContainer[FollowUp]
    next_cursor: str
    def __init__(self, follow_ups: _Optional[_Iterable[_Union[FollowUp, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class ChangeLeadStageRequest(_message.Message):
    __slots__ = ("brand_id", "lead_id", "actor", "scope", "stage", "reason")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    lead_id: str
    actor: Actor
    scope: StoreScope
    stage: str
    reason: str
    def __init__(self, brand_id: _Optional[str] = ..., lead_id: _Optional[str] = ..., actor: _Optional[_Union[Actor, _Mapping]] = ..., scope: _Optional[_Union[StoreScope, _Mapping]] = ..., stage: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...
