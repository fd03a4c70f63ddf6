import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetAudienceMemberRequest(_message.Message):
    __slots__ = ("brand_id", "member_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ...) -> None: ...

class AudienceMember(_message.Message):
    __slots__ = ("member_id", "store_id", "order_count", "total_spend_fen", "last_purchase_at", "registered_at")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SPEND_FEN_FIELD_NUMBER: _ClassVar[int]
    LAST_PURCHASE_AT_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    store_id: str
    order_count: int
    total_spend_fen: int
    last_purchase_at: _timestamp_pb2.Timestamp
    registered_at: _timestamp_pb2.Timestamp
    def __init__(self, member_id: _Optional[str] = ..., store_id: _Optional[str] = ..., order_count: _Optional[int] = ..., total_spend_fen: _Optional[int] = ..., last_purchase_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., registered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
