import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OrderItem(_message.Message):
    __slots__ = ("sku", "name", "category", "quantity", "amount_fen")
    SKU_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    sku: str
    name: str
    category: str
    quantity: int
    amount_fen: int
    def __init__(self, sku: _Optional[str] = ..., name: _Optional[str] = ..., category: _Optional[str] = ..., quantity: _Optional[int] = ..., amount_fen: _Optional[int] = ...) -> None: ...

class RecordOrderRequest(_message.Message):
    __slots__ = ("brand_id", "external_id", "store_id", "member_id", "member_phone", "occurred_at", "items", "total_fen")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_PHONE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FEN_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    external_id: str
    store_id: str
    member_id: str
    member_phone: str
    occurred_at: _timestamp_pb2.Timestamp
    items: _containers.RepeatedCompositeFieldContainer[OrderItem]
    total_fen: int
    def __init__(self, brand_id: _Optional[str] = ..., external_id: _Optional[str] = ..., store_id: _Optional[str] = ..., member_id: _Optional[str] = ..., member_phone: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., items: _Optional[_Iterable[_Union[OrderItem, _Mapping]]] = ..., total_fen: _Optional[int] = ...) -> None: ...

class MemberPoints(_message.Message):
    __slots__ = ("member_id", "points_balance", "tier")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_BALANCE_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    points_balance: int
    tier: str
    def __init__(self, member_id: _Optional[str] = ..., points_balance: _Optional[int] = ..., tier: _Optional[str] = ...) -> None: ...

class RecordOrderResponse(_message.Message):
    __slots__ = ("order_id", "points_earned", "member", "replayed")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_EARNED_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    points_earned: int
    member: MemberPoints
    replayed: bool
    def __init__(self, order_id: _Optional[str] = ..., points_earned: _Optional[int] = ..., member: _Optional[_Union[MemberPoints, _Mapping]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class GetPointsAccountRequest(_message.Message):
    __slots__ = ("brand_id", "member_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ...) -> None: ...

class ExpiringPoints(_message.Message):
    __slots__ = ("points", "expires_at")
    POINTS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    points: int
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, points: _Optional[int] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PointsAccount(_message.Message):
    __slots__ = ("member_id", "balance", "tier", "growth_value", "expiring")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    GROWTH_VALUE_FIELD_NUMBER: _ClassVar[int]
    EXPIRING_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    balance: int
    tier: str
    growth_value: int
    expiring: _containers.RepeatedCompositeFieldContainer[ExpiringPoints]
    def __init__(self, member_id: _Optional[str] = ..., balance: _Optional[int] = ..., tier: _Optional[str] = ..., growth_value: _Optional[int] = ..., expiring: _Optional[_Iterable[_Union[ExpiringPoints, _Mapping]]] = ...) -> None: ...
