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
    __slots__ = ("brand_id", "member_id", "expiring_within_days")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRING_WITHIN_DAYS_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    expiring_within_days: int
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., expiring_within_days: _Optional[int] = ...) -> None: ...

class ExpiringPoints(_message.Message):
    __slots__ = ("points", "expires_at")
    POINTS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    points: int
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, points: _Optional[int] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PointsAccount(_message.Message):
    __slots__ = ("member_id", "balance", "tier", "growth_value", "expiring", "debt")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    GROWTH_VALUE_FIELD_NUMBER: _ClassVar[int]
    EXPIRING_FIELD_NUMBER: _ClassVar[int]
    DEBT_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    balance: int
    tier: str
    growth_value: int
    expiring: _containers.RepeatedCompositeFieldContainer[ExpiringPoints]
    debt: int
    def __init__(self, member_id: _Optional[str] = ..., balance: _Optional[int] = ..., tier: _Optional[str] = ..., growth_value: _Optional[int] = ..., expiring: _Optional[_Iterable[_Union[ExpiringPoints, _Mapping]]] = ..., debt: _Optional[int] = ...) -> None: ...

class RefundLine(_message.Message):
    __slots__ = ("sku", "quantity")
    SKU_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    sku: str
    quantity: int
    def __init__(self, sku: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class RefundOrderRequest(_message.Message):
    __slots__ = ("brand_id", "external_id", "external_refund_id", "amount_fen", "items", "occurred_at")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_REFUND_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    external_id: str
    external_refund_id: str
    amount_fen: int
    items: _containers.RepeatedCompositeFieldContainer[RefundLine]
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, brand_id: _Optional[str] = ..., external_id: _Optional[str] = ..., external_refund_id: _Optional[str] = ..., amount_fen: _Optional[int] = ..., items: _Optional[_Iterable[_Union[RefundLine, _Mapping]]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RefundOrderResponse(_message.Message):
    __slots__ = ("refund_id", "points_reversed", "growth_reversed", "debt_added", "replayed", "member")
    REFUND_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_REVERSED_FIELD_NUMBER: _ClassVar[int]
    GROWTH_REVERSED_FIELD_NUMBER: _ClassVar[int]
    DEBT_ADDED_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    refund_id: str
    points_reversed: int
    growth_reversed: int
    debt_added: int
    replayed: bool
    member: MemberPoints
    def __init__(self, refund_id: _Optional[str] = ..., points_reversed: _Optional[int] = ..., growth_reversed: _Optional[int] = ..., debt_added: _Optional[int] = ..., replayed: _Optional[bool] = ..., member: _Optional[_Union[MemberPoints, _Mapping]] = ...) -> None: ...

class ListPointsLedgerRequest(_message.Message):
    __slots__ = ("brand_id", "member_id", "cursor", "limit")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    cursor: str
    limit: int
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., cursor: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class LedgerEntry(_message.Message):
    __slots__ = ("id", "delta", "debt_delta", "balance_after", "debt_after", "reason", "reference", "staff_id", "note", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    DEBT_DELTA_FIELD_NUMBER: _ClassVar[int]
    BALANCE_AFTER_FIELD_NUMBER: _ClassVar[int]
    DEBT_AFTER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    delta: int
    debt_delta: int
    balance_after: int
    debt_after: int
    reason: str
    reference: str
    staff_id: str
    note: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., delta: _Optional[int] = ..., debt_delta: _Optional[int] = ..., balance_after: _Optional[int] = ..., debt_after: _Optional[int] = ..., reason: _Optional[str] = ..., reference: _Optional[str] = ..., staff_id: _Optional[str] = ..., note: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListPointsLedgerResponse(_message.Message):
    __slots__ = ("items", "next_cursor")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[LedgerEntry]
    next_cursor: str
    def __init__(self, items: _Optional[_Iterable[_Union[LedgerEntry, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class RedeemPointsRequest(_message.Message):
    __slots__ = ("brand_id", "member_id", "points", "reason", "idempotency_key", "reference")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    points: int
    reason: str
    idempotency_key: str
    reference: str
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., points: _Optional[int] = ..., reason: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., reference: _Optional[str] = ...) -> None: ...

class PointsChange(_message.Message):
    __slots__ = ("balance", "debt", "delta", "ledger_entry_id", "replayed")
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    DEBT_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    LEDGER_ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    balance: int
    debt: int
    delta: int
    ledger_entry_id: int
    replayed: bool
    def __init__(self, balance: _Optional[int] = ..., debt: _Optional[int] = ..., delta: _Optional[int] = ..., ledger_entry_id: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class AdjustPointsRequest(_message.Message):
    __slots__ = ("brand_id", "member_id", "delta", "staff_id", "reason", "idempotency_key")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    delta: int
    staff_id: str
    reason: str
    idempotency_key: str
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., delta: _Optional[int] = ..., staff_id: _Optional[str] = ..., reason: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class AwardActionPointsRequest(_message.Message):
    __slots__ = ("brand_id", "member_id", "action", "reference")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    action: str
    reference: str
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., action: _Optional[str] = ..., reference: _Optional[str] = ...) -> None: ...

class GetProgramRequest(_message.Message):
    __slots__ = ("brand_id",)
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    def __init__(self, brand_id: _Optional[str] = ...) -> None: ...

class PutProgramRequest(_message.Message):
    __slots__ = ("brand_id", "config_json", "staff_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    config_json: str
    staff_id: str
    def __init__(self, brand_id: _Optional[str] = ..., config_json: _Optional[str] = ..., staff_id: _Optional[str] = ...) -> None: ...

class Program(_message.Message):
    __slots__ = ("brand_id", "version", "config_json", "updated_at", "updated_by")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    version: int
    config_json: str
    updated_at: _timestamp_pb2.Timestamp
    updated_by: str
    def __init__(self, brand_id: _Optional[str] = ..., version: _Optional[int] = ..., config_json: _Optional[str] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_by: _Optional[str] = ...) -> None: ...

class CouponTemplate(_message.Message):
    __slots__ = ("id", "brand_id", "name", "kind", "value_fen", "percent_off", "min_spend_fen", "stock", "issued", "per_member_limit", "valid_days", "valid_from", "valid_to", "store_ids", "categories")
    ID_FIELD_NUMBER: _ClassVar[int]
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FEN_FIELD_NUMBER: _ClassVar[int]
    PERCENT_OFF_FIELD_NUMBER: _ClassVar[int]
    MIN_SPEND_FEN_FIELD_NUMBER: _ClassVar[int]
    STOCK_FIELD_NUMBER: _ClassVar[int]
    ISSUED_FIELD_NUMBER: _ClassVar[int]
    PER_MEMBER_LIMIT_FIELD_NUMBER: _ClassVar[int]
    VALID_DAYS_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_TO_FIELD_NUMBER: _ClassVar[int]
    STORE_IDS_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    id: str
    brand_id: str
    name: str
    kind: str
    value_fen: int
    percent_off: int
    min_spend_fen: int
    stock: int
    issued: int
    per_member_limit: int
    valid_days: int
    valid_from: _timestamp_pb2.Timestamp
    valid_to: _timestamp_pb2.Timestamp
    store_ids: _containers.RepeatedScalarFieldContainer[str]
    categories: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., brand_id: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[str] = ..., value_fen: _Optional[int] = ..., percent_off: _Optional[int] = ..., min_spend_fen: _Optional[int] = ..., stock: _Optional[int] = ..., issued: _Optional[int] = ..., per_member_limit: _Optional[int] = ..., valid_days: _Optional[int] = ..., valid_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., store_ids: _Optional[_Iterable[str]] = ..., categories: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateCouponTemplateRequest(_message.Message):
    __slots__ = ("brand_id", "template")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    template: CouponTemplate
    def __init__(self, brand_id: _Optional[str] = ..., template: _Optional[_Union[CouponTemplate, _Mapping]] = ...) -> None: ...

class GetCouponTemplateRequest(_message.Message):
    __slots__ = ("brand_id", "template_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    template_id: str
    def __init__(self, brand_id: _Optional[str] = ..., template_id: _Optional[str] = ...) -> None: ...

class GrantCouponRequest(_message.Message):
    __slots__ = ("brand_id", "template_id", "member_id", "idempotency_key", "granted_by")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    GRANTED_BY_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    template_id: str
    member_id: str
    idempotency_key: str
    granted_by: str
    def __init__(self, brand_id: _Optional[str] = ..., template_id: _Optional[str] = ..., member_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., granted_by: _Optional[str] = ...) -> None: ...

class Coupon(_message.Message):
    __slots__ = ("code", "brand_id", "template_id", "member_id", "status", "valid_from", "valid_to", "kind", "value_fen", "percent_off", "name", "replayed", "order_external_id")
    CODE_FIELD_NUMBER: _ClassVar[int]
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_TO_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FEN_FIELD_NUMBER: _ClassVar[int]
    PERCENT_OFF_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    ORDER_EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    code: str
    brand_id: str
    template_id: str
    member_id: str
    status: str
    valid_from: _timestamp_pb2.Timestamp
    valid_to: _timestamp_pb2.Timestamp
    kind: str
    value_fen: int
    percent_off: int
    name: str
    replayed: bool
    order_external_id: str
    def __init__(self, code: _Optional[str] = ..., brand_id: _Optional[str] = ..., template_id: _Optional[str] = ..., member_id: _Optional[str] = ..., status: _Optional[str] = ..., valid_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[str] = ..., value_fen: _Optional[int] = ..., percent_off: _Optional[int] = ..., name: _Optional[str] = ..., replayed: _Optional[bool] = ..., order_external_id: _Optional[str] = ...) -> None: ...

class ListMemberCouponsRequest(_message.Message):
    __slots__ = ("brand_id", "member_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ...) -> None: ...

class ListCouponsResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Coupon]
    def __init__(self, items: _Optional[_Iterable[_Union[Coupon, _Mapping]]] = ...) -> None: ...

class RedeemCouponRequest(_message.Message):
    __slots__ = ("brand_id", "code", "order_external_id", "store_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    ORDER_EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    code: str
    order_external_id: str
    store_id: str
    def __init__(self, brand_id: _Optional[str] = ..., code: _Optional[str] = ..., order_external_id: _Optional[str] = ..., store_id: _Optional[str] = ...) -> None: ...

class VoidCouponRequest(_message.Message):
    __slots__ = ("brand_id", "code", "staff_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    code: str
    staff_id: str
    def __init__(self, brand_id: _Optional[str] = ..., code: _Optional[str] = ..., staff_id: _Optional[str] = ...) -> None: ...

class ListExpiringCouponsRequest(_message.Message):
    __slots__ = ("brand_id", "within_hours")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    WITHIN_HOURS_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    within_hours: int
    def __init__(self, brand_id: _Optional[str] = ..., within_hours: _Optional[int] = ...) -> None: ...

class GetWalletRequest(_message.Message):
    __slots__ = ("brand_id", "member_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ...) -> None: ...

class Wallet(_message.Message):
    __slots__ = ("member_id", "principal_fen", "bonus_fen", "balance_fen")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FEN_FIELD_NUMBER: _ClassVar[int]
    BONUS_FEN_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FEN_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    principal_fen: int
    bonus_fen: int
    balance_fen: int
    def __init__(self, member_id: _Optional[str] = ..., principal_fen: _Optional[int] = ..., bonus_fen: _Optional[int] = ..., balance_fen: _Optional[int] = ...) -> None: ...

class TopUpWalletRequest(_message.Message):
    __slots__ = ("brand_id", "member_id", "amount_fen", "idempotency_key")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    amount_fen: int
    idempotency_key: str
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., amount_fen: _Optional[int] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class PayFromWalletRequest(_message.Message):
    __slots__ = ("brand_id", "member_id", "amount_fen", "idempotency_key", "reference")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    amount_fen: int
    idempotency_key: str
    reference: str
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., amount_fen: _Optional[int] = ..., idempotency_key: _Optional[str] = ..., reference: _Optional[str] = ...) -> None: ...

class RefundToWalletRequest(_message.Message):
    __slots__ = ("brand_id", "member_id", "payment_key", "amount_fen", "idempotency_key")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_KEY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    payment_key: str
    amount_fen: int
    idempotency_key: str
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., payment_key: _Optional[str] = ..., amount_fen: _Optional[int] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class WalletChange(_message.Message):
    __slots__ = ("wallet", "principal_delta_fen", "bonus_delta_fen", "replayed")
    WALLET_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_DELTA_FEN_FIELD_NUMBER: _ClassVar[int]
    BONUS_DELTA_FEN_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    wallet: Wallet
    principal_delta_fen: int
    bonus_delta_fen: int
    replayed: bool
    def __init__(self, wallet: _Optional[_Union[Wallet, _Mapping]] = ..., principal_delta_fen: _Optional[int] = ..., bonus_delta_fen: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class ListMemberOrdersRequest(_message.Message):
    __slots__ = ("brand_id", "member_id", "cursor", "limit")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    cursor: str
    limit: int
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., cursor: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class MemberOrder(_message.Message):
    __slots__ = ("order_id", "external_id", "store_id", "occurred_at", "total_fen", "points_earned", "refunded_fen", "item_count")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FEN_FIELD_NUMBER: _ClassVar[int]
    POINTS_EARNED_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_FEN_FIELD_NUMBER: _ClassVar[int]
    ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    external_id: str
    store_id: str
    occurred_at: _timestamp_pb2.Timestamp
    total_fen: int
    points_earned: int
    refunded_fen: int
    item_count: int
    def __init__(self, order_id: _Optional[str] = ..., external_id: _Optional[str] = ..., store_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., total_fen: _Optional[int] = ..., points_earned: _Optional[int] = ..., refunded_fen: _Optional[int] = ..., item_count: _Optional[int] = ...) -> None: ...

class ListMemberOrdersResponse(_message.Message):
    __slots__ = ("orders", "next_cursor")
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[MemberOrder]
    next_cursor: str
    def __init__(self, orders: _Optional[_Iterable[_Union[MemberOrder, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class GetOrderTotalsRequest(_message.Message):
    __slots__ = ("brand_id",)
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    def __init__(self, brand_id: _Optional[str] = ...) -> None: ...

class OrderTotals(_message.Message):
    __slots__ = ("orders", "total_fen", "refunds", "refunded_fen")
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FEN_FIELD_NUMBER: _ClassVar[int]
    REFUNDS_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_FEN_FIELD_NUMBER: _ClassVar[int]
    orders: int
    total_fen: int
    refunds: int
    refunded_fen: int
    def __init__(self, orders: _Optional[int] = ..., total_fen: _Optional[int] = ..., refunds: _Optional[int] = ..., refunded_fen: _Optional[int] = ...) -> None: ...
