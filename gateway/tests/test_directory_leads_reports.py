"""Brands, stores and staff; leads; KPIs: translation to the protos and back."""

from __future__ import annotations


async def test_create_brand_defaults_the_timezone(client, as_role):
    admin = as_role("group_admin", "")

    r = await client.post("/v1/brands", json={"code": "acme", "name": "ACME"}, headers=admin)

    assert r.status_code == 201
    assert r.json()["timezone"] == "Asia/Shanghai"


async def test_unknown_timezone_is_422(client, as_role):
    r = await client.post("/v1/brands", json={"code": "acme", "name": "ACME", "timezone": "Mars/Olympus"},
                          headers=as_role("group_admin", ""))

    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "timezone"


async def test_store_lat_lng_become_a_geopoint(client, as_role, backends):
    body = {"code": "sh-1", "name": "People's Square", "city": "Shanghai", "lat": 31.23, "lng": 121.47}

    r = await client.post("/v1/brands/brand-a/stores", json=body, headers=as_role("brand_admin"))

    assert r.status_code == 201
    assert (r.json()["lat"], r.json()["lng"]) == (31.23, 121.47)
    assert backends.members.last_store.location.lat == 31.23


async def test_store_with_lat_but_no_lng_is_422_naming_lng(client, as_role):
    r = await client.post("/v1/brands/brand-a/stores", json={"code": "c", "name": "n", "lat": 31.2},
                          headers=as_role("brand_admin"))

    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "lng", "message": "lat and lng must be given together"}]


async def test_create_staff_never_echoes_the_password(client, as_role, backends):
    body = {"username": "li.na", "password": "correct horse battery", "display_name": "Li Na",
            "role": "clerk", "store_ids": ["store-a1"]}

    r = await client.post("/v1/brands/brand-a/staff", json=body, headers=as_role("brand_admin"))

    assert r.status_code == 201
    assert "password" not in r.json() and "correct horse" not in r.text
    assert backends.members.last_staff.password == "correct horse battery"


async def test_clerk_needs_a_store(client, as_role):
    body = {"username": "x", "password": "long enough", "display_name": "X", "role": "clerk"}

    r = await client.post("/v1/brands/brand-a/staff", json=body, headers=as_role("brand_admin"))

    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "store_ids"


async def test_store_manager_may_not_create_staff(client, as_role):
    body = {"username": "x", "password": "long enough", "display_name": "X", "role": "analyst"}

    r = await client.post("/v1/brands/brand-a/staff", json=body,
                          headers=as_role("store_manager", store_ids=("store-a1",)))

    assert r.status_code == 403


async def test_create_and_read_a_lead(client, as_role, backends):
    headers = as_role("brand_admin")
    body = {"source": "web", "name": "Zhao Lei", "phone": "13900139001", "lat": 31.2, "lng": 121.4,
            "interest": "rings"}

    created = await client.post("/v1/brands/brand-a/leads", json=body, headers=headers)
    read = await client.get(f"/v1/brands/brand-a/leads/{created.json()['id']}", headers=headers)

    assert created.status_code == 201
    lead = created.json()
    assert {"id", "store_id", "assignee_id", "stage"} <= lead.keys()
    assert lead["stage"] == "new"
    assert backends.leads.last.location.lng == 121.4
    assert read.status_code == 200
    assert read.json() == lead


async def test_clerk_cannot_read_another_stores_lead(client, as_role):
    created = await client.post("/v1/brands/brand-a/leads", json={"source": "web", "phone": "13900139002"},
                                headers=as_role("brand_admin"))
    assert created.json()["store_id"] == "store-a2"

    r = await client.get(f"/v1/brands/brand-a/leads/{created.json()['id']}",
                         headers=as_role("clerk", store_ids=("store-a1",)))

    assert r.status_code == 404


async def test_kpis_translate_the_date_range(client, as_role, backends):
    r = await client.get("/v1/brands/brand-a/reports/kpis?from=2024-05-01&to=2024-05-31&store_id=store-a1",
                         headers=as_role("analyst"))

    assert r.status_code == 200
    # The contract's core fields, exactly; the report carries more (churn, points, ...).
    assert r.json().items() >= {"orders": 4, "revenue_fen": 40000, "aov_fen": 10000, "buyers": 3, "repeat_buyers": 1,
                                "repurchase_rate": 1 / 3, "new_members": 2}.items()
    last = backends.reporting.last
    assert (last.brand_id, last.from_date, last.to_date, last.store_id) == (
        "brand-a", "2024-05-01", "2024-05-31", "store-a1")


async def test_kpis_validate_dates(client, as_role):
    headers = as_role("analyst")

    reversed_range = await client.get("/v1/brands/brand-a/reports/kpis?from=2024-05-31&to=2024-05-01",
                                      headers=headers)
    not_a_date = await client.get("/v1/brands/brand-a/reports/kpis?from=20240501&to=2024-05-01",
                                  headers=headers)

    assert reversed_range.status_code == not_a_date.status_code == 422
    assert reversed_range.json()["errors"][0]["field"] == "to"
    assert not_a_date.json()["errors"][0]["field"] == "from"


async def test_clerk_may_not_read_reports(client, as_role):
    r = await client.get("/v1/brands/brand-a/reports/kpis?from=2024-05-01&to=2024-05-31",
                         headers=as_role("clerk", store_ids=("store-a1",)))

    assert r.status_code == 403
