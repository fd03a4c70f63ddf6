from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class AnomalyDetected(_message.Message):
    __slots__ = ("brand_id", "anomaly_id", "store_id", "day", "metric", "value", "low", "high")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    ANOMALY_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    DAY_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    anomaly_id: str
    store_id: str
    day: str
    metric: str
    value: float
    low: float
    high: float
    def __init__(self, brand_id: _Optional[str] = ..., anomaly_id: _Optional[str] = ..., store_id: _Optional[str] = ..., day: _Optional[str] = ..., metric: _Optional[str] = ..., value: _Optional[float] = ..., low: _Optional[float] = ..., high: _Optional[float] = ...) -> None: ...

class ChurnRiskScored(_message.Message):
    __slots__ = ("brand_id", "member_id", "p_alive", "expected_purchases_90d", "churn_risk", "calibration_end")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    P_ALIVE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_PURCHASES_90D_FIELD_NUMBER: _ClassVar[int]
    CHURN_RISK_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_END_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    p_alive: float
    expected_purchases_90d: float
    churn_risk: bool
    calibration_end: str
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., p_alive: _Optional[float] = ..., expected_purchases_90d: _Optional[float] = ..., churn_risk: _Optional[bool] = ..., calibration_end: _Optional[str] = ...) -> None: ...
