"""Members through the gateway on the real stack: import with bad rows (report and errors.csv), search, transfer
by store with an Idempotency-Key, and PIPL erasure."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx


async def _job(api: httpx.AsyncClient, headers: dict[str, str], brand_id: str, job_id: str) -> dict[str, Any]:
    resp = await api.get(f"/v1/brands/{brand_id}/member-imports/{job_id}", headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_import_reports_bad_rows_and_search_transfer_erase(api, admin, brand, kit) -> None:
    b, store_id = brand["id"], brand["store_id"]
    other = await api.post(f"/v1/brands/{b}/stores", json={"code": kit.unique("s"), "name": "徐汇店"}, headers=admin)
    assert other.status_code == 201, other.text
    other_id = other.json()["id"]
    base = int(kit.unique("").split("x")[-1]) * 10 + 50_000_000  # phones unique to this test
    rows = [
        ("手机号", "姓名", "gender"),
        (kit.phone(base + 1), "张三", "男"),
        ("not-a-phone", "李四", "女"),
        (kit.phone(base + 2), "王五", "女"),
        (kit.phone(base + 3), "赵六", "unknown-gender"),
    ]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    upload = await api.post(
        f"/v1/brands/{b}/member-imports", headers=admin,
        files={"file": ("会员.csv", buffer.getvalue().encode(), "text/csv")},
        data={"mapping": '{"phone": "手机号", "name": "姓名"}', "default_store_id": store_id},
    )
    assert upload.status_code == 202, upload.text
    job_id = upload.json()["id"]
    job = await kit.eventually(lambda: _job(api, admin, b, job_id), lambda j: j["status"] in ("done", "failed"))
    assert (job["status"], job["total"], job["imported"], job["failed"]) == ("done", 4, 2, 2), job
    assert [(e["row"], e["field"]) for e in job["errors"]] == [(2, "phone"), (4, "gender")]
    report = await api.get(f"/v1/brands/{b}/member-imports/{job_id}/errors.csv", headers=admin)
    assert report.status_code == 200
    lines = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert lines[0] == ["row", "field", "message"] and [r[0] for r in lines[1:]] == ["2", "4"]

    found = await api.get(f"/v1/brands/{b}/members", params={"phone": kit.phone(base + 1)}, headers=admin)
    assert found.status_code == 200, found.text
    [member] = found.json()["items"]
    assert member["name"] == "张三" and member["store_id"] == store_id and member["gender"] == "male"

    # Transfer the store's members; the same Idempotency-Key replays instead of moving again.
    transfer = {"from_store_id": store_id, "to_store_id": other_id}
    key = {**admin, "Idempotency-Key": kit.unique("tr")}
    moved = await api.post(f"/v1/brands/{b}/member-transfers", json=transfer, headers=key)
    assert moved.status_code == 200, moved.text
    assert moved.json()["moved"] >= 2 and moved.json()["replayed"] is False
    again = await api.post(f"/v1/brands/{b}/member-transfers", json=transfer, headers=key)
    assert again.json()["replayed"] is True and again.json()["moved"] == moved.json()["moved"]
    in_other = await api.get(f"/v1/brands/{b}/members", params={"store_id": other_id, "limit": 200}, headers=admin)
    assert member["id"] in {m["id"] for m in in_other.json()["items"]}

    # PIPL: a copy, then erasure; the member is gone from reads and searches.
    copy = await api.get(f"/v1/brands/{b}/members/{member['id']}/export", headers=admin)
    assert copy.status_code == 200, copy.text
    erased = await api.post(f"/v1/brands/{b}/members/{member['id']}/erasure", json={"reason": "asked"},
                            headers=admin)
    assert erased.status_code == 202, erased.text
    assert (await api.get(f"/v1/brands/{b}/members/{member['id']}", headers=admin)).status_code == 404
    gone = await api.get(f"/v1/brands/{b}/members", params={"phone": kit.phone(base + 1)}, headers=admin)
    assert gone.json()["items"] == []


async def _brand_admin(api: httpx.AsyncClient, admin: dict[str, str], kit: Any) -> tuple[str, str, dict[str, str]]:
    """A new brand with a store and its own brand admin; returns (brand id, store id, the admin's headers)."""
    b = await api.post("/v1/brands", json={"code": kit.unique("tr"), "name": "规则品牌"}, headers=admin)
    assert b.status_code == 201, b.text
    brand_id = b.json()["id"]
    s = await api.post(f"/v1/brands/{brand_id}/stores", json={"code": kit.unique("s"), "name": "店"}, headers=admin)
    assert s.status_code == 201, s.text
    username, password = kit.unique("ba"), "brand-admin-pass-1"
    staff = await api.post(
        f"/v1/brands/{brand_id}/staff",
        json={"username": username, "password": password, "display_name": "Admin", "role": "brand_admin",
              "store_ids": []},
        headers=admin,
    )
    assert staff.status_code == 201, staff.text
    login = await api.post("/v1/auth/token", json={"username": username, "password": password})
    assert login.status_code == 200, login.text
    return brand_id, s.json()["id"], {"Authorization": f"Bearer {login.json()['access_token']}"}


async def test_a_brand_admin_replaces_the_tag_rules_and_members_are_retagged(api, admin, kit) -> None:
    b, store_id, mine = await _brand_admin(api, admin, kit)
    _, _, theirs = await _brand_admin(api, admin, kit)
    base = int(kit.unique("").split("x")[-1]) * 10 + 60_000_000
    ids = []
    for i in range(3):
        r = await api.post(f"/v1/brands/{b}/members", json={"phone": kit.phone(base + i), "store_id": store_id},
                           headers=mine)
        assert r.status_code == 201, r.text
        assert r.json()["auto_tags"] == ["new_member"]
        ids.append(r.json()["id"])

    defaults = await api.get(f"/v1/brands/{b}/tag-rules", headers=mine)
    assert defaults.status_code == 200 and defaults.json()["is_default"] is True
    assert (await api.get(f"/v1/brands/{b}/tag-rules", headers=theirs)).status_code == 404
    bad = await api.put(f"/v1/brands/{b}/tag-rules", headers=mine, json={"rules": [
        {"tag": "ok", "conditions": [{"field": "order_count", "op": ">", "value": 0}]},
        {"tag": "ok", "conditions": [{"field": "order_count", "op": ">", "value": 0}]},
        {"tag": "x", "conditions": [{"field": "shoe_size", "op": "=", "value": 42}]},
    ]})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in bad.json()["errors"]] == ["rules[2].conditions[0].field"]

    rules = {"rules": [{"tag": "fresh", "conditions": [{"field": "days_since_registration", "op": "<=", "value": 7}]}]}
    put = await api.put(f"/v1/brands/{b}/tag-rules", json=rules, headers=mine)
    assert put.status_code == 200, put.text
    assert put.json()["rules"] == rules["rules"] and put.json()["reevaluation"]["state"] in ("pending", "done")

    done = await kit.eventually(
        lambda: api.get(f"/v1/brands/{b}/tag-rules", headers=mine),
        lambda r: r.json()["reevaluation"]["state"] == "done",
    )
    assert {k: done.json()["reevaluation"][k] for k in ("total", "processed", "changed")} == {
        "total": 3, "processed": 3, "changed": 3}
    for member_id in ids:
        got = await api.get(f"/v1/brands/{b}/members/{member_id}", headers=mine)
        assert got.json()["auto_tags"] == ["fresh"]
    tagged = await api.get(f"/v1/brands/{b}/members", params={"tag": "fresh"}, headers=mine)
    assert {m["id"] for m in tagged.json()["items"]} == set(ids)
