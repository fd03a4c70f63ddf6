"""CDNOW purchase histories replayed through the public API; every KPI checked against pandas on the raw file.

Customers become members, transactions become orders at noon Shanghai time; then the KPIs of several
ranges and stores, and the BG/NBD fit (published: Fader, Hardie & Lee 2005), are compared.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

SAMPLE = Path(__file__).parents[2] / "services" / "reporting" / "tests" / "data" / "CDNOW_sample.txt"
# The replay (~93k public API calls) takes ~3.5 minutes on a quiet 2-core machine and more on a busy one: its
# setup gets more than the suite's 300 s per-test limit.
pytestmark = pytest.mark.timeout(900)

STORES = 3
CONCURRENCY = 24
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def _raw() -> pd.DataFrame:
    df = pd.read_csv(
        SAMPLE, sep=r"\s+", header=None, names=["master", "customer", "date", "cds", "dollars"], dtype={"date": str}
    )
    df["day"] = pd.to_datetime(df["date"], format="%Y%m%d").dt.date
    df["fen"] = (df["dollars"] * 100).round().astype(int)
    df["store"] = df["customer"] % STORES
    return df


def _expected(df: pd.DataFrame, first: date, last: date, churn_window: int = 90) -> dict[str, Any]:
    """The API's definitions recomputed from the raw file, independently of the service's SQL."""
    rng = df[(df.day >= first) & (df.day <= last)]
    orders, revenue = len(rng), int(rng.fen.sum())
    days = rng.groupby("customer").day.nunique()
    current = set(df[(df.day > last - timedelta(churn_window)) & (df.day <= last)].customer)
    before = set(
        df[(df.day > last - timedelta(2 * churn_window)) & (df.day <= last - timedelta(churn_window))].customer
    )
    aov = (2 * revenue + orders) // (2 * orders) if orders else 0  # half up, in integers
    return {
        "orders": orders,
        "revenue_fen": revenue,
        "gross_revenue_fen": revenue,
        "refunded_fen": 0,
        "aov_fen": aov,
        "buyers": len(days),
        "repeat_buyers": int((days >= 2).sum()),
        "repurchase_rate": float((days >= 2).sum() / len(days)) if len(days) else 0.0,
        "active_members": len(current),
        "churned_members": len(before - current),
        "churn_rate": len(before - current) / len(before) if before else 0.0,
        # The default programme: 1 point per whole yuan of each order, on the order's day.
        "points_issued": int((rng.fen // 100).sum()),
        "new_members": 0,  # members registered today, not in 1997
    }


async def _post(api: httpx.AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    """POST, waiting out the gateway's rate limit (429 + Retry-After) as a well-behaved POS would."""
    while True:
        r = await api.post(url, json=body, headers=headers)
        if r.status_code != 429:
            return r
        await asyncio.sleep(float(r.headers.get("retry-after", "0.2") or 0.2))


async def _gather_limited(jobs: list[Any]) -> list[Any]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(job: Any) -> Any:
        async with gate:
            return await job

    return await asyncio.gather(*(one(j) for j in jobs))


@pytest.fixture(scope="module")
async def cdnow(api: httpx.AsyncClient, admin: dict[str, str], kit: Any) -> dict[str, Any]:
    """A Shanghai brand holding the CDNOW sample, posted through the public order API."""
    brand = await api.post(
        "/v1/brands", json={"code": kit.unique("cdnow"), "name": "CDNOW", "timezone": "Asia/Shanghai"}, headers=admin
    )
    assert brand.status_code == 201, brand.text
    b = brand.json()["id"]
    stores = []
    for i in range(STORES):
        store = await api.post(f"/v1/brands/{b}/stores", json={"code": f"S{i}", "name": f"店{i}"}, headers=admin)
        assert store.status_code == 201, store.text
        stores.append(store.json()["id"])
    # The gateway limits each principal's rate, so the replay runs as a fleet of POS accounts, one per lane.
    lanes = []
    for _ in range(CONCURRENCY):
        name = kit.unique("pos")
        staff = await api.post(
            f"/v1/brands/{b}/staff",
            json={
                "username": name,
                "password": "pos-password-123",
                "display_name": name,
                "role": "brand_admin",
                "store_ids": [],
            },
            headers=admin,
        )
        assert staff.status_code == 201, staff.text
        token = await _post(api, "/v1/auth/token", {"username": name, "password": "pos-password-123"}, {})
        assert token.status_code == 200, token.text
        lanes.append({"Authorization": f"Bearer {token.json()['access_token']}"})
    df = _raw()

    rows_by_customer = {int(c): list(g.itertuples()) for c, g in df.assign(i=range(len(df))).groupby("customer")}
    members: dict[int, str] = {}

    async def customer(customer: int) -> None:
        # Register, then post that customer's orders at once: no barrier between the two phases, so the
        # lanes stay busy until the last order (the replay is most of this module's time).
        lane = lanes[customer % CONCURRENCY]
        r = await _post(
            api, f"/v1/brands/{b}/members", {"phone": kit.phone(customer), "store_id": stores[customer % STORES]}, lane
        )
        assert r.status_code == 201, r.text
        members[customer] = r.json()["id"]
        for row in rows_by_customer[customer]:
            body = {
                "external_id": f"cd-{row.i}",
                "store_id": stores[row.store],
                "member_id": members[customer],
                "occurred_at": f"{row.day.isoformat()}T12:00:00+08:00",
                "total_fen": int(row.fen),
                "items": [
                    {"sku": f"cd-x{row.cds}", "category": "music", "quantity": int(row.cds), "amount_fen": int(row.fen)}
                ],
            }
            r = await _post(api, f"/v1/brands/{b}/orders", body, lane)
            assert r.status_code == 201, r.text

    await _gather_limited([customer(c) for c in sorted(rows_by_customer)])
    return {"brand_id": b, "stores": stores, "members": members, "df": df}


async def _kpis(api: httpx.AsyncClient, admin: dict[str, str], b: str, **params: Any) -> dict[str, Any]:
    r = await api.get(f"/v1/brands/{b}/reports/kpis", params=params, headers=admin)
    assert r.status_code == 200, r.text
    return r.json()


async def test_every_kpi_matches_pandas_on_the_raw_cdnow_file(api, admin, kit, cdnow) -> None:
    b, df = cdnow["brand_id"], cdnow["df"]
    await kit.eventually(
        lambda: _kpis(api, admin, b, **{"from": "1997-01-01", "to": "1998-06-30"}),
        lambda k: k["orders"] == len(df) and k["points_issued"] > 0,
        timeout=120,
    )
    for first, last in [
        ("1997-01-01", "1998-06-30"),
        ("1997-01-01", "1997-03-31"),
        ("1997-04-01", "1997-09-30"),
        ("1997-02-14", "1997-02-14"),
        ("1998-01-01", "1998-06-30"),
    ]:
        got = await _kpis(api, admin, b, **{"from": first, "to": last})
        want = _expected(df, date.fromisoformat(first), date.fromisoformat(last))
        assert {k: got[k] for k in want} == pytest.approx(want), (first, last)
    # One store: orders taken there; churn counts its buyers only.
    for i, store_id in enumerate(cdnow["stores"]):
        got = await _kpis(api, admin, b, **{"from": "1997-01-01", "to": "1997-12-31", "store_id": store_id})
        want = _expected(df[df.store == i], date(1997, 1, 1), date(1997, 12, 31))
        assert {k: got[k] for k in want} == pytest.approx(want), store_id
    # A configurable churn window.
    got = await _kpis(api, admin, b, **{"from": "1997-07-01", "to": "1997-09-30", "churn_window_days": 30})
    want = _expected(df, date(1997, 7, 1), date(1997, 9, 30), churn_window=30)
    assert {k: got[k] for k in want} == pytest.approx(want)
    # Everyone registered today (brand time): all new members of today's range.
    today = datetime.now().date()
    got = await kit.eventually(
        lambda: _kpis(
            api, admin, b, **{"from": (today - timedelta(1)).isoformat(), "to": (today + timedelta(1)).isoformat()}
        ),
        lambda k: k["new_members"] == df.customer.nunique(),
    )
    assert got["new_members"] == 2357


async def test_store_leaderboard_ranks_stores_by_revenue(api, admin, cdnow) -> None:
    b, df = cdnow["brand_id"], cdnow["df"]
    r = await api.get(
        f"/v1/brands/{b}/reports/store-leaderboard", params={"from": "1997-01-01", "to": "1998-06-30"}, headers=admin
    )
    assert r.status_code == 200, r.text
    by_store = df.groupby("store").fen.sum().sort_values(ascending=False)
    assert [row["store_id"] for row in r.json()["items"]] == [cdnow["stores"][i] for i in by_store.index]
    assert [row["revenue_fen"] for row in r.json()["items"]] == [int(v) for v in by_store]


async def test_purchase_model_matches_the_published_cdnow_fit(api, admin, cdnow) -> None:
    b = cdnow["brand_id"]
    r = await api.post(f"/v1/brands/{b}/reports/purchase-model", json={"calibration_end": "1997-09-30"}, headers=admin)
    assert r.status_code == 200, r.text
    model = r.json()
    assert (model["model"], model["time_unit"], model["customers"]) == ("bgnbd", "week", 2357)
    for name, published in PUBLISHED.items():
        assert model[name] == pytest.approx(published, rel=0.01), name
    assert model["log_likelihood"] == pytest.approx(-9582.4, abs=1.0)

    # Customer 1 of the sample bought 1997-01-01 and 1997-01-18 in calibration: x = 1, long silent after.
    member = cdnow["members"][1]
    p = await api.get(f"/v1/brands/{b}/members/{member}/prediction", headers=admin)
    assert p.status_code == 200, p.text
    assert 0 < p.json()["p_alive"] < 1 and p.json()["expected_purchases_90d"] > 0
    assert p.json()["clv_90d_fen"] > 0


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost/hook",
        "http://10.0.0.1/hook",
    ],
)
async def test_report_webhook_to_an_internal_address_is_refused_naming_the_field(api, admin, kit, url) -> None:
    brand = await api.post(
        "/v1/brands", json={"code": kit.unique("hook"), "name": "Hook", "timezone": "Asia/Shanghai"}, headers=admin
    )
    assert brand.status_code == 201, brand.text
    b = brand.json()["id"]
    r = await api.post(
        f"/v1/brands/{b}/reports/schedules", headers=admin, json={"name": "leak", "report": "kpis", "webhook_url": url}
    )
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["type"].endswith("/webhook-url-forbidden"), problem
    assert [e["field"] for e in problem["errors"]] == ["webhook_url"]
    listed = await api.get(f"/v1/brands/{b}/reports/schedules", headers=admin)
    assert listed.json()["items"] == []
