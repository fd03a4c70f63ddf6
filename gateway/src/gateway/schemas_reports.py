"""Request and response models of the reporting routes (definitions: API.md "Reporting" and the README)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, Field, StringConstraints

from crm.reporting.v1 import reporting_pb2
from gateway.schemas import IsoDate, RequestBody

# A light check: the mail server is the judge of deliverability (email-validator is not a dependency).
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]


class CouponTemplateKpiOut(BaseModel):
    """Coupons of one template granted in the range and how many of them were redeemed (so far)."""

    template_id: str
    granted: int
    redeemed: int
    redemption_rate: float


class KpisOut(BaseModel):
    """Every KPI of a range (brand-local days, both ends inclusive). revenue is net of refunds of the range."""

    orders: int
    revenue_fen: int
    gross_revenue_fen: int
    refunded_fen: int
    refunds: int
    aov_fen: int
    buyers: int
    repeat_buyers: int
    repurchase_rate: float
    new_members: int
    active_members: int
    churned_members: int
    churn_rate: float
    churn_window_days: int
    points_issued: int
    points_redeemed: int
    points_expired: int
    coupons: list[CouponTemplateKpiOut]

    @classmethod
    def of(cls, k: reporting_pb2.Kpis) -> KpisOut:
        """From the service's message."""
        return cls(
            orders=k.orders, revenue_fen=k.revenue_fen, gross_revenue_fen=k.gross_revenue_fen,
            refunded_fen=k.refunded_fen, refunds=k.refunds, aov_fen=k.aov_fen, buyers=k.buyers,
            repeat_buyers=k.repeat_buyers, repurchase_rate=k.repurchase_rate, new_members=k.new_members,
            active_members=k.active_members, churned_members=k.churned_members, churn_rate=k.churn_rate,
            churn_window_days=k.churn_window_days, points_issued=k.points_issued,
            points_redeemed=k.points_redeemed, points_expired=k.points_expired,
            coupons=[CouponTemplateKpiOut(template_id=c.template_id, granted=c.granted, redeemed=c.redeemed,
                                          redemption_rate=c.redemption_rate) for c in k.coupons],
        )


class LeaderboardRowOut(BaseModel):
    """One store or guide; ranked by net revenue."""

    rank: int
    store_id: str | None = None
    guide_id: str | None = None
    orders: int
    revenue_fen: int
    aov_fen: int
    buyers: int
    repeat_buyers: int
    repurchase_rate: float


class LeaderboardOut(BaseModel):
    """Leaderboard rows (not paged: one row per store or guide, at most ``limit``)."""

    items: list[LeaderboardRowOut]


class CohortOut(BaseModel):
    """A registration month and, per month after it, the members who bought and their share."""

    month: str
    members: int
    active: list[int]
    retention: list[float]


class CohortsOut(BaseModel):
    """Cohorts in month order."""

    items: list[CohortOut]


class RfmCellOut(BaseModel):
    """Buyers of one (recency, frequency, monetary) cell; scores run from 1 (worst) upwards."""

    r: int
    f: int
    m: int
    members: int
    revenue_fen: int


class RfmOut(BaseModel):
    """The RFM distribution of the window's buyers."""

    members: int
    cells: list[RfmCellOut]


class ValueSegmentOut(BaseModel):
    """Members whose net spend in the window reaches a band."""

    name: str
    members: int
    revenue_fen: int


class ValueSegmentsOut(BaseModel):
    """Segments, highest band first."""

    items: list[ValueSegmentOut]


class AssociationPairOut(BaseModel):
    """Customers who bought ``antecedent`` then ``consequent`` within N days."""

    antecedent: str
    consequent: str
    customers: int
    support: float
    confidence: float
    lift: float


class ProductAssociationOut(BaseModel):
    """Pairs by lift; ``buyers`` is the base of support."""

    buyers: int
    items: list[AssociationPairOut]


class AnomalyOut(BaseModel):
    """A store's daily figure outside its own recent range."""

    id: str
    store_id: str
    day: str
    metric: str
    value: float
    low: float
    high: float
    detected_at: str


class AnomaliesOut(BaseModel):
    """Anomalies, newest first."""

    items: list[AnomalyOut]


class AnomalyScanIn(RequestBody):
    """Scan one day now (default: yesterday in the brand's timezone)."""

    day: IsoDate | None = None
    lookback_days: int = Field(default=28, ge=7, le=365)


class PurchaseModelIn(RequestBody):
    """Fit BG/NBD on purchases up to and including ``calibration_end``."""

    calibration_end: IsoDate
    churn_risk_below: float = Field(default=0.3, gt=0, lt=1)


class PurchaseModelOut(BaseModel):
    """Fitted parameters (time unit: weeks) and how many members were flagged churn-risk."""

    model: Literal["bgnbd"]
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    customers: int
    time_unit: Literal["week"]
    calibration_end: str
    churn_risk_members: int


class PredictionOut(BaseModel):
    """A member's outlook as of the model's calibration end."""

    p_alive: float
    expected_purchases_90d: float
    clv_90d_fen: int
    churn_risk: bool
    calibration_end: str


class ScheduleIn(RequestBody):
    """A daily report at ``local_time`` (brand time) covering the last ``period_days`` full days."""

    name: str = Field(min_length=1, max_length=100)
    report: Literal["kpis", "store_leaderboard"]
    local_time: str = Field(default="08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    email_to: list[Email] = Field(default_factory=list, max_length=20)
    webhook_url: AnyHttpUrl | None = None
    format: Literal["csv", "xlsx"] = "csv"
    period_days: int = Field(default=1, ge=1, le=366)


class ScheduleOut(BaseModel):
    """A stored schedule."""

    id: str
    name: str
    report: str
    local_time: str
    email_to: list[str]
    webhook_url: str | None
    format: str
    period_days: int
    next_run_at: str | None = None

    @classmethod
    def of(cls, s: reporting_pb2.ReportSchedule) -> ScheduleOut:
        """From the service's message."""
        return cls(id=s.id, name=s.name, report=s.report, local_time=s.local_time, email_to=list(s.email_to),
                   webhook_url=s.webhook_url or None, format=s.format, period_days=s.period_days,
                   next_run_at=s.next_run_at or None)


class SchedulesOut(BaseModel):
    """The brand's schedules."""

    items: list[ScheduleOut]


class DeliveryOut(BaseModel):
    """What an on-demand run sent."""

    schedule_id: str
    emails: int
    webhook: bool
    from_date: str
    to_date: str
