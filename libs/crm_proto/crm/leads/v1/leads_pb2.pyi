import datetime

from crm.common.v1 import types_pb2 as _types_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

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
    __slots__ = ("id", "brand_id", "source", "name", "phone", "interest", "store_id", "assignee_id", "stage", "created_at")
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
    def __init__(self, id: _Optional[str] = ..., brand_id: _Optional[str] = ..., source: _Optional[str] = ..., name: _Optional[str] = ..., phone: _Optional[str] = ..., interest: _Optional[str] = ..., store_id: _Optional[str] = ..., assignee_id: _Optional[str] = ..., stage: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
