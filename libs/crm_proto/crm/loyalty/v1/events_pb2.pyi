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

class OrderRefunded(_message.Message):
    __slots__ = ("brand_id", "order_id", "external_id", "refund_id", "external_refund_id", "store_id", "member_id", "occurred_at", "amount_fen", "points_reversed", "lines")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    REFUND_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_REFUND_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    POINTS_REVERSED_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    order_id: str
    external_id: str
    refund_id: str
    external_refund_id: str
    store_id: str
    member_id: str
    occurred_at: _timestamp_pb2.Timestamp
    amount_fen: int
    points_reversed: int
    lines: _containers.RepeatedCompositeFieldContainer[OrderLine]
    def __init__(self, brand_id: _Optional[str] = ..., order_id: _Optional[str] = ..., external_id: _Optional[str] = ..., refund_id: _Optional[str] = ..., external_refund_id: _Optional[str] = ..., store_id: _Optional[str] = ..., member_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., amount_fen: _Optional[int] = ..., points_reversed: _Optional[int] = ..., lines: _Optional[_Iterable[_Union[OrderLine, _Mapping]]] = ...) -> None: ...

class PointsRedeemed(_message.Message):
    __slots__ = ("brand_id", "member_id", "points", "balance_after", "reason", "reference")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    BALANCE_AFTER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    points: int
    balance_after: int
    reason: str
    reference: str
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., points: _Optional[int] = ..., balance_after: _Optional[int] = ..., reason: _Optional[str] = ..., reference: _Optional[str] = ...) -> None: ...

class PointsExpired(_message.Message):
    __slots__ = ("brand_id", "member_id", "points", "balance_after", "expired_at")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    BALANCE_AFTER_FIELD_NUMBER: _ClassVar[int]
    EXPIRED_AT_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    points: int
    balance_after: int
    expired_at: _timestamp_pb2.Timestamp
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., points: _Optional[int] = ..., balance_after: _Optional[int] = ..., expired_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PointsAdjusted(_message.Message):
    __slots__ = ("brand_id", "member_id", "delta", "balance_after", "staff_id", "reason")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    BALANCE_AFTER_FIELD_NUMBER: _ClassVar[int]
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    delta: int
    balance_after: int
    staff_id: str
    reason: str
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., delta: _Optional[int] = ..., balance_after: _Optional[int] = ..., staff_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class TierChanged(_message.Message):
    __slots__ = ("brand_id", "member_id", "from_tier", "to_tier", "cause")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_TIER_FIELD_NUMBER: _ClassVar[int]
    TO_TIER_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    from_tier: str
    to_tier: str
    cause: str
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., from_tier: _Optional[str] = ..., to_tier: _Optional[str] = ..., cause: _Optional[str] = ...) -> None: ...

class CouponGranted(_message.Message):
    __slots__ = ("brand_id", "member_id", "coupon_code", "template_id", "valid_to", "granted_by")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    COUPON_CODE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    VALID_TO_FIELD_NUMBER: _ClassVar[int]
    GRANTED_BY_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    coupon_code: str
    template_id: str
    valid_to: _timestamp_pb2.Timestamp
    granted_by: str
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., coupon_code: _Optional[str] = ..., template_id: _Optional[str] = ..., valid_to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., granted_by: _Optional[str] = ...) -> None: ...

class CouponRedeemed(_message.Message):
    __slots__ = ("brand_id", "member_id", "coupon_code", "template_id", "order_external_id", "store_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    COUPON_CODE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    coupon_code: str
    template_id: str
    order_external_id: str
    store_id: str
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., coupon_code: _Optional[str] = ..., template_id: _Optional[str] = ..., order_external_id: _Optional[str] = ..., store_id: _Optional[str] = ...) -> None: ...

class CouponExpiring(_message.Message):
    __slots__ = ("brand_id", "member_id", "coupon_code", "template_id", "valid_to")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    COUPON_CODE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    VALID_TO_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    coupon_code: str
    template_id: str
    valid_to: _timestamp_pb2.Timestamp
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., coupon_code: _Optional[str] = ..., template_id: _Optional[str] = ..., valid_to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class WalletChanged(_message.Message):
    __slots__ = ("brand_id", "member_id", "principal_delta_fen", "bonus_delta_fen", "principal_balance_fen", "bonus_balance_fen", "reason", "reference")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_DELTA_FEN_FIELD_NUMBER: _ClassVar[int]
    BONUS_DELTA_FEN_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_BALANCE_FEN_FIELD_NUMBER: _ClassVar[int]
    BONUS_BALANCE_FEN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    principal_delta_fen: int
    bonus_delta_fen: int
    principal_balance_fen: int
    bonus_balance_fen: int
    reason: str
    reference: str
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., principal_delta_fen: _Optional[int] = ..., bonus_delta_fen: _Optional[int] = ..., principal_balance_fen: _Optional[int] = ..., bonus_balance_fen: _Optional[int] = ..., reason: _Optional[str] = ..., reference: _Optional[str] = ...) -> None: ...
