"""Orders keep flowing while NATS restarts: every event arrives once, none is lost, none doubles."""

from __future__ import annotations

import asyncio

import httpx

from crm.campaigns.v1 import campaigns_pb2, campaigns_pb2_grpc
from crm_common import grpc_client

ORDERS = 40


async def test_nats_restart_while_posting_orders_loses_and_doubles_nothing(api, admin, brand, stack, kit) -> None:
    b, store_id = brand["id"], brand["store_id"]
    member = await api.post(f"/v1/brands/{b}/members", json={"phone": kit.phone(40)}, headers=admin)
    assert member.status_code == 201, member.text
    member_id = member.json()["id"]
    day = "2026-04-10"

    async def post(i: int) -> httpx.Response:
        order = {
            "external_id": f"OUTAGE-{i}",
            "store_id": store_id,
            "member_id": member_id,
            "occurred_at": f"{day}T03:{i % 60:02d}:00Z",
            "items": [{"sku": "SKU", "quantity": 1, "amount_fen": 1_000}],
            "total_fen": 1_000,
        }
        resp = await api.post(f"/v1/brands/{b}/orders", json=order, headers=admin)
        assert resp.status_code == 201, resp.text
        return resp

    # Half before, the restart in the middle of the rest, then POS retries of every order.
    await asyncio.gather(*(post(i) for i in range(ORDERS // 2)))
    restart = asyncio.create_task(stack.infra.arestart_nats())
    await asyncio.gather(*(post(i) for i in range(ORDERS // 2, ORDERS)))
    await restart
    for i in range(ORDERS):
        order_retry = await api.post(
            f"/v1/brands/{b}/orders",
            json={"external_id": f"OUTAGE-{i}", "store_id": store_id, "member_id": member_id,
                  "occurred_at": f"{day}T03:{i % 60:02d}:00Z",
                  "items": [{"sku": "SKU", "quantity": 1, "amount_fen": 1_000}], "total_fen": 1_000},
            headers=admin,
        )
        assert order_retry.status_code == 200, order_retry.text

    points = await api.get(f"/v1/brands/{b}/members/{member_id}/points", headers=admin)
    assert points.json()["balance"] == ORDERS * 10

    async def kpis() -> dict:
        resp = await api.get(f"/v1/brands/{b}/reports/kpis", params={"from": day, "to": day}, headers=admin)
        return resp.json()

    final = await kit.eventually(kpis, lambda k: k.get("orders") == ORDERS, timeout=60)
    assert final["revenue_fen"] == ORDERS * 1_000

    campaigns, channel = grpc_client.stub(
        campaigns_pb2_grpc.CampaignsServiceStub, stack.service_addrs["campaigns"], service="campaigns"
    )
    try:
        async def audience() -> campaigns_pb2.AudienceMember | None:
            try:
                return await campaigns.GetAudienceMember(
                    campaigns_pb2.GetAudienceMemberRequest(brand_id=b, member_id=member_id)
                )
            except Exception:
                return None

        facts = await kit.eventually(audience, lambda a: a is not None and a.order_count == ORDERS, timeout=60)
        assert facts.total_spend_fen == ORDERS * 1_000
    finally:
        await channel.close()

    # Give any straggling redelivery a moment, then check nothing moved past the exact totals.
    await asyncio.sleep(2)
    assert (await kpis())["orders"] == ORDERS
