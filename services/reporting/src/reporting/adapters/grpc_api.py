"""gRPC handlers of ``crm.reporting.v1.ReportingService``: validate, call the use case, translate."""

from __future__ import annotations

from datetime import timedelta

import grpc

from crm.reporting.v1 import reporting_pb2, reporting_pb2_grpc
from crm_common.errors import InvalidArgument
from reporting.app import Reports, Schedule, new_schedule_id, parse_day, parse_month
from reporting.domain.analytics import Band
from reporting.domain.kpis import Scope, parse_range

Ctx = grpc.aio.ServicerContext


def _brand(brand_id: str) -> str:
    if not brand_id:
        raise InvalidArgument("brand_id is required", field="brand_id")
    return brand_id


def _schedule_pb(s: Schedule, next_run_at: str = "") -> reporting_pb2.ReportSchedule:
    return reporting_pb2.ReportSchedule(
        id=s.id, brand_id=s.brand_id, name=s.name, report=s.report, local_time=s.local_time,
        email_to=list(s.email_to), webhook_url=s.webhook_url, format=s.format, period_days=s.period_days,
        next_run_at=next_run_at,
    )


class ReportingServicer(reporting_pb2_grpc.ReportingServiceServicer):
    """Reports from the fact tables."""

    def __init__(self, reports: Reports) -> None:
        self._reports = reports

    async def GetKpis(self, request: reporting_pb2.GetKpisRequest, context: Ctx) -> reporting_pb2.Kpis:
        """KPIs of a brand-local date range and scope. A brand with no facts gets zeros."""
        brand_id = _brand(request.brand_id)
        days = parse_range(request.from_date, request.to_date)
        scope = Scope(request.store_id or None, request.guide_id or None, request.category or None)
        k = await self._reports.kpis(brand_id, days, scope, request.churn_window_days)
        return reporting_pb2.Kpis(
            orders=k.orders, revenue_fen=k.revenue_fen, aov_fen=k.aov_fen, buyers=k.buyers,
            repeat_buyers=k.repeat_buyers, repurchase_rate=k.repurchase_rate, new_members=k.new_members,
            gross_revenue_fen=k.gross_revenue_fen, refunded_fen=k.refunded_fen, refunds=k.refunds,
            active_members=k.active_members, churned_members=k.churned_members, churn_rate=k.churn_rate,
            churn_window_days=k.churn_window_days, points_issued=k.points_issued,
            points_redeemed=k.points_redeemed, points_expired=k.points_expired,
            coupons=[
                reporting_pb2.CouponTemplateKpi(template_id=c.template_id, granted=c.granted, redeemed=c.redeemed,
                                                redemption_rate=c.redemption_rate)
                for c in k.coupons
            ],
        )

    async def GetLeaderboard(
        self, request: reporting_pb2.GetLeaderboardRequest, context: Ctx
    ) -> reporting_pb2.Leaderboard:
        """Stores or guides ranked by net revenue."""
        days = parse_range(request.from_date, request.to_date)
        rows = await self._reports.leaderboard(_brand(request.brand_id), days, request.by or "store", request.limit)
        return reporting_pb2.Leaderboard(rows=[reporting_pb2.LeaderboardRow(**r) for r in rows])

    async def GetCohorts(self, request: reporting_pb2.GetCohortsRequest, context: Ctx) -> reporting_pb2.Cohorts:
        """Retention by registration month."""
        cohorts = await self._reports.cohorts(
            _brand(request.brand_id), parse_month(request.from_month, "from_month"),
            parse_month(request.to_month, "to_month"), request.store_id or None, request.months,
        )
        return reporting_pb2.Cohorts(cohorts=[reporting_pb2.Cohort(**c) for c in cohorts])

    async def GetRfm(self, request: reporting_pb2.GetRfmRequest, context: Ctx) -> reporting_pb2.Rfm:
        """Buyers per RFM cell."""
        cells, members = await self._reports.rfm(
            _brand(request.brand_id), parse_day(request.as_of, "as_of"), request.window_days,
            tuple(request.recency_days), tuple(request.frequency), tuple(request.monetary_fen),
        )
        return reporting_pb2.Rfm(cells=[reporting_pb2.RfmCell(**c) for c in cells], members=members)

    async def GetValueSegments(
        self, request: reporting_pb2.GetValueSegmentsRequest, context: Ctx
    ) -> reporting_pb2.ValueSegments:
        """Members by spend band."""
        bands = tuple(Band(b.name, b.min_fen) for b in request.bands)
        if any(not b.name for b in bands):
            raise InvalidArgument("every band needs a name", field="bands")
        segments = await self._reports.value_segments(
            _brand(request.brand_id), parse_day(request.as_of, "as_of"), request.window_days, bands
        )
        return reporting_pb2.ValueSegments(segments=[reporting_pb2.ValueSegment(**s) for s in segments])

    async def GetProductAssociation(
        self, request: reporting_pb2.GetProductAssociationRequest, context: Ctx
    ) -> reporting_pb2.ProductAssociation:
        """"A then B within N days" pairs."""
        pairs, buyers = await self._reports.association(
            _brand(request.brand_id), parse_range(request.from_date, request.to_date), request.within_days,
            request.level or "category", request.min_support, request.limit,
        )
        return reporting_pb2.ProductAssociation(
            pairs=[reporting_pb2.AssociationPair(antecedent=p.antecedent, consequent=p.consequent,
                                                 customers=p.customers, support=p.support,
                                                 confidence=p.confidence, lift=p.lift) for p in pairs],
            buyers=buyers,
        )

    async def DetectAnomalies(
        self, request: reporting_pb2.DetectAnomaliesRequest, context: Ctx
    ) -> reporting_pb2.Anomalies:
        """Scan one day now (the daily job does the same for yesterday)."""
        brand_id = _brand(request.brand_id)
        if request.lookback_days and not 7 <= request.lookback_days <= 365:
            raise InvalidArgument("lookback_days must be between 7 and 365", field="lookback_days")
        day = parse_day(request.day, "day") if request.day else await self._reports.today(brand_id) - timedelta(1)
        found = await self._reports.detect_anomalies(brand_id, day, request.lookback_days)
        return reporting_pb2.Anomalies(anomalies=[reporting_pb2.Anomaly(**a) for a in found])

    async def ListAnomalies(self, request: reporting_pb2.ListAnomaliesRequest, context: Ctx) -> reporting_pb2.Anomalies:
        """The brand's anomalies, newest first."""
        found = await self._reports.list_anomalies(_brand(request.brand_id), request.limit)
        return reporting_pb2.Anomalies(anomalies=[reporting_pb2.Anomaly(**a) for a in found])

    async def FitPurchaseModel(
        self, request: reporting_pb2.FitPurchaseModelRequest, context: Ctx
    ) -> reporting_pb2.PurchaseModel:
        """Fit BG/NBD for the brand and score its members."""
        if not 0 <= request.churn_risk_below < 1:
            raise InvalidArgument("churn_risk_below must be in [0, 1)", field="churn_risk_below")
        model = await self._reports.fit_model(
            _brand(request.brand_id), parse_day(request.calibration_end, "calibration_end"), request.churn_risk_below
        )
        return reporting_pb2.PurchaseModel(**model)

    async def GetPrediction(
        self, request: reporting_pb2.GetPredictionRequest, context: Ctx
    ) -> reporting_pb2.Prediction:
        """A member's p_alive, expected purchases and CLV over the next 90 days."""
        if not request.member_id:
            raise InvalidArgument("member_id is required", field="member_id")
        return reporting_pb2.Prediction(**await self._reports.prediction(_brand(request.brand_id), request.member_id))

    async def CreateReportSchedule(
        self, request: reporting_pb2.CreateReportScheduleRequest, context: Ctx
    ) -> reporting_pb2.ReportSchedule:
        """A daily report at a brand-local time, by email and/or webhook."""
        schedule = Schedule(
            id=new_schedule_id(), brand_id=_brand(request.brand_id), name=request.name or request.report,
            report=request.report, local_time=request.local_time or "08:00", email_to=tuple(request.email_to),
            webhook_url=request.webhook_url, format=request.format or "csv", period_days=request.period_days or 1,
        )
        stored, run_at = await self._reports.create_schedule(schedule)
        return _schedule_pb(stored, run_at.isoformat())

    async def ListReportSchedules(
        self, request: reporting_pb2.ListReportSchedulesRequest, context: Ctx
    ) -> reporting_pb2.ReportSchedules:
        """The brand's schedules."""
        schedules = await self._reports.schedules(_brand(request.brand_id))
        return reporting_pb2.ReportSchedules(schedules=[_schedule_pb(s) for s in schedules])

    async def RunReportSchedule(
        self, request: reporting_pb2.RunReportScheduleRequest, context: Ctx
    ) -> reporting_pb2.ReportDelivery:
        """Deliver a schedule's report now (on demand)."""
        return reporting_pb2.ReportDelivery(
            **await self._reports.deliver(_brand(request.brand_id), request.schedule_id)
        )

    async def ExportReport(self, request: reporting_pb2.ExportReportRequest, context: Ctx) -> reporting_pb2.ReportFile:
        """A report as a CSV, XLSX or PNG file."""
        filename, media_type, content = await self._reports.export(
            _brand(request.brand_id), request.report or "kpis", parse_range(request.from_date, request.to_date),
            request.format or "csv",
        )
        return reporting_pb2.ReportFile(filename=filename, media_type=media_type, content=content)
