"""The reporting use cases: each reads facts, applies the pure domain and, where it must, writes or emits.

Used by the gRPC handlers, the claimed jobs (scheduled reports, daily anomaly scan) and the benchmark.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg

from crm.reporting.v1 import events_pb2
from crm_common.errors import InvalidArgument, NotFound
from crm_common.jobs import JobQueue
from crm_common.outbox import PgOutbox
from reporting.adapters import delivery, queries, repository
from reporting.domain import analytics, bgnbd, webhooks
from reporting.domain.calendar import DEFAULT_TIMEZONE, zone
from reporting.domain.kpis import DateRange, Kpis, Scope, aov_fen, churn_window, derive, parse_range, repurchase_rate

SCHEDULED_REPORT = "scheduled-report"
ANOMALY_SCAN = "anomaly-scan"
ANOMALY_SCAN_AT = time(6, 0)  # brand time: after the day has closed and before owners look
CHURN_RISK_BELOW = 0.3
HORIZON_WEEKS = 90 / 7
_LOCAL_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def parse_day(text: str, field: str) -> date:
    """A YYYY-MM-DD date or an InvalidArgument naming the field."""
    return parse_range(text, text).first if text else _missing(field)


def _missing(field: str) -> date:
    raise InvalidArgument(f"{field} is required", field=field)


def parse_month(text: str, field: str) -> date:
    """A YYYY-MM month as its first day."""
    if not _MONTH.match(text or "") or not 1900 <= int(text[:4]) <= 2999:
        raise InvalidArgument(f"{field} must be a month as YYYY-MM (years 1900-2999)", field=field)
    return date(int(text[:4]), int(text[5:]), 1)


@dataclass(frozen=True)
class Schedule:
    """A scheduled report as stored."""

    id: str
    brand_id: str
    name: str
    report: str
    local_time: str
    email_to: tuple[str, ...]
    webhook_url: str
    format: str
    period_days: int


class Reports:
    """Every report the service answers, over one pool."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        outbox: PgOutbox | None = None,
        jobs: JobQueue | None = None,
        smtp: delivery.SmtpSettings | None = None,
        webhook_allow: webhooks.AllowList | None = None,
    ) -> None:
        self.pool = pool
        self.outbox = outbox or PgOutbox(pool, source="reporting")
        self.jobs = jobs or JobQueue(pool)
        self.smtp = smtp
        self.webhook_allow = webhook_allow or webhooks.AllowList()

    async def timezone(self, brand_id: str) -> str:
        """The brand's timezone as reporting knows it (the default before its first event)."""
        async with self.pool.acquire() as conn:
            return await repository.brand_timezone(conn, brand_id) or DEFAULT_TIMEZONE

    async def today(self, brand_id: str) -> date:
        """Today in the brand's timezone."""
        return datetime.now(zone(await self.timezone(brand_id))).date()

    # KPIs and leaderboards -----------------------------------------------------------------------------

    async def kpis(self, brand_id: str, days: DateRange, scope: Scope, churn_window_days: int = 0) -> Kpis:
        """The KPI set of a range and scope."""
        counts = await repository.count(self.pool, brand_id, days, scope, churn_window(churn_window_days))
        return derive(counts)

    async def leaderboard(self, brand_id: str, days: DateRange, by: str, limit: int) -> list[dict[str, Any]]:
        """Stores or guides ranked by net revenue (then orders, then key, so ties rank stably)."""
        if by not in ("store", "guide"):
            raise InvalidArgument("by must be store or guide", field="by")
        rows = await queries.leaderboard(self.pool, brand_id, days, by)
        ranked = sorted(rows, key=lambda r: (-r["revenue_fen"], -r["orders"], r["key"]))[: limit or 50]
        return [
            {
                "rank": i + 1,
                "key": r["key"],
                "orders": r["orders"],
                "revenue_fen": r["revenue_fen"],
                "aov_fen": aov_fen(r["revenue_fen"], r["orders"]),
                "buyers": r["buyers"],
                "repeat_buyers": r["repeat_buyers"],
                "repurchase_rate": repurchase_rate(r["repeat_buyers"], r["buyers"]),
            }
            for i, r in enumerate(ranked)
        ]

    # Cohorts, RFM, segments, association ---------------------------------------------------------------

    async def cohorts(
        self, brand_id: str, from_month: date, to_month: date, store_id: str | None, months: int
    ) -> list[dict[str, Any]]:
        """Members by registration month and the share of them buying in each month after it."""
        if to_month < from_month:
            raise InvalidArgument("to_month must not be before from_month", field="to_month")
        if (to_month.year - from_month.year) * 12 + to_month.month - from_month.month >= 120:
            raise InvalidArgument("at most 120 cohort months at once", field="to_month")
        months = months or 12
        if not 1 <= months <= 60:
            raise InvalidArgument("months must be between 1 and 60", field="months")
        next_month = date(to_month.year + to_month.month // 12, to_month.month % 12 + 1, 1)
        sizes, activity = await queries.cohort_activity(
            self.pool, brand_id, from_month, next_month - timedelta(days=1), store_id
        )
        active: dict[date, list[int]] = {r["month"]: [0] * months for r in sizes}
        for r in activity:
            if r["month"] in active and 0 <= r["k"] < months:
                active[r["month"]][r["k"]] = r["active"]
        return [
            {
                "month": r["month"].strftime("%Y-%m"),
                "members": r["members"],
                "active": active[r["month"]],
                "retention": [a / r["members"] for a in active[r["month"]]],
            }
            for r in sizes
        ]

    async def rfm(
        self,
        brand_id: str,
        as_of: date,
        window_days: int,
        recency: tuple[int, ...],
        frequency: tuple[int, ...],
        monetary: tuple[int, ...],
    ) -> tuple[list[dict[str, int]], int]:
        """Buyers of the window counted per (R, F, M) band; edges are configurable."""
        recency = analytics.check_edges(recency, "recency_days") or analytics.DEFAULT_RECENCY_DAYS
        frequency = analytics.check_edges(frequency, "frequency") or analytics.DEFAULT_FREQUENCY
        monetary = analytics.check_edges(monetary, "monetary_fen") or analytics.DEFAULT_MONETARY_FEN
        days = queries.window(as_of, window_days or 365)
        cells: dict[tuple[int, int, int], list[int]] = defaultdict(lambda: [0, 0])
        rows = await queries.member_activity(self.pool, brand_id, days.first, days.last)
        for r in rows:
            key = (
                analytics.recency_score((as_of - r["last_day"]).days, recency),
                analytics.ascending_score(r["days"], frequency),
                analytics.ascending_score(r["spend"], monetary),
            )
            cells[key][0] += 1
            cells[key][1] += r["spend"]
        out = [
            {"r": k[0], "f": k[1], "m": k[2], "members": v[0], "revenue_fen": v[1]} for k, v in sorted(cells.items())
        ]
        return out, len(rows)

    async def value_segments(
        self, brand_id: str, as_of: date, window_days: int, bands: tuple[analytics.Band, ...]
    ) -> list[dict[str, Any]]:
        """Members by spend over the window (default: VIP ≥ 5000 yuan a year, regular, inactive)."""
        bands = bands or analytics.default_bands()
        days = queries.window(as_of, window_days or 365)
        spend = {
            r["member_id"]: r["spend"]
            for r in await queries.member_activity(self.pool, brand_id, days.first, days.last)
        }
        for member_id in await queries.registered_members(self.pool, brand_id, as_of):
            spend.setdefault(member_id, 0)
        totals: dict[str, list[int]] = {b.name: [0, 0] for b in sorted(bands, key=lambda b: -b.min_fen)}
        for value in spend.values():
            name = analytics.segment_of(value, bands)
            totals.setdefault(name, [0, 0])
            totals[name][0] += 1
            totals[name][1] += value
        return [{"name": k, "members": v[0], "revenue_fen": v[1]} for k, v in totals.items()]

    async def association(
        self, brand_id: str, days: DateRange, within_days: int, level: str, min_support: float, limit: int
    ) -> tuple[list[analytics.Pair], int]:
        """ "Bought A then B within N days" pairs of the range."""
        if level not in ("category", "sku"):
            raise InvalidArgument("level must be category or sku", field="level")
        within_days = within_days or 30
        if not 1 <= within_days <= 365:
            raise InvalidArgument("within_days must be between 1 and 365", field="within_days")
        rows = await queries.purchased_items(self.pool, brand_id, days, level)
        pairs, buyers = analytics.associations(
            ((r["member_id"], r["item"], r["local_date"]) for r in rows),
            within_days,
            min_support=min_support if min_support > 0 else 0.001,
        )
        return pairs[: limit or 50], buyers

    # Anomalies -----------------------------------------------------------------------------------------

    async def detect_anomalies(self, brand_id: str, day: date, lookback_days: int) -> list[dict[str, Any]]:
        """Stores whose revenue or repurchase share on ``day`` is outside their own recent range.

        The daily repurchase figure is the share of the day's buyers who had bought on an earlier day
        (a single day cannot have a buyer with two purchase days). Each new anomaly is stored and emitted
        as ``AnomalyDetected`` in one transaction; a repeat scan of the same day adds nothing.
        """
        lookback_days = lookback_days or 28
        rows = await queries.store_daily(self.pool, brand_id, day - timedelta(days=lookback_days), day)
        per_store: dict[str, dict[date, asyncpg.Record]] = defaultdict(dict)
        for r in rows:
            per_store[r["store_id"]][r["local_date"]] = r
        found = []
        for store_id, by_day in per_store.items():
            history_days = [day - timedelta(days=i) for i in range(lookback_days, 0, -1)]
            today = by_day.get(day)
            # A day without a rollup row took nothing: zero revenue is a figure, not a gap.
            revenue = [float(by_day[d]["revenue_fen"]) if d in by_day else 0.0 for d in history_days]
            value = float(today["revenue_fen"]) if today else 0.0
            usual = analytics.usual_range(revenue)
            if analytics.is_anomalous(value, usual):
                assert usual is not None
                found.append(("revenue_fen", store_id, value, usual))
            shares = [
                by_day[d]["returning"] / by_day[d]["buyers"]
                for d in history_days
                if d in by_day and by_day[d]["buyers"]
            ]
            if today and today["buyers"]:
                usual = analytics.usual_range(shares)
                share = today["returning"] / today["buyers"]
                if analytics.is_anomalous(share, usual):
                    assert usual is not None
                    found.append(("repurchase_rate", store_id, share, usual))
        created = []
        async with self.pool.acquire() as conn, conn.transaction():
            for metric, store_id, value, usual in found:
                anomaly_id = f"an-{uuid.uuid4().hex[:16]}"
                inserted = await conn.fetchval(
                    "INSERT INTO anomalies (id, brand_id, store_id, local_date, metric, value, low, high)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING detected_at",
                    anomaly_id,
                    brand_id,
                    store_id,
                    day,
                    metric,
                    value,
                    usual.low,
                    usual.high,
                )
                if inserted is None:
                    continue
                await self.outbox.add(
                    conn,
                    events_pb2.AnomalyDetected(
                        brand_id=brand_id,
                        anomaly_id=anomaly_id,
                        store_id=store_id,
                        day=day.isoformat(),
                        metric=metric,
                        value=value,
                        low=usual.low,
                        high=usual.high,
                    ),
                    brand_id=brand_id,
                    subject=store_id,
                )
                created.append(
                    {
                        "id": anomaly_id,
                        "store_id": store_id,
                        "day": day.isoformat(),
                        "metric": metric,
                        "value": value,
                        "low": usual.low,
                        "high": usual.high,
                        "detected_at": inserted.isoformat(),
                    }
                )
        return created

    async def list_anomalies(self, brand_id: str, limit: int) -> list[dict[str, Any]]:
        """The brand's anomalies, newest first (the console's notices)."""
        rows = await self.pool.fetch(
            "SELECT * FROM anomalies WHERE brand_id = $1 ORDER BY detected_at DESC, id LIMIT $2",
            brand_id,
            min(limit or 50, 500),
        )
        return [
            {
                "id": r["id"],
                "store_id": r["store_id"],
                "day": r["local_date"].isoformat(),
                "metric": r["metric"],
                "value": r["value"],
                "low": r["low"],
                "high": r["high"],
                "detected_at": r["detected_at"].isoformat(),
            }
            for r in rows
        ]

    async def scan_job(self, conn: asyncpg.Connection, payload: dict[str, Any]) -> None:
        """Daily job: scan yesterday, then schedule tomorrow's scan (idempotent by brand and day)."""
        brand_id = payload["brand_id"]
        day = date.fromisoformat(payload["day"])
        await self.detect_anomalies(brand_id, day, 28)
        await self.schedule_scan(conn, brand_id, day + timedelta(days=1))

    async def schedule_scan(self, conn: asyncpg.Connection, brand_id: str, day: date) -> None:
        """Scan ``day`` at 06:00 brand time the next morning."""
        tz = zone(await repository.brand_timezone(conn, brand_id) or DEFAULT_TIMEZONE)
        run_at = datetime.combine(day + timedelta(days=1), ANOMALY_SCAN_AT, tz)
        await self.jobs.schedule(
            conn,
            ANOMALY_SCAN,
            run_at,
            {"brand_id": brand_id, "day": day.isoformat()},
            key=f"{brand_id}:{day.isoformat()}",
        )

    # Purchase model ------------------------------------------------------------------------------------

    async def fit_model(self, brand_id: str, calibration_end: date, churn_risk_below: float) -> dict[str, Any]:
        """Fit BG/NBD on purchase days up to the calibration end, score every member, emit churn risk.

        Scores are as of the calibration end; CLV over 90 days = expected purchases × the member's average
        net order value (the brand's when the member has none). Replaces the brand's previous model.
        """
        threshold = churn_risk_below or CHURN_RISK_BELOW
        rows = await queries.purchase_days(self.pool, brand_id, calibration_end)
        ids, summary = bgnbd.summarise(((r["member_id"], r["local_date"]) for r in rows), calibration_end)
        if summary.customers < 10:
            raise InvalidArgument(
                "too few buyers before the calibration end to fit a model",
                field="calibration_end",
                reason="NOT_ENOUGH_DATA",
            )
        params = bgnbd.fit(summary)
        alive = bgnbd.p_alive(params, summary.x, summary.t_x, summary.T)
        expected = bgnbd.expected_purchases(params, HORIZON_WEEKS, summary.x, summary.t_x, summary.T)
        values = await queries.member_order_values(self.pool, brand_id, calibration_end)
        total_orders = sum(v[0] for v in values.values())
        brand_aov = sum(v[1] for v in values.values()) / total_orders if total_orders else 0.0
        scores = []
        for i, member_id in enumerate(ids):
            orders, spend = values.get(member_id, (0, 0))
            aov = spend / orders if orders else brand_aov
            scores.append(
                (
                    brand_id,
                    member_id,
                    float(alive[i]),
                    float(expected[i]),
                    round(float(expected[i]) * aov),
                    bool(alive[i] < threshold),
                )
            )
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """
                INSERT INTO purchase_models (brand_id, calibration_end, r, alpha, a, b, log_likelihood, customers)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                ON CONFLICT (brand_id) DO UPDATE SET calibration_end = $2, r = $3, alpha = $4, a = $5, b = $6,
                    log_likelihood = $7, customers = $8, fitted_at = now()
                """,
                brand_id,
                calibration_end,
                params.r,
                params.alpha,
                params.a,
                params.b,
                params.log_likelihood,
                params.customers,
            )
            await conn.execute("DELETE FROM member_predictions WHERE brand_id = $1", brand_id)
            await conn.copy_records_to_table(
                "member_predictions",
                records=scores,
                columns=["brand_id", "member_id", "p_alive", "expected_purchases_90d", "clv_90d_fen", "churn_risk"],
            )
            # Members tags `churn-risk` from these; only at-risk members are announced, to keep the stream lean.
            for _, member_id, p, e, _, risk in scores:
                if risk:
                    await self.outbox.add(
                        conn,
                        events_pb2.ChurnRiskScored(
                            brand_id=brand_id,
                            member_id=member_id,
                            p_alive=p,
                            expected_purchases_90d=e,
                            churn_risk=True,
                            calibration_end=calibration_end.isoformat(),
                        ),
                        brand_id=brand_id,
                        subject=member_id,
                    )
        return {
            "model": "bgnbd",
            "r": params.r,
            "alpha": params.alpha,
            "a": params.a,
            "b": params.b,
            "log_likelihood": params.log_likelihood,
            "customers": params.customers,
            "time_unit": "week",
            "calibration_end": calibration_end.isoformat(),
            "churn_risk_members": sum(1 for s in scores if s[5]),
        }

    async def prediction(self, brand_id: str, member_id: str) -> dict[str, Any]:
        """A member's score under the brand's latest model."""
        row = await self.pool.fetchrow(
            "SELECT p.*, m.calibration_end FROM member_predictions p JOIN purchase_models m USING (brand_id)"
            " WHERE p.brand_id = $1 AND p.member_id = $2",
            brand_id,
            member_id,
        )
        if row is None:
            raise NotFound(
                "no prediction for this member (no model, or no purchase before its calibration end)",
                reason="PREDICTION_NOT_FOUND",
            )
        return {
            "p_alive": row["p_alive"],
            "expected_purchases_90d": row["expected_purchases_90d"],
            "clv_90d_fen": row["clv_90d_fen"],
            "churn_risk": row["churn_risk"],
            "calibration_end": row["calibration_end"].isoformat(),
        }

    # Files and schedules -------------------------------------------------------------------------------

    async def table(self, brand_id: str, report: str, days: DateRange) -> delivery.Table:
        """A report as a table for export and delivery."""
        if report == "kpis":
            k = await self.kpis(brand_id, days, Scope())
            fields = (
                "orders",
                "revenue_fen",
                "aov_fen",
                "buyers",
                "repeat_buyers",
                "repurchase_rate",
                "new_members",
                "active_members",
                "churn_rate",
                "points_issued",
                "points_redeemed",
            )
            return delivery.Table(
                f"KPIs {days.first}..{days.last}", ("kpi", "value"), tuple((f, getattr(k, f)) for f in fields), "value"
            )
        if report == "store_leaderboard":
            rows = await self.leaderboard(brand_id, days, "store", 50)
            header = ("store_id", "orders", "revenue_fen", "aov_fen", "buyers", "repeat_buyers", "repurchase_rate")
            return delivery.Table(
                f"Stores {days.first}..{days.last}",
                header,
                tuple(tuple(r[h if h != "store_id" else "key"] for h in header) for r in rows),
                "revenue_fen",
            )
        raise InvalidArgument("report must be kpis or store_leaderboard", field="report")

    async def export(self, brand_id: str, report: str, days: DateRange, fmt: str) -> tuple[str, str, bytes]:
        """(filename, media type, content) of an on-demand export."""
        if fmt not in delivery.MEDIA_TYPES:
            raise InvalidArgument("format must be csv, xlsx or png", field="format")
        table = await self.table(brand_id, report, days)
        return f"{report}_{days.first}_{days.last}.{fmt}", delivery.MEDIA_TYPES[fmt], delivery.render(table, fmt)

    async def create_schedule(self, schedule: Schedule) -> tuple[Schedule, datetime]:
        """Store a schedule and claim its first run at the next ``local_time`` in brand time."""
        if schedule.report not in ("kpis", "store_leaderboard"):
            raise InvalidArgument("report must be kpis or store_leaderboard", field="report")
        if not _LOCAL_TIME.match(schedule.local_time):
            raise InvalidArgument("local_time must be HH:MM", field="local_time")
        if schedule.format not in ("csv", "xlsx"):
            raise InvalidArgument("format must be csv or xlsx", field="format")
        if not schedule.email_to and not schedule.webhook_url:
            raise InvalidArgument("give email_to or webhook_url", field="email_to")
        if not 1 <= schedule.period_days <= 366:
            raise InvalidArgument("period_days must be between 1 and 366", field="period_days")
        if schedule.webhook_url:
            # Refused here so the admin hears of it at once; checked again at every delivery (DNS can change).
            await delivery.check_webhook(schedule.webhook_url, self.webhook_allow)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO report_schedules (id, brand_id, name, report, local_time, email_to, webhook_url,"
                " format, period_days) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                schedule.id,
                schedule.brand_id,
                schedule.name,
                schedule.report,
                schedule.local_time,
                list(schedule.email_to),
                schedule.webhook_url,
                schedule.format,
                schedule.period_days,
            )
            run_at = await self._schedule_next(conn, schedule, datetime.now(UTC))
        return schedule, run_at

    async def _schedule_next(self, conn: asyncpg.Connection, schedule: Schedule, after: datetime) -> datetime:
        tz = zone(await repository.brand_timezone(conn, schedule.brand_id) or DEFAULT_TIMEZONE)
        hour, minute = (int(p) for p in schedule.local_time.split(":"))
        local = after.astimezone(tz)
        run_at = datetime.combine(local.date(), time(hour, minute), tz)
        if run_at <= after:
            run_at = datetime.combine(local.date() + timedelta(days=1), time(hour, minute), tz)
        await self.jobs.schedule(
            conn,
            SCHEDULED_REPORT,
            run_at.astimezone(UTC),
            {"schedule_id": schedule.id},
            key=f"{schedule.id}:{run_at.isoformat()}",
        )
        return run_at

    async def schedules(self, brand_id: str) -> list[Schedule]:
        """The brand's schedules."""
        rows = await self.pool.fetch(
            "SELECT * FROM report_schedules WHERE brand_id = $1 ORDER BY created_at, id", brand_id
        )
        return [_schedule(r) for r in rows]

    async def deliver(self, brand_id: str, schedule_id: str, *, on: date | None = None) -> dict[str, Any]:
        """Render and send a schedule's report now: the last ``period_days`` full days before ``on``."""
        row = await self.pool.fetchrow(
            "SELECT * FROM report_schedules WHERE brand_id = $1 AND id = $2", brand_id, schedule_id
        )
        if row is None:
            raise NotFound("schedule not found", reason="SCHEDULE_NOT_FOUND")
        schedule = _schedule(row)
        on = on or await self.today(brand_id)
        days = DateRange(on - timedelta(days=schedule.period_days), on - timedelta(days=1))
        table = await self.table(brand_id, schedule.report, days)
        stem = f"{schedule.report}_{days.first}_{days.last}"
        attachments = [
            (f"{stem}.{schedule.format}", delivery.render(table, schedule.format)),
            (f"{stem}.png", delivery.render(table, "png")),
        ]
        if schedule.email_to:
            if self.smtp is None:
                raise RuntimeError("no SMTP server configured (CRM_SMTP_HOST)")
            await delivery.send_email(
                self.smtp,
                schedule.email_to,
                f"{schedule.name}: {days.first}..{days.last}",
                f"{table.title}\n\nAttached: {schedule.format.upper()} and a chart.",
                attachments,
            )
        if schedule.webhook_url:
            await delivery.post_webhook(
                schedule.webhook_url,
                {
                    "schedule_id": schedule.id,
                    "brand_id": brand_id,
                    "report": schedule.report,
                    "from": days.first.isoformat(),
                    "to": days.last.isoformat(),
                    "header": list(table.header),
                    "rows": [list(r) for r in table.rows],
                },
                attachments,
                self.webhook_allow,
            )
        return {
            "schedule_id": schedule.id,
            "emails": len(schedule.email_to),
            "webhook": bool(schedule.webhook_url),
            "from_date": days.first.isoformat(),
            "to_date": days.last.isoformat(),
        }

    async def report_job(self, conn: asyncpg.Connection, payload: dict[str, Any]) -> None:
        """Claimed job: deliver, then claim the next day's run in the same transaction.

        Delivery is at least once: if the commit after sending fails, the job runs (and sends) again.
        """
        row = await conn.fetchrow("SELECT * FROM report_schedules WHERE id = $1", payload["schedule_id"])
        if row is None:
            return  # deleted meanwhile
        schedule = _schedule(row)
        await self.deliver(schedule.brand_id, schedule.id)
        await self._schedule_next(conn, schedule, datetime.now(UTC))


def _schedule(r: asyncpg.Record) -> Schedule:
    return Schedule(
        r["id"],
        r["brand_id"],
        r["name"],
        r["report"],
        r["local_time"],
        tuple(r["email_to"]),
        r["webhook_url"],
        r["format"],
        r["period_days"],
    )


def new_schedule_id() -> str:
    """An opaque schedule id."""
    return f"rs-{uuid.uuid4().hex[:16]}"
