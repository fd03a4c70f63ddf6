"""Birthday gift coupon (tier benefit): the daily claimed job grants the tier's coupon to members in their
birthday month (brand timezone), once per member per year."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from crm.loyalty.v1 import loyalty_pb2

from .conftest import Brand, Stack
from .test_orders import order_request


async def _coupons(stack: Stack, brand: Brand, member_id: str) -> list[loyalty_pb2.Coupon]:
    listed = await stack.loyalty.ListMemberCoupons(
        loyalty_pb2.ListMemberCouponsRequest(brand_id=brand.id, member_id=member_id)
    )
    return list(listed.items)


async def _run_birthday_job_for_today(stack: Stack, brand: Brand, tag: str) -> None:
    """Run the job of today (brand timezone) now, under a key of its own, whatever the chain has done."""
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    await stack.fetchval(
        "INSERT INTO jobs (kind, key, run_at, payload) VALUES ('loyalty.birthday.gifts', $1,"
        " now() - interval '1 second', $2::jsonb)",
        f"test:{brand.id}:{tag}",
        json.dumps({"brand_id": brand.id, "day": today, "part": 0}),
    )
    await stack.run_due_jobs()


async def test_birthday_coupon_is_granted_once_per_year_to_tier_members_in_their_month(
    stack: Stack, brand: Brand
) -> None:
    zone = ZoneInfo("Asia/Shanghai")
    month = datetime.now(UTC).astimezone(zone).month
    other_month = month % 12 + 1
    template = await stack.loyalty.CreateCouponTemplate(
        loyalty_pb2.CreateCouponTemplateRequest(
            brand_id=brand.id,
            template=loyalty_pb2.CouponTemplate(
                name="Birthday 20", kind="cash", value_fen=2000, stock=10, valid_days=31
            ),
        )
    )
    program = {
        "timezone": "Asia/Shanghai",
        "tiers": [
            {"name": "silver", "min_growth": 0},
            {"name": "gold", "min_growth": 100, "birthday_coupon_template_id": template.id},
        ],
    }
    await stack.loyalty.PutProgram(
        loyalty_pb2.PutProgramRequest(brand_id=brand.id, config_json=json.dumps(program), staff_id="admin")
    )
    birthday_gold = stack.new_member(brand, birthday=f"1990-{month:02d}-28")
    other_month_gold = stack.new_member(brand, birthday=f"1991-{other_month:02d}-01")
    birthday_small = stack.new_member(brand, birthday=f"1992-{month:02d}-02")
    for member_id in (birthday_gold, other_month_gold):
        response = await stack.loyalty.RecordOrder(order_request(brand, member_id=member_id))  # 123 yuan → gold
        assert response.member.tier == "gold"
    await stack.loyalty.RecordOrder(order_request(brand, member_id=birthday_small, total_fen=1000))  # not gold

    await _run_birthday_job_for_today(stack, brand, "first")

    gifts = await _coupons(stack, brand, birthday_gold)
    assert [(c.template_id, c.status, c.value_fen) for c in gifts] == [(template.id, "active", 2000)]
    assert await _coupons(stack, brand, other_month_gold) == []
    assert await _coupons(stack, brand, birthday_small) == []

    # Re-runs (the next days of the month, a redelivered job) grant nothing more this year.
    await _run_birthday_job_for_today(stack, brand, "again")
    await _run_birthday_job_for_today(stack, brand, "and-again")
    assert len(await _coupons(stack, brand, birthday_gold)) == 1
    assert (
        await stack.fetchval(
            "SELECT count(*) FROM birthday_gifts WHERE brand_id = $1 AND member_id = $2", brand.id, birthday_gold
        )
        == 1
    )
    pending = await stack.fetchval(
        "SELECT count(*) FROM jobs WHERE kind = 'loyalty.birthday.gifts' AND state = 'pending'"
        " AND payload->>'brand_id' = $1",
        brand.id,
    )
    assert pending == 1  # the chain goes on: tomorrow's run (keyed per local day, so scheduled once)
