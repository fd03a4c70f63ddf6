from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetKpisRequest(_message.Message):
    __slots__ = ("brand_id", "from_date", "to_date", "store_id", "guide_id", "category", "churn_window_days")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    GUIDE_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CHURN_WINDOW_DAYS_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    from_date: str
    to_date: str
    store_id: str
    guide_id: str
    category: str
    churn_window_days: int
    def __init__(self, brand_id: _Optional[str] = ..., from_date: _Optional[str] = ..., to_date: _Optional[str] = ..., store_id: _Optional[str] = ..., guide_id: _Optional[str] = ..., category: _Optional[str] = ..., churn_window_days: _Optional[int] = ...) -> None: ...

class CouponTemplateKpi(_message.Message):
    __slots__ = ("template_id", "granted", "redeemed", "redemption_rate")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    GRANTED_FIELD_NUMBER: _ClassVar[int]
    REDEEMED_FIELD_NUMBER: _ClassVar[int]
    REDEMPTION_RATE_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    granted: int
    redeemed: int
    redemption_rate: float
    def __init__(self, template_id: _Optional[str] = ..., granted: _Optional[int] = ..., redeemed: _Optional[int] = ..., redemption_rate: _Optional[float] = ...) -> None: ...

class Kpis(_message.Message):
    __slots__ = ("orders", "revenue_fen", "aov_fen", "buyers", "repeat_buyers", "repurchase_rate", "new_members", "gross_revenue_fen", "refunded_fen", "refunds", "active_members", "churned_members", "churn_rate", "churn_window_days", "points_issued", "points_redeemed", "points_expired", "coupons")
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    REVENUE_FEN_FIELD_NUMBER: _ClassVar[int]
    AOV_FEN_FIELD_NUMBER: _ClassVar[int]
    BUYERS_FIELD_NUMBER: _ClassVar[int]
    REPEAT_BUYERS_FIELD_NUMBER: _ClassVar[int]
    REPURCHASE_RATE_FIELD_NUMBER: _ClassVar[int]
    NEW_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    GROSS_REVENUE_FEN_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_FEN_FIELD_NUMBER: _ClassVar[int]
    REFUNDS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    CHURNED_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    CHURN_RATE_FIELD_NUMBER: _ClassVar[int]
    CHURN_WINDOW_DAYS_FIELD_NUMBER: _ClassVar[int]
    POINTS_ISSUED_FIELD_NUMBER: _ClassVar[int]
    POINTS_REDEEMED_FIELD_NUMBER: _ClassVar[int]
    POINTS_EXPIRED_FIELD_NUMBER: _ClassVar[int]
    COUPONS_FIELD_NUMBER: _ClassVar[int]
    orders: int
    revenue_fen: int
    aov_fen: int
    buyers: int
    repeat_buyers: int
    repurchase_rate: float
    new_members: int
    gross_revenue_fen: int
    refunded_fen: int
    refunds: int
    active_members: int
    churned_members: int
    churn_rate: float
    churn_window_days: int
    points_issued: int
    points_redeemed: int
    points_expired: int
    coupons: _containers.RepeatedCompositeFieldContainer[CouponTemplateKpi]
    def __init__(self, orders: _Optional[int] = ..., revenue_fen: _Optional[int] = ..., aov_fen: _Optional[int] = ..., buyers: _Optional[int] = ..., repeat_buyers: _Optional[int] = ..., repurchase_rate: _Optional[float] = ..., new_members: _Optional[int] = ..., gross_revenue_fen: _Optional[int] = ..., refunded_fen: _Optional[int] = ..., refunds: _Optional[int] = ..., active_members: _Optional[int] = ..., churned_members: _Optional[int] = ..., churn_rate: _Optional[float] = ..., churn_window_days: _Optional[int] = ..., points_issued: _Optional[int] = ..., points_redeemed: _Optional[int] = ..., points_expired: _Optional[int] = ..., coupons: _Optional[_Iterable[_Union[CouponTemplateKpi, _Mapping]]] = ...) -> None: ...

class GetLeaderboardRequest(_message.Message):
    __slots__ = ("brand_id", "from_date", "to_date", "by", "limit")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    BY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    from_date: str
    to_date: str
    by: str
    limit: int
    def __init__(self, brand_id: _Optional[str] = ..., from_date: _Optional[str] = ..., to_date: _Optional[str] = ..., by: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class LeaderboardRow(_message.Message):
    __slots__ = ("rank", "key", "orders", "revenue_fen", "aov_fen", "buyers", "repeat_buyers", "repurchase_rate")
    RANK_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    REVENUE_FEN_FIELD_NUMBER: _ClassVar[int]
    AOV_FEN_FIELD_NUMBER: _ClassVar[int]
    BUYERS_FIELD_NUMBER: _ClassVar[int]
    REPEAT_BUYERS_FIELD_NUMBER: _ClassVar[int]
    REPURCHASE_RATE_FIELD_NUMBER: _ClassVar[int]
    rank: int
    key: str
    orders: int
    revenue_fen: int
    aov_fen: int
    buyers: int
    repeat_buyers: int
    repurchase_rate: float
    def __init__(self, rank: _Optional[int] = ..., key: _Optional[str] = ..., orders: _Optional[int] = ..., revenue_fen: _Optional[int] = ..., aov_fen: _Optional[int] = ..., buyers: _Optional[int] = ..., repeat_buyers: _Optional[int] = ..., repurchase_rate: _Optional[float] = ...) -> None: ...

class Leaderboard(_message.Message):
    __slots__ = ("rows",)
    ROWS_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[LeaderboardRow]
    def __init__(self, rows: _Optional[_Iterable[_Union[LeaderboardRow, _Mapping]]] = ...) -> None: ...

class GetCohortsRequest(_message.Message):
    __slots__ = ("brand_id", "from_month", "to_month", "store_id", "months")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_MONTH_FIELD_NUMBER: _ClassVar[int]
    TO_MONTH_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    MONTHS_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    from_month: str
    to_month: str
    store_id: str
    months: int
    def __init__(self, brand_id: _Optional[str] = ..., from_month: _Optional[str] = ..., to_month: _Optional[str] = ..., store_id: _Optional[str] = ..., months: _Optional[int] = ...) -> None: ...

class Cohort(_message.Message):
    __slots__ = ("month", "members", "active", "retention")
    MONTH_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    RETENTION_FIELD_NUMBER: _ClassVar[int]
    month: str
    members: int
    active: _containers.RepeatedScalarFieldContainer[int]
    retention: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, month: _Optional[str] = ..., members: _Optional[int] = ..., active: _Optional[_Iterable[int]] = ..., retention: _Optional[_Iterable[float]] = ...) -> None: ...

class Cohorts(_message.Message):
    __slots__ = ("cohorts",)
    COHORTS_FIELD_NUMBER: _ClassVar[int]
    cohorts: _containers.RepeatedCompositeFieldContainer[Cohort]
    def __init__(self, cohorts: _Optional[_Iterable[_Union[Cohort, _Mapping]]] = ...) -> None: ...

class GetRfmRequest(_message.Message):
    __slots__ = ("brand_id", "as_of", "window_days", "recency_days", "frequency", "monetary_fen")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    WINDOW_DAYS_FIELD_NUMBER: _ClassVar[int]
    RECENCY_DAYS_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_FIELD_NUMBER: _ClassVar[int]
    MONETARY_FEN_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    as_of: str
    window_days: int
    recency_days: _containers.RepeatedScalarFieldContainer[int]
    frequency: _containers.RepeatedScalarFieldContainer[int]
    monetary_fen: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, brand_id: _Optional[str] = ..., as_of: _Optional[str] = ..., window_days: _Optional[int] = ..., recency_days: _Optional[_Iterable[int]] = ..., frequency: _Optional[_Iterable[int]] = ..., monetary_fen: _Optional[_Iterable[int]] = ...) -> None: ...

class RfmCell(_message.Message):
    __slots__ = ("r", "f", "m", "members", "revenue_fen")
    R_FIELD_NUMBER: _ClassVar[int]
    F_FIELD_NUMBER: _ClassVar[int]
    M_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    REVENUE_FEN_FIELD_NUMBER: _ClassVar[int]
    r: int
    f: int
    m: int
    members: int
    revenue_fen: int
    def __init__(self, r: _Optional[int] = ..., f: _Optional[int] = ..., m: _Optional[int] = ..., members: _Optional[int] = ..., revenue_fen: _Optional[int] = ...) -> None: ...

class Rfm(_message.Message):
    __slots__ = ("cells", "members")
    CELLS_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    cells: _containers.RepeatedCompositeFieldContainer[RfmCell]
    members: int
    def __init__(self, cells: _Optional[_Iterable[_Union[RfmCell, _Mapping]]] = ..., members: _Optional[int] = ...) -> None: ...

class ValueBand(_message.Message):
    __slots__ = ("name", "min_fen")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MIN_FEN_FIELD_NUMBER: _ClassVar[int]
    name: str
    min_fen: int
    def __init__(self, name: _Optional[str] = ..., min_fen: _Optional[int] = ...) -> None: ...

class GetValueSegmentsRequest(_message.Message):
    __slots__ = ("brand_id", "as_of", "window_days", "bands")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    WINDOW_DAYS_FIELD_NUMBER: _ClassVar[int]
    BANDS_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    as_of: str
    window_days: int
    bands: _containers.RepeatedCompositeFieldContainer[ValueBand]
    def __init__(self, brand_id: _Optional[str] = ..., as_of: _Optional[str] = ..., window_days: _Optional[int] = ..., bands: _Optional[_Iterable[_Union[ValueBand, _Mapping]]] = ...) -> None: ...

class ValueSegment(_message.Message):
    __slots__ = ("name", "members", "revenue_fen")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    REVENUE_FEN_FIELD_NUMBER: _ClassVar[int]
    name: str
    members: int
    revenue_fen: int
    def __init__(self, name: _Optional[str] = ..., members: _Optional[int] = ..., revenue_fen: _Optional[int] = ...) -> None: ...

class ValueSegments(_message.Message):
    __slots__ = ("segments",)
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    segments: _containers.RepeatedCompositeFieldContainer[ValueSegment]
    def __init__(self, segments: _Optional[_Iterable[_Union[ValueSegment, _Mapping]]] = ...) -> None: ...

class GetProductAssociationRequest(_message.Message):
    __slots__ = ("brand_id", "from_date", "to_date", "within_days", "level", "min_support", "limit")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    WITHIN_DAYS_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    MIN_SUPPORT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    from_date: str
    to_date: str
    within_days: int
    level: str
    min_support: float
    limit: int
    def __init__(self, brand_id: _Optional[str] = ..., from_date: _Optional[str] = ..., to_date: _Optional[str] = ..., within_days: _Optional[int] = ..., level: _Optional[str] = ..., min_support: _Optional[float] = ..., limit: _Optional[int] = ...) -> None: ...

class AssociationPair(_message.Message):
    __slots__ = ("antecedent", "consequent", "customers", "support", "confidence", "lift")
    ANTECEDENT_FIELD_NUMBER: _ClassVar[int]
    CONSEQUENT_FIELD_NUMBER: _ClassVar[int]
    CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    SUPPORT_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    LIFT_FIELD_NUMBER: _ClassVar[int]
    antecedent: str
    consequent: str
    customers: int
    support: float
    confidence: float
    lift: float
    def __init__(self, antecedent: _Optional[str] = ..., consequent: _Optional[str] = ..., customers: _Optional[int] = ..., support: _Optional[float] = ..., confidence: _Optional[float] = ..., lift: _Optional[float] = ...) -> None: ...

class ProductAssociation(_message.Message):
    __slots__ = ("pairs", "buyers")
    PAIRS_FIELD_NUMBER: _ClassVar[int]
    BUYERS_FIELD_NUMBER: _ClassVar[int]
    pairs: _containers.RepeatedCompositeFieldContainer[AssociationPair]
    buyers: int
    def __init__(self, pairs: _Optional[_Iterable[_Union[AssociationPair, _Mapping]]] = ..., buyers: _Optional[int] = ...) -> None: ...

class DetectAnomaliesRequest(_message.Message):
    __slots__ = ("brand_id", "day", "lookback_days")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    DAY_FIELD_NUMBER: _ClassVar[int]
    LOOKBACK_DAYS_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    day: str
    lookback_days: int
    def __init__(self, brand_id: _Optional[str] = ..., day: _Optional[str] = ..., lookback_days: _Optional[int] = ...) -> None: ...

class ListAnomaliesRequest(_message.Message):
    __slots__ = ("brand_id", "limit")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    limit: int
    def __init__(self, brand_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class Anomaly(_message.Message):
    __slots__ = ("id", "store_id", "day", "metric", "value", "low", "high", "detected_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    DAY_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    DETECTED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    store_id: str
    day: str
    metric: str
    value: float
    low: float
    high: float
    detected_at: str
    def __init__(self, id: _Optional[str] = ..., store_id: _Optional[str] = ..., day: _Optional[str] = ..., metric: _Optional[str] = ..., value: _Optional[float] = ..., low: _Optional[float] = ..., high: _Optional[float] = ..., detected_at: _Optional[str] = ...) -> None: ...

class Anomalies(_message.Message):
    __slots__ = ("anomalies",)
    ANOMALIES_FIELD_NUMBER: _ClassVar[int]
    anomalies: _containers.RepeatedCompositeFieldContainer[Anomaly]
    def __init__(self, anomalies: _Optional[_Iterable[_Union[Anomaly, _Mapping]]] = ...) -> None: ...

class FitPurchaseModelRequest(_message.Message):
    __slots__ = ("brand_id", "calibration_end", "churn_risk_below")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_END_FIELD_NUMBER: _ClassVar[int]
    CHURN_RISK_BELOW_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    calibration_end: str
    churn_risk_below: float
    def __init__(self, brand_id: _Optional[str] = ..., calibration_end: _Optional[str] = ..., churn_risk_below: _Optional[float] = ...) -> None: ...

class PurchaseModel(_message.Message):
    __slots__ = ("model", "r", "alpha", "a", "b", "log_likelihood", "customers", "time_unit", "calibration_end", "churn_risk_members")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    R_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    LOG_LIKELIHOOD_FIELD_NUMBER: _ClassVar[int]
    CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    TIME_UNIT_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_END_FIELD_NUMBER: _ClassVar[int]
    CHURN_RISK_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    model: str
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    customers: int
    time_unit: str
    calibration_end: str
    churn_risk_members: int
    def __init__(self, model: _Optional[str] = ..., r: _Optional[float] = ..., alpha: _Optional[float] = ..., a: _Optional[float] = ..., b: _Optional[float] = ..., log_likelihood: _Optional[float] = ..., customers: _Optional[int] = ..., time_unit: _Optional[str] = ..., calibration_end: _Optional[str] = ..., churn_risk_members: _Optional[int] = ...) -> None: ...

class GetPredictionRequest(_message.Message):
    __slots__ = ("brand_id", "member_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ...) -> None: ...

class Prediction(_message.Message):
    __slots__ = ("p_alive", "expected_purchases_90d", "clv_90d_fen", "churn_risk", "calibration_end")
    P_ALIVE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_PURCHASES_90D_FIELD_NUMBER: _ClassVar[int]
    CLV_90D_FEN_FIELD_NUMBER: _ClassVar[int]
    CHURN_RISK_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_END_FIELD_NUMBER: _ClassVar[int]
    p_alive: float
    expected_purchases_90d: float
    clv_90d_fen: int
    churn_risk: bool
    calibration_end: str
    def __init__(self, p_alive: _Optional[float] = ..., expected_purchases_90d: _Optional[float] = ..., clv_90d_fen: _Optional[int] = ..., churn_risk: _Optional[bool] = ..., calibration_end: _Optional[str] = ...) -> None: ...

class CreateReportScheduleRequest(_message.Message):
    __slots__ = ("brand_id", "name", "report", "local_time", "email_to", "webhook_url", "format", "period_days")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    LOCAL_TIME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_TO_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_URL_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_DAYS_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    name: str
    report: str
    local_time: str
    email_to: _containers.RepeatedScalarFieldContainer[str]
    webhook_url: str
    format: str
    period_days: int
    def __init__(self, brand_id: _Optional[str] = ..., name: _Optional[str] = ..., report: _Optional[str] = ..., local_time: _Optional[str] = ..., email_to: _Optional[_Iterable[str]] = ..., webhook_url: _Optional[str] = ..., format: _Optional[str] = ..., period_days: _Optional[int] = ...) -> None: ...

class ReportSchedule(_message.Message):
    __slots__ = ("id", "brand_id", "name", "report", "local_time", "email_to", "webhook_url", "format", "period_days", "next_run_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    LOCAL_TIME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_TO_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_URL_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_DAYS_FIELD_NUMBER: _ClassVar[int]
    NEXT_RUN_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    brand_id: str
    name: str
    report: str
    local_time: str
    email_to: _containers.RepeatedScalarFieldContainer[str]
    webhook_url: str
    format: str
    period_days: int
    next_run_at: str
    def __init__(self, id: _Optional[str] = ..., brand_id: _Optional[str] = ..., name: _Optional[str] = ..., report: _Optional[str] = ..., local_time: _Optional[str] = ..., email_to: _Optional[_Iterable[str]] = ..., webhook_url: _Optional[str] = ..., format: _Optional[str] = ..., period_days: _Optional[int] = ..., next_run_at: _Optional[str] = ...) -> None: ...

class ListReportSchedulesRequest(_message.Message):
    __slots__ = ("brand_id",)
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    def __init__(self, brand_id: _Optional[str] = ...) -> None: ...

class ReportSchedules(_message.Message):
    __slots__ = ("schedules",)
    SCHEDULES_FIELD_NUMBER: _ClassVar[int]
    schedules: _containers.RepeatedCompositeFieldContainer[ReportSchedule]
    def __init__(self, schedules: _Optional[_Iterable[_Union[ReportSchedule, _Mapping]]] = ...) -> None: ...

class RunReportScheduleRequest(_message.Message):
    __slots__ = ("brand_id", "schedule_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    schedule_id: str
    def __init__(self, brand_id: _Optional[str] = ..., schedule_id: _Optional[str] = ...) -> None: ...

class ReportDelivery(_message.Message):
    __slots__ = ("schedule_id", "emails", "webhook", "from_date", "to_date")
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    EMAILS_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    schedule_id: str
    emails: int
    webhook: bool
    from_date: str
    to_date: str
    def __init__(self, schedule_id: _Optional[str] = ..., emails: _Optional[int] = ..., webhook: _Optional[bool] = ..., from_date: _Optional[str] = ..., to_date: _Optional[str] = ...) -> None: ...

class ExportReportRequest(_message.Message):
    __slots__ = ("brand_id", "report", "from_date", "to_date", "format")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    report: str
    from_date: str
    to_date: str
    format: str
    def __init__(self, brand_id: _Optional[str] = ..., report: _Optional[str] = ..., from_date: _Optional[str] = ..., to_date: _Optional[str] = ..., format: _Optional[str] = ...) -> None: ...

class ReportFile(_message.Message):
    __slots__ = ("filename", "media_type", "content")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    filename: str
    media_type: str
    content: bytes
    def __init__(self, filename: _Optional[str] = ..., media_type: _Optional[str] = ..., content: _Optional[bytes] = ...) -> None: ...
