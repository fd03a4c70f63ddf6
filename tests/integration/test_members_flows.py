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
