import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OrderRecorded(_message.Message):
    __slots__ = ("brand_id", "order_id", "external_id", "store_id", "member_id", "occurred_at", "total_fen", "item_count", "lines")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FEN_FIELD_NUMBER: _ClassVar[int]
    ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    order_id: str
    external_id: str
    store_id: str
    member_id: str
    occurred_at: _timestamp_pb2.Timestamp
    total_fen: int
    item_count: int
    lines: _containers.RepeatedCompositeFieldContainer[OrderLine]
    def __init__(self, brand_id: _Optional[str] = ..., order_id: _Optional[str] = ..., external_id: _Optional[str] = ..., store_id: _Optional[str] = ..., member_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., total_fen: _Optional[int] = ..., item_count: _Optional[int] = ..., lines: _Optional[_Iterable[_Union[OrderLine, _Mapping]]] = ...) -> None: ...

class OrderLine(_message.Message):
    __slots__ = ("sku", "category", "quantity", "amount_fen")
    SKU_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    sku: str
    category: str
    quantity: int
    amount_fen: int
    def __init__(self, sku: _Optional[str] = ..., category: _Optional[str] = ..., quantity: _Optional[int] = ..., amount_fen: _Optional[int] = ...) -> None: ...

class PointsEarned(_message.Message):
    __slots__ = ("brand_id", "member_id", "order_id", "points", "balance_after")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    BALANCE_AFTER_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    order_id: str
    points: int
    balance_after: int
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., order_id: _Optional[str] = ..., points: _Optional[int] = ..., balance_after: _Optional[int] = ...) -> None: ...
