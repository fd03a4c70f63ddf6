import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CampaignActivated(_message.Message):
    __slots__ = ("brand_id", "campaign_id", "channel", "audience", "scheduled", "activated_at")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    AUDIENCE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_FIELD_NUMBER: _ClassVar[int]
    ACTIVATED_AT_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    campaign_id: str
    channel: str
    audience: int
    scheduled: int
    activated_at: _timestamp_pb2.Timestamp
    def __init__(self, brand_id: _Optional[str] = ..., campaign_id: _Optional[str] = ..., channel: _Optional[str] = ..., audience: _Optional[int] = ..., scheduled: _Optional[int] = ..., activated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CampaignMessageSent(_message.Message):
    __slots__ = ("brand_id", "campaign_id", "member_id", "channel", "sent_at")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    campaign_id: str
    member_id: str
    channel: str
    sent_at: _timestamp_pb2.Timestamp
    def __init__(self, brand_id: _Optional[str] = ..., campaign_id: _Optional[str] = ..., member_id: _Optional[str] = ..., channel: _Optional[str] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
