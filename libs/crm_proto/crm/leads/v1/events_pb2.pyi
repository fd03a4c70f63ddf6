import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LeadAssigned(_message.Message):
    __slots__ = ("brand_id", "lead_id", "store_id", "assignee_id", "source")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    lead_id: str
    store_id: str
    assignee_id: str
    source: str
    def __init__(self, brand_id: _Optional[str] = ..., lead_id: _Optional[str] = ..., store_id: _Optional[str] = ..., assignee_id: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class LeadStageChanged(_message.Message):
    __slots__ = ("brand_id", "lead_id", "store_id", "assignee_id", "from_stage", "to_stage", "changed_by", "reason", "changed_at")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_STAGE_FIELD_NUMBER: _ClassVar[int]
    TO_STAGE_FIELD_NUMBER: _ClassVar[int]
    CHANGED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    lead_id: str
    store_id: str
    assignee_id: str
    from_stage: str
    to_stage: str
    changed_by: str
    reason: str
    changed_at: _timestamp_pb2.Timestamp
    def __init__(self, brand_id: _Optional[str] = ..., lead_id: _Optional[str] = ..., store_id: _Optional[str] = ..., assignee_id: _Optional[str] = ..., from_stage: _Optional[str] = ..., to_stage: _Optional[str] = ..., changed_by: _Optional[str] = ..., reason: _Optional[str] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LeadFollowedUp(_message.Message):
    __slots__ = ("brand_id", "lead_id", "follow_up_id", "store_id", "author_id", "channel", "next_follow_up_at", "created_at")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_UP_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    NEXT_FOLLOW_UP_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    lead_id: str
    follow_up_id: str
    store_id: str
    author_id: str
    channel: str
    next_follow_up_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, brand_id: _Optional[str] = ..., lead_id: _Optional[str] = ..., follow_up_id: _Optional[str] = ..., store_id: _Optional[str] = ..., author_id: _Optional[str] = ..., channel: _Optional[str] = ..., next_follow_up_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
