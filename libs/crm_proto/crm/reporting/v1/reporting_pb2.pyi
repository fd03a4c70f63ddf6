from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class GetKpisRequest(_message.Message):
    __slots__ = ("brand_id", "from_date", "to_date", "store_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    from_date: str
    to_date: str
    store_id: str
    def __init__(self, brand_id: _Optional[str] = ..., from_date: _Optional[str] = ..., to_date: _Optional[str] = ..., store_id: _Optional[str] = ...) -> None: ...

class Kpis(_message.Message):
    __slots__ = ("orders", "revenue_fen", "aov_fen", "buyers", "repeat_buyers", "repurchase_rate", "new_members")
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    REVENUE_FEN_FIELD_NUMBER: _ClassVar[int]
    AOV_FEN_FIELD_NUMBER: _ClassVar[int]
    BUYERS_FIELD_NUMBER: _ClassVar[int]
    REPEAT_BUYERS_FIELD_NUMBER: _ClassVar[int]
    REPURCHASE_RATE_FIELD_NUMBER: _ClassVar[int]
    NEW_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    orders: int
    revenue_fen: int
    aov_fen: int
    buyers: int
    repeat_buyers: int
    repurchase_rate: float
    new_members: int
    def __init__(self, orders: _Optional[int] = ..., revenue_fen: _Optional[int] = ..., aov_fen: _Optional[int] = ..., buyers: _Optional[int] = ..., repeat_buyers: _Optional[int] = ..., repurchase_rate: _Optional[float] = ..., new_members: _Optional[int] = ...) -> None: ...
