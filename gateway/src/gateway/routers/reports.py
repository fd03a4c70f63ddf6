"""Reports (reporting service): KPIs, leaderboards, cohorts, RFM, segments, association, anomalies, the
purchase model and member predictions, exports and scheduled reports."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from crm.reporting.v1 import reporting_pb2
from gateway.auth import Permission, Principal, brand_access, require_store
from gateway.errors import ProblemError, invalid, problem_responses, rpc
from gateway.routers import ClientsDep
from gateway.schemas import IsoDate
from gateway.schemas_reports import (
    AnomaliesOut,
    AnomalyOut,
    AnomalyScanIn,
    AssociationPairOut,
    CohortOut,
    CohortsOut,
    DeliveryOut,
    KpisOut,
    LeaderboardOut,
    LeaderboardRowOut,
    PredictionOut,
    ProductAssociationOut,
    PurchaseModelIn,
    PurchaseModelOut,
    RfmCellOut,
    RfmOut,
    ScheduleIn,
    ScheduleOut,
    SchedulesOut,
    ValueSegmentOut,
    ValueSegmentsOut,
)

# No prefix: the member prediction lives under /members, the rest under /reports.
router = APIRouter(tags=["reporting"])
R = "/v1/brands/{brand_id}/reports"

_FIELDS = {"from_date": "from", "to_date": "to"}
Reader = Annotated[Principal, Depends(brand_access(Permission.REPORT_READ))]
# Fitting the model, scanning for anomalies and scheduling reports (which mail data out) change what the
# brand's reports are: admins only; analysts and store managers read.
Writer = Annotated[Principal, Depends(brand_access(Permission.REPORT_WRITE))]
From = Annotated[IsoDate, Query(alias="from", description="First day, brand's timezone (inclusive)")]
To = Annotated[IsoDate, Query(description="Last day, brand's timezone (inclusive)")]
# Years 1900-2999, as the service accepts: "0000-01" is a 422 naming the parameter here, not a 500 there.
Month = Annotated[str, Query(pattern=r"^(19|2\d)\d{2}-(0[1-9]|1[0-2])$", description="YYYY-MM, years 1900-2999")]
_ERRORS = problem_responses(401, 403, 404, 422)


def _brand_wide(caller: Principal) -> None:
    """Brand-wide reports (rankings of all stores, models) are not for store-scoped roles."""
    if caller.store_scoped:
        raise ProblemError(403, "This report covers the whole brand; your role sees its own stores only.",
                           reason="PERMISSION_DENIED")


def _range(from_: object, to: object) -> None:
    if to < from_:  # type: ignore[operator]
        raise invalid(("to", "must not be before from"))


def _edges(text: str | None, field: str) -> list[int]:
    if not text:
        return []
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise invalid((field, "must be comma-separated integers")) from None


@router.get(f"{R}/kpis", response_model=KpisOut, responses=_ERRORS)
async def get_kpis(
    brand_id: str,
    clients: ClientsDep,
    caller: Reader,
    from_: From,
    to: To,
    store_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    guide_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    category: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    churn_window_days: Annotated[int, Query(ge=1, le=730)] = 90,
) -> KpisOut:
    """Every KPI of a date range, optionally of one store, guide (members they own) or category."""
    _range(from_, to)
    # The longest allowed span is the reporting service's rule; it answers 422 naming `to` itself.
    if caller.store_scoped:
        # A store manager's report covers one of their stores, never the whole brand.
        if store_id is None and len(caller.store_ids) == 1:
            store_id = caller.store_ids[0]
        if store_id is None:
            raise invalid(("store_id", "required: your role sees reports of its own stores only"))
        require_store(caller, store_id, "store")
    kpis = await rpc(
        clients.reporting.GetKpis(reporting_pb2.GetKpisRequest(
            brand_id=brand_id, from_date=from_.isoformat(), to_date=to.isoformat(), store_id=store_id or "",
            guide_id=guide_id or "", category=category or "", churn_window_days=churn_window_days,
        )),
        field_aliases=_FIELDS,
    )
    return KpisOut.of(kpis)


async def _leaderboard(clients: ClientsDep, brand_id: str, from_: object, to: object, by: str,
                       limit: int) -> LeaderboardOut:
    _range(from_, to)
    board = await rpc(
        clients.reporting.GetLeaderboard(reporting_pb2.GetLeaderboardRequest(
            brand_id=brand_id, from_date=from_.isoformat(), to_date=to.isoformat(), by=by, limit=limit,  # type: ignore[attr-defined]
        )),
        field_aliases=_FIELDS,
    )
    key = "store_id" if by == "store" else "guide_id"
    return LeaderboardOut(items=[
        LeaderboardRowOut(rank=r.rank, orders=r.orders, revenue_fen=r.revenue_fen, aov_fen=r.aov_fen, buyers=r.buyers,
                          repeat_buyers=r.repeat_buyers, repurchase_rate=r.repurchase_rate, **{key: r.key or None})
        for r in board.rows
    ])


@router.get(f"{R}/store-leaderboard", response_model=LeaderboardOut, responses=_ERRORS)
async def store_leaderboard(
    brand_id: str, clients: ClientsDep, caller: Reader, from_: From, to: To,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> LeaderboardOut:
    """Stores ranked by net revenue of the range, with orders, AOV, buyers and repurchase rate."""
    _brand_wide(caller)
    return await _leaderboard(clients, brand_id, from_, to, "store", limit)


@router.get(f"{R}/guide-leaderboard", response_model=LeaderboardOut, responses=_ERRORS)
async def guide_leaderboard(
    brand_id: str, clients: ClientsDep, caller: Reader, from_: From, to: To,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> LeaderboardOut:
    """Guides ranked by the net revenue of the members they own now."""
    _brand_wide(caller)
    return await _leaderboard(clients, brand_id, from_, to, "guide", limit)


@router.get(f"{R}/cohorts", response_model=CohortsOut, responses=_ERRORS)
async def cohorts(
    brand_id: str, clients: ClientsDep, caller: Reader, from_month: Month, to_month: Month,
    store_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    months: Annotated[int, Query(ge=1, le=60)] = 12,
) -> CohortsOut:
    """Retention by registration month: the share of each cohort buying in month k after registering."""
    if caller.store_scoped:
        require_store(caller, store_id, "store")
    out = await rpc(clients.reporting.GetCohorts(reporting_pb2.GetCohortsRequest(
        brand_id=brand_id, from_month=from_month, to_month=to_month, store_id=store_id or "", months=months)))
    return CohortsOut(items=[CohortOut(month=c.month, members=c.members, active=list(c.active),
                                       retention=list(c.retention)) for c in out.cohorts])


@router.get(f"{R}/rfm", response_model=RfmOut, responses=_ERRORS)
async def rfm(
    brand_id: str, clients: ClientsDep, caller: Reader, as_of: IsoDate,
    window_days: Annotated[int, Query(ge=1, le=1095)] = 365,
    recency_days: Annotated[str | None, Query(description="ascending day edges, e.g. 30,90,180,365")] = None,
    frequency: Annotated[str | None, Query(description="ascending purchase-day edges, e.g. 2,3,5,10")] = None,
    monetary_fen: Annotated[str | None, Query(description="ascending spend edges in fen")] = None,
) -> RfmOut:
    """Buyers of the window per RFM cell, with configurable band edges."""
    _brand_wide(caller)
    out = await rpc(clients.reporting.GetRfm(reporting_pb2.GetRfmRequest(
        brand_id=brand_id, as_of=as_of.isoformat(), window_days=window_days,
        recency_days=_edges(recency_days, "recency_days"), frequency=_edges(frequency, "frequency"),
        monetary_fen=_edges(monetary_fen, "monetary_fen"))))
    return RfmOut(members=out.members, cells=[RfmCellOut(r=c.r, f=c.f, m=c.m, members=c.members,
                                                          revenue_fen=c.revenue_fen) for c in out.cells])


@router.get(f"{R}/value-segments", response_model=ValueSegmentsOut, responses=_ERRORS)
async def value_segments(
    brand_id: str, clients: ClientsDep, caller: Reader, as_of: IsoDate,
    window_days: Annotated[int, Query(ge=1, le=1095)] = 365,
    vip_min_fen: Annotated[int, Query(ge=1)] = 500_000,
) -> ValueSegmentsOut:
    """Members by net spend over the window: vip (≥ vip_min_fen, default 5000 yuan), regular, inactive."""
    _brand_wide(caller)
    bands = [reporting_pb2.ValueBand(name="vip", min_fen=vip_min_fen),
             reporting_pb2.ValueBand(name="regular", min_fen=1),
             reporting_pb2.ValueBand(name="inactive", min_fen=-(2**62))]
    out = await rpc(clients.reporting.GetValueSegments(reporting_pb2.GetValueSegmentsRequest(
        brand_id=brand_id, as_of=as_of.isoformat(), window_days=window_days, bands=bands)))
    return ValueSegmentsOut(items=[ValueSegmentOut(name=s.name, members=s.members, revenue_fen=s.revenue_fen)
                                   for s in out.segments])


@router.get(f"{R}/product-association", response_model=ProductAssociationOut, responses=_ERRORS)
async def product_association(
    brand_id: str, clients: ClientsDep, caller: Reader, from_: From, to: To,
    within_days: Annotated[int, Query(ge=1, le=365)] = 30,
    level: Literal["category", "sku"] = "category",
    min_support: Annotated[float, Query(ge=0, le=1)] = 0.001,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ProductAssociationOut:
    """"Bought A, then B within N days": support, confidence and lift, for cross-selling."""
    _brand_wide(caller)
    _range(from_, to)
    out = await rpc(clients.reporting.GetProductAssociation(reporting_pb2.GetProductAssociationRequest(
        brand_id=brand_id, from_date=from_.isoformat(), to_date=to.isoformat(), within_days=within_days,
        level=level, min_support=min_support, limit=limit)), field_aliases=_FIELDS)
    return ProductAssociationOut(buyers=out.buyers, items=[
        AssociationPairOut(antecedent=p.antecedent, consequent=p.consequent, customers=p.customers,
                           support=p.support, confidence=p.confidence, lift=p.lift) for p in out.pairs])


def _anomalies(out: reporting_pb2.Anomalies) -> AnomaliesOut:
    return AnomaliesOut(items=[AnomalyOut(id=a.id, store_id=a.store_id, day=a.day, metric=a.metric, value=a.value,
                                          low=a.low, high=a.high, detected_at=a.detected_at) for a in out.anomalies])


@router.get(f"{R}/anomalies", response_model=AnomaliesOut, responses=_ERRORS)
async def list_anomalies(
    brand_id: str, clients: ClientsDep, caller: Reader, limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AnomaliesOut:
    """The console's notices: stores whose daily revenue or repurchase share left their usual range."""
    out = await rpc(clients.reporting.ListAnomalies(reporting_pb2.ListAnomaliesRequest(brand_id=brand_id,
                                                                                        limit=limit)))
    if caller.store_scoped:
        out = reporting_pb2.Anomalies(anomalies=[a for a in out.anomalies if a.store_id in caller.store_ids])
    return _anomalies(out)


@router.post(f"{R}/anomaly-scans", response_model=AnomaliesOut, responses=_ERRORS)
async def scan_anomalies(brand_id: str, body: AnomalyScanIn, clients: ClientsDep, caller: Writer) -> AnomaliesOut:
    """Scan a day now (the service also scans yesterday every morning); returns what is new."""
    _brand_wide(caller)
    out = await rpc(clients.reporting.DetectAnomalies(reporting_pb2.DetectAnomaliesRequest(
        brand_id=brand_id, day=body.day.isoformat() if body.day else "", lookback_days=body.lookback_days)))
    return _anomalies(out)


@router.post(f"{R}/purchase-model", response_model=PurchaseModelOut, responses=_ERRORS)
async def purchase_model(brand_id: str, body: PurchaseModelIn, clients: ClientsDep, caller: Writer) -> PurchaseModelOut:
    """Fit BG/NBD (weeks) on the brand's purchase days up to ``calibration_end`` and score every member."""
    _brand_wide(caller)
    m = await rpc(clients.reporting.FitPurchaseModel(reporting_pb2.FitPurchaseModelRequest(
        brand_id=brand_id, calibration_end=body.calibration_end.isoformat(),
        churn_risk_below=body.churn_risk_below)))
    return PurchaseModelOut(model="bgnbd", r=m.r, alpha=m.alpha, a=m.a, b=m.b, log_likelihood=m.log_likelihood,
                            customers=m.customers, time_unit="week", calibration_end=m.calibration_end,
                            churn_risk_members=m.churn_risk_members)


@router.get("/v1/brands/{brand_id}/members/{member_id}/prediction", response_model=PredictionOut,
            responses=_ERRORS)
async def prediction(brand_id: str, member_id: str, clients: ClientsDep, caller: Reader) -> PredictionOut:
    """P(alive), expected purchases and CLV of the next 90 days, as of the model's calibration end."""
    # The member's store is not known here without a members call; keep it to brand-wide roles for now.
    _brand_wide(caller)
    p = await rpc(clients.reporting.GetPrediction(reporting_pb2.GetPredictionRequest(
        brand_id=brand_id, member_id=member_id)))
    return PredictionOut(p_alive=p.p_alive, expected_purchases_90d=p.expected_purchases_90d,
                         clv_90d_fen=p.clv_90d_fen, churn_risk=p.churn_risk, calibration_end=p.calibration_end)


@router.get(f"{R}/exports/{{report}}", responses={200: {"content": {"text/csv": {}}}, **_ERRORS})
async def export(
    brand_id: str, report: Literal["kpis", "store_leaderboard"], clients: ClientsDep, caller: Reader, from_: From,
    to: To, format: Literal["csv", "xlsx", "png"] = "csv",
) -> Response:
    """A report as a CSV, XLSX or PNG chart download."""
    _brand_wide(caller)
    _range(from_, to)
    f = await rpc(clients.reporting.ExportReport(reporting_pb2.ExportReportRequest(
        brand_id=brand_id, report=report, from_date=from_.isoformat(), to_date=to.isoformat(), format=format)),
        field_aliases=_FIELDS)
    return Response(f.content, media_type=f.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{f.filename}"'})


@router.post(f"{R}/schedules", status_code=201, response_model=ScheduleOut, responses=_ERRORS)
async def create_schedule(brand_id: str, body: ScheduleIn, clients: ClientsDep, caller: Writer) -> ScheduleOut:
    """Deliver a report every day at ``local_time`` brand time by email and/or webhook (CSV/XLSX + PNG)."""
    _brand_wide(caller)
    if not body.email_to and body.webhook_url is None:
        raise invalid(("email_to", "give email_to or webhook_url"))
    s = await rpc(clients.reporting.CreateReportSchedule(reporting_pb2.CreateReportScheduleRequest(
        brand_id=brand_id, name=body.name, report=body.report, local_time=body.local_time,
        email_to=list(body.email_to), webhook_url=str(body.webhook_url) if body.webhook_url else "",
        format=body.format, period_days=body.period_days)))
    return ScheduleOut.of(s)


@router.get(f"{R}/schedules", response_model=SchedulesOut, responses=_ERRORS)
async def list_schedules(brand_id: str, clients: ClientsDep, caller: Reader) -> SchedulesOut:
    """The brand's scheduled reports."""
    _brand_wide(caller)
    out = await rpc(clients.reporting.ListReportSchedules(reporting_pb2.ListReportSchedulesRequest(
        brand_id=brand_id)))
    return SchedulesOut(items=[ScheduleOut.of(s) for s in out.schedules])


@router.post(f"{R}/schedules/{{schedule_id}}/runs", response_model=DeliveryOut, responses=_ERRORS)
async def run_schedule(brand_id: str, schedule_id: str, clients: ClientsDep, caller: Writer) -> DeliveryOut:
    """Deliver a scheduled report now (on demand), covering the last ``period_days`` full days."""
    _brand_wide(caller)
    d = await rpc(clients.reporting.RunReportSchedule(reporting_pb2.RunReportScheduleRequest(
        brand_id=brand_id, schedule_id=schedule_id)))
    return DeliveryOut(schedule_id=d.schedule_id, emails=d.emails, webhook=d.webhook, from_date=d.from_date,
                       to_date=d.to_date)
