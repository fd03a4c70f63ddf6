"""Every reports route through the gateway: the success shape, 422 naming the field, 404 for another
brand, 403 for roles without the right. The reporting service is a fake over real gRPC."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from crm.reporting.v1 import reporting_pb2

from .conftest import BRAND_A, BRAND_B, Backends, FakeReporting

A = f"/v1/brands/{BRAND_A}"
B = f"/v1/brands/{BRAND_B}"
RANGE = "from=2026-03-01&to=2026-03-31"


class FullFakeReporting(FakeReporting):
    """Answers every reporting RPC with fixed, recognisable values and remembers each request."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: dict[str, Any] = {}

    async def GetLeaderboard(self, request, context):
        self.requests["GetLeaderboard"] = request
        return reporting_pb2.Leaderboard(rows=[reporting_pb2.LeaderboardRow(
            rank=1, key="store-a1", orders=3, revenue_fen=9000, aov_fen=3000, buyers=2, repeat_buyers=1,
            repurchase_rate=0.5)])

    async def GetCohorts(self, request, context):
        self.requests["GetCohorts"] = request
        return reporting_pb2.Cohorts(cohorts=[reporting_pb2.Cohort(month="2026-01", members=4, active=[4, 2],
                                                                   retention=[1.0, 0.5])])

    async def GetRfm(self, request, context):
        self.requests["GetRfm"] = request
        return reporting_pb2.Rfm(members=2, cells=[reporting_pb2.RfmCell(r=5, f=1, m=2, members=2, revenue_fen=800)])

    async def GetValueSegments(self, request, context):
        self.requests["GetValueSegments"] = request
        return reporting_pb2.ValueSegments(segments=[reporting_pb2.ValueSegment(name="vip", members=1,
                                                                                revenue_fen=600_000)])

    async def GetProductAssociation(self, request, context):
        self.requests["GetProductAssociation"] = request
        return reporting_pb2.ProductAssociation(buyers=10, pairs=[reporting_pb2.AssociationPair(
            antecedent="coffee", consequent="bakery", customers=3, support=0.3, confidence=0.6, lift=1.5)])

    def _anomalies(self) -> reporting_pb2.Anomalies:
        return reporting_pb2.Anomalies(anomalies=[
            reporting_pb2.Anomaly(id="an-1", store_id="store-a1", day="2026-03-01", metric="revenue_fen",
                                  value=10.0, low=100.0, high=200.0, detected_at="2026-03-02T06:00:00+08:00"),
            reporting_pb2.Anomaly(id="an-2", store_id="store-a2", day="2026-03-01", metric="revenue_fen",
                                  value=10.0, low=100.0, high=200.0, detected_at="2026-03-02T06:00:00+08:00"),
        ])

    async def ListAnomalies(self, request, context):
        self.requests["ListAnomalies"] = request
        return self._anomalies()

    async def DetectAnomalies(self, request, context):
        self.requests["DetectAnomalies"] = request
        return self._anomalies()

    async def FitPurchaseModel(self, request, context):
        self.requests["FitPurchaseModel"] = request
        return reporting_pb2.PurchaseModel(model="bgnbd", r=0.243, alpha=4.414, a=0.793, b=2.426,
                                           log_likelihood=-9582.4, customers=2357, time_unit="week",
                                           calibration_end=request.calibration_end, churn_risk_members=12)

    async def GetPrediction(self, request, context):
        self.requests["GetPrediction"] = request
        return reporting_pb2.Prediction(p_alive=0.8, expected_purchases_90d=1.2, clv_90d_fen=4200, churn_risk=False,
                                        calibration_end="1997-09-30")

    def _schedule(self, request: Any) -> reporting_pb2.ReportSchedule:
        return reporting_pb2.ReportSchedule(
            id="rs-1", brand_id=request.brand_id, name="daily", report="kpis", local_time="08:00",
            email_to=["boss@example.com"], format="csv", period_days=1, next_run_at="2026-03-02T08:00:00+08:00")

    async def CreateReportSchedule(self, request, context):
        self.requests["CreateReportSchedule"] = request
        return self._schedule(request)

    async def ListReportSchedules(self, request, context):
        self.requests["ListReportSchedules"] = request
        return reporting_pb2.ReportSchedules(schedules=[self._schedule(request)])

    async def RunReportSchedule(self, request, context):
        self.requests["RunReportSchedule"] = request
        return reporting_pb2.ReportDelivery(schedule_id=request.schedule_id, emails=1, webhook=False,
                                            from_date="2026-03-01", to_date="2026-03-01")

    async def ExportReport(self, request, context):
        self.requests["ExportReport"] = request
        return reporting_pb2.ReportFile(filename="kpis_2026-03-01_2026-03-31.csv", media_type="text/csv",
                                        content=b"kpi,value\norders,4\n")


@pytest.fixture
async def backends() -> AsyncIterator[Backends]:
    """The conftest fakes, with the full reporting fake in place of the KPIs-only one."""
    fakes = Backends()
    fakes.reporting = FullFakeReporting()
    await fakes.start()
    try:
        yield fakes
    finally:
        await fakes.stop_all()


SCHEDULE = {"name": "daily", "report": "kpis", "email_to": ["boss@example.com"]}
# (method, path under the brand, JSON body, RPC the route calls)
ROUTES: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("GET", f"/reports/kpis?{RANGE}", None, "GetKpis"),
    ("GET", f"/reports/store-leaderboard?{RANGE}", None, "GetLeaderboard"),
    ("GET", f"/reports/guide-leaderboard?{RANGE}", None, "GetLeaderboard"),
    ("GET", "/reports/cohorts?from_month=2026-01&to_month=2026-03", None, "GetCohorts"),
    ("GET", "/reports/rfm?as_of=2026-03-31", None, "GetRfm"),
    ("GET", "/reports/value-segments?as_of=2026-03-31", None, "GetValueSegments"),
    ("GET", f"/reports/product-association?{RANGE}", None, "GetProductAssociation"),
    ("GET", "/reports/anomalies", None, "ListAnomalies"),
    ("POST", "/reports/anomaly-scans", {"day": "2026-03-01"}, "DetectAnomalies"),
    ("POST", "/reports/purchase-model", {"calibration_end": "1997-09-30"}, "FitPurchaseModel"),
    ("GET", "/members/m-a1/prediction", None, "GetPrediction"),
    ("GET", f"/reports/exports/kpis?{RANGE}", None, "ExportReport"),
    ("POST", "/reports/schedules", SCHEDULE, "CreateReportSchedule"),
    ("GET", "/reports/schedules", None, "ListReportSchedules"),
    ("POST", "/reports/schedules/rs-1/runs", None, "RunReportSchedule"),
]
WRITES = {"DetectAnomalies", "FitPurchaseModel", "CreateReportSchedule", "RunReportSchedule"}
# What a store manager may read: KPIs of their own store, cohorts of it, and their stores' anomalies.
STORE_MANAGER_READS = {"GetKpis", "GetCohorts", "ListAnomalies"}
IDS = [f"{m} {p.split('?')[0]}" for m, p, _, _ in ROUTES]


async def _call(client: Any, method: str, url: str, body: dict[str, Any] | None, headers: dict[str, str]) -> Any:
    return await client.request(method, url, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "body", "rpc"), ROUTES, ids=IDS)
async def test_success_shape_and_translation(client, as_role, backends, method, path, body, rpc) -> None:
    r = await _call(client, method, A + path, body, as_role("brand_admin"))

    assert r.status_code == (201 if path == "/reports/schedules" and method == "POST" else 200), r.text
    request = backends.reporting.last if rpc == "GetKpis" else backends.reporting.requests[rpc]
    assert request.brand_id == BRAND_A
    expected = {
        "GetKpis": lambda j: j["orders"] == 4 and j["revenue_fen"] == 40_000 and "churn_rate" in j,
        "GetLeaderboard": lambda j: j["items"][0]["rank"] == 1 and j["items"][0]["revenue_fen"] == 9000,
        "GetCohorts": lambda j: j["items"] == [{"month": "2026-01", "members": 4, "active": [4, 2],
                                               "retention": [1.0, 0.5]}],
        "GetRfm": lambda j: j == {"members": 2, "cells": [{"r": 5, "f": 1, "m": 2, "members": 2, "revenue_fen": 800}]},
        "GetValueSegments": lambda j: j["items"] == [{"name": "vip", "members": 1, "revenue_fen": 600_000}],
        "GetProductAssociation": lambda j: j["buyers"] == 10 and j["items"][0]["lift"] == 1.5,
        "ListAnomalies": lambda j: [a["id"] for a in j["items"]] == ["an-1", "an-2"],
        "DetectAnomalies": lambda j: len(j["items"]) == 2,
        "FitPurchaseModel": lambda j: (j["model"], j["time_unit"], j["customers"], j["calibration_end"])
        == ("bgnbd", "week", 2357, "1997-09-30"),
        "GetPrediction": lambda j: j["p_alive"] == 0.8 and j["clv_90d_fen"] == 4200,
        "ExportReport": lambda _: r.headers["content-type"].startswith("text/csv")
        and 'filename="kpis_2026-03-01_2026-03-31.csv"' in r.headers["content-disposition"]
        and r.content == b"kpi,value\norders,4\n",
        "CreateReportSchedule": lambda j: j["id"] == "rs-1" and j["next_run_at"].startswith("2026-03-02"),
        "ListReportSchedules": lambda j: [s["id"] for s in j["items"]] == ["rs-1"],
        "RunReportSchedule": lambda j: j == {"schedule_id": "rs-1", "emails": 1, "webhook": False,
                                             "from_date": "2026-03-01", "to_date": "2026-03-01"},
    }[rpc]
    assert expected(r.json() if rpc != "ExportReport" else None), r.text


async def test_leaderboard_and_association_requests_carry_their_parameters(client, as_role, backends) -> None:
    headers = as_role("analyst")
    await client.get(f"{A}/reports/guide-leaderboard?{RANGE}&limit=7", headers=headers)
    board = backends.reporting.requests["GetLeaderboard"]
    assert (board.by, board.limit, board.from_date, board.to_date) == ("guide", 7, "2026-03-01", "2026-03-31")
    await client.get(f"{A}/reports/product-association?{RANGE}&within_days=14&level=sku", headers=headers)
    pairs = backends.reporting.requests["GetProductAssociation"]
    assert (pairs.within_days, pairs.level) == (14, "sku")
    await client.get(f"{A}/reports/rfm?as_of=2026-03-31&recency_days=30,90&frequency=2,5", headers=headers)
    rfm = backends.reporting.requests["GetRfm"]
    assert (list(rfm.recency_days), list(rfm.frequency)) == ([30, 90], [2, 5])


@pytest.mark.parametrize(("method", "url", "body", "field"), [
    ("GET", "/reports/kpis?from=2026-3-01&to=2026-03-31", None, "from"),
    ("GET", "/reports/kpis?from=2026-03-31&to=2026-03-01", None, "to"),
    ("GET", "/reports/kpis?from=2026-02-30&to=2026-03-01", None, "from"),
    ("GET", "/reports/store-leaderboard?from=2026-03-31&to=2026-03-01", None, "to"),
    ("GET", "/reports/guide-leaderboard?from=2026-03-01&to=soon", None, "to"),
    ("GET", "/reports/cohorts?from_month=0000-01&to_month=2026-03", None, "from_month"),
    ("GET", "/reports/cohorts?from_month=2026-01&to_month=3000-01", None, "to_month"),
    ("GET", "/reports/cohorts?from_month=2026-13&to_month=2026-12", None, "from_month"),
    ("GET", "/reports/cohorts?from_month=1899-12&to_month=2026-12", None, "from_month"),
    ("GET", "/reports/rfm?as_of=31-03-2026", None, "as_of"),
    ("GET", "/reports/rfm?as_of=2026-03-31&monetary_fen=a,b", None, "monetary_fen"),
    ("GET", "/reports/value-segments?as_of=2026-02-29", None, "as_of"),
    ("GET", "/reports/product-association?from=2026-03-01&to=2026-02-01", None, "to"),
    ("GET", "/reports/exports/kpis?from=x&to=2026-03-31", None, "from"),
    ("POST", "/reports/anomaly-scans", {"day": "yesterday"}, "day"),
    ("POST", "/reports/purchase-model", {"calibration_end": "1997-13-01"}, "calibration_end"),
    ("POST", "/reports/purchase-model", {}, "calibration_end"),
], ids=lambda v: v if isinstance(v, str) else None)
async def test_bad_dates_and_months_are_422_naming_the_field(client, as_role, backends, method, url, body,
                                                            field) -> None:
    r = await _call(client, method, A + url, body, as_role("brand_admin"))

    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]], r.json()
    assert not backends.reporting.requests and backends.reporting.last is None  # refused before any call


@pytest.mark.parametrize(("method", "path", "body", "rpc"), ROUTES, ids=IDS)
async def test_another_brand_is_404(client, as_role, backends, method, path, body, rpc) -> None:
    for role in ("brand_admin", "analyst"):
        r = await _call(client, method, B + path, body, as_role(role))
        assert r.status_code == 404, (role, r.text)
    assert not backends.reporting.requests and backends.reporting.last is None


@pytest.mark.parametrize(("method", "path", "body", "rpc"), ROUTES, ids=IDS)
async def test_roles_without_the_right_get_403(client, as_role, backends, method, path, body, rpc) -> None:
    denied = [("clerk", ("store-a1",))]  # POS keys are not JWTs; test_bola covers their route allow-list
    if rpc in WRITES:
        denied.append(("analyst", ()))
    if rpc not in STORE_MANAGER_READS:
        denied.append(("store_manager", ("store-a1",)))
    for role, stores in denied:
        r = await _call(client, method, A + path, body, as_role(role, store_ids=stores))
        assert r.status_code == 403, (role, r.text)
    assert not backends.reporting.requests and backends.reporting.last is None


async def test_store_manager_reads_their_own_store_only(client, as_role, backends) -> None:
    manager = as_role("store_manager", store_ids=("store-a1",))

    own = await client.get(f"{A}/reports/kpis?{RANGE}", headers=manager)
    other = await client.get(f"{A}/reports/kpis?{RANGE}&store_id=store-a2", headers=manager)
    anomalies = await client.get(f"{A}/reports/anomalies", headers=manager)

    assert own.status_code == 200 and backends.reporting.last.store_id == "store-a1"
    assert other.status_code in (403, 404)
    assert [a["store_id"] for a in anomalies.json()["items"]] == ["store-a1"]


async def test_analyst_may_read_but_not_schedule_or_fit(client, as_role, backends) -> None:
    analyst = as_role("analyst")

    assert (await client.get(f"{A}/reports/schedules", headers=analyst)).status_code == 200
    assert (await client.post(f"{A}/reports/schedules", json=SCHEDULE, headers=analyst)).status_code == 403
    assert (await client.post(f"{A}/reports/purchase-model", json={"calibration_end": "1997-09-30"},
                              headers=analyst)).status_code == 403
