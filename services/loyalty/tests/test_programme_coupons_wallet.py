"""Component tests: the programme, actions and adjustments, the ledger, coupons, the wallet, member events
(attach, merge, erasure) and the reconciliation command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from crm.loyalty.v1 import loyalty_pb2
from crm.members.v1 import events_pb2 as members_events
from crm_common.errors import RemoteError
from crm_common.events import build_envelope

from .conftest import Brand, Stack
from .test_concurrency import no_mismatch
from .test_events import eventually
from .test_orders import order_request
from .test_refunds import account, put_program


async def test_new_brand_runs_the_default_programme_and_put_stores_versions(stack: Stack, brand: Brand) -> None:
    default = await stack.loyalty.GetProgram(loyalty_pb2.GetProgramRequest(brand_id=brand.id))
    config = json.loads(default.config_json)
    assert default.version == 0
    assert config["earn"]["points_per_yuan"] == 1 and config["tiers"] == [] and config["expiry"]["policy"] == "never"
    await put_program(stack, brand, {"earn": {"points_per_yuan": 2}})
    await put_program(stack, brand, {"earn": {"points_per_yuan": 3}})
    current = await stack.loyalty.GetProgram(loyalty_pb2.GetProgramRequest(brand_id=brand.id))
    assert (current.version, json.loads(current.config_json)["earn"]["points_per_yuan"]) == (2, 3)
    assert (await stack.loyalty.RecordOrder(order_request(brand))).points_earned == 369
    with pytest.raises(RemoteError) as caught:
        await put_program(stack, brand, {"expiry": {"policy": "whenever"}})
    assert (caught.value.reason, caught.value.field) == ("INVALID_PROGRAM", "expiry.policy")


async def test_birthday_month_bonus_uses_the_members_birthday(stack: Stack, brand: Brand) -> None:
    month = datetime(2025, 3, 1, tzinfo=UTC).month  # order_request's occurred_at is in March
    member = stack.new_member(brand, birthday=f"1990-{month:02d}-15")
    await put_program(stack, brand, {"earn": {"birthday_month_multiplier": 2}})
    assert (await stack.loyalty.RecordOrder(order_request(brand, member_id=member))).points_earned == 246
    assert (await stack.loyalty.RecordOrder(order_request(brand))).points_earned == 123


async def test_actions_award_once_and_adjustments_name_the_staff(stack: Stack, brand: Brand) -> None:
    await put_program(stack, brand, {"earn": {"action_points": {"sign_in": 5}}})
    req = loyalty_pb2.AwardActionPointsRequest(
        brand_id=brand.id, member_id=brand.member_id, action="sign_in", reference="2025-03-01"
    )
    first, again = await stack.loyalty.AwardActionPoints(req), await stack.loyalty.AwardActionPoints(req)
    assert (first.balance, again.balance, again.replayed) == (5, 5, True)
    adj = await stack.loyalty.AdjustPoints(
        loyalty_pb2.AdjustPointsRequest(
            brand_id=brand.id,
            member_id=brand.member_id,
            delta=-3,
            staff_id="staff-9",
            reason="typo",
            idempotency_key="a1",
        )
    )
    assert adj.balance == 2
    with pytest.raises(RemoteError) as caught:
        await stack.loyalty.AdjustPoints(
            loyalty_pb2.AdjustPointsRequest(
                brand_id=brand.id, member_id=brand.member_id, delta=-3, staff_id="s", reason="x", idempotency_key="a2"
            )
        )
    assert caught.value.reason == "INSUFFICIENT_POINTS"
    ledger = await stack.loyalty.ListPointsLedger(
        loyalty_pb2.ListPointsLedgerRequest(brand_id=brand.id, member_id=brand.member_id, limit=1)
    )
    assert [(e.reason, e.delta, e.staff_id) for e in ledger.items] == [("ADJUSTMENT", -3, "staff-9")]
    rest = await stack.loyalty.ListPointsLedger(
        loyalty_pb2.ListPointsLedgerRequest(brand_id=brand.id, member_id=brand.member_id, cursor=ledger.next_cursor)
    )
    assert [(e.reason, e.reference) for e in rest.items] == [("ACTION_SIGN_IN", "2025-03-01")]
    assert rest.next_cursor == ""


async def template(stack: Stack, brand: Brand, **kw: object) -> loyalty_pb2.CouponTemplate:
    fields: dict[str, object] = {"name": "t", "kind": "cash", "value_fen": 500, "stock": 10, "valid_days": 3}
    fields.update(kw)
    return await stack.loyalty.CreateCouponTemplate(
        loyalty_pb2.CreateCouponTemplateRequest(brand_id=brand.id, template=loyalty_pb2.CouponTemplate(**fields))  # type: ignore[arg-type]
    )


async def grant(stack: Stack, brand: Brand, template_id: str, key: str) -> loyalty_pb2.Coupon:
    return await stack.loyalty.GrantCoupon(
        loyalty_pb2.GrantCouponRequest(
            brand_id=brand.id, template_id=template_id, member_id=brand.member_id, idempotency_key=key
        )
    )


async def test_coupon_conditions_void_expiry_and_reminders(stack: Stack, brand: Brand) -> None:
    t = await template(stack, brand, min_spend_fen=20000, categories=["tea"])
    c = await grant(stack, brand, t.id, "k1")
    assert (await grant(stack, brand, t.id, "k1")).code == c.code  # same key → same coupon
    small = order_request(brand)  # 123.45 yuan < 200
    await stack.loyalty.RecordOrder(small)
    with pytest.raises(RemoteError) as caught:
        await stack.loyalty.RedeemCoupon(
            loyalty_pb2.RedeemCouponRequest(brand_id=brand.id, code=c.code, order_external_id=small.external_id)
        )
    assert caught.value.reason == "COUPON_NOT_APPLICABLE"
    big = order_request(brand, total_fen=30000)
    await stack.loyalty.RecordOrder(big)
    used = await stack.loyalty.RedeemCoupon(
        loyalty_pb2.RedeemCouponRequest(brand_id=brand.id, code=c.code, order_external_id=big.external_id)
    )
    assert used.status == "redeemed"

    v = await grant(stack, brand, t.id, "k2")
    assert (
        await stack.loyalty.VoidCoupon(loyalty_pb2.VoidCouponRequest(brand_id=brand.id, code=v.code))
    ).status == "void"
    with pytest.raises(RemoteError) as caught:
        await stack.loyalty.RedeemCoupon(loyalty_pb2.RedeemCouponRequest(brand_id=brand.id, code=v.code))
    assert caught.value.reason == "COUPON_VOID"

    soon = await grant(stack, brand, t.id, "k3")
    await stack.fetchval("UPDATE coupons SET valid_to = now() + interval '2 hours' WHERE code = $1", soon.code)
    await stack.fetchval(
        "UPDATE jobs SET run_at = now() - interval '1 second' WHERE kind = 'loyalty.coupon.expiring' AND key = $1",
        soon.code,
    )
    await stack.run_due_jobs()
    expiring = await stack.loyalty.ListExpiringCoupons(loyalty_pb2.ListExpiringCouponsRequest(brand_id=brand.id))
    assert [x.code for x in expiring.items] == [soon.code]
    assert (
        await stack.fetchval(
            "SELECT count(*) FROM outbox WHERE brand_id = $1 AND event_type = 'crm.loyalty.v1.CouponExpiring'", brand.id
        )
        == 1
    )
    await stack.fetchval("UPDATE coupons SET valid_to = now() - interval '1 second' WHERE code = $1", soon.code)
    with pytest.raises(RemoteError) as caught:
        await stack.loyalty.RedeemCoupon(loyalty_pb2.RedeemCouponRequest(brand_id=brand.id, code=soon.code))
    assert caught.value.reason == "COUPON_EXPIRED"
    mine = await stack.loyalty.ListMemberCoupons(
        loyalty_pb2.ListMemberCouponsRequest(brand_id=brand.id, member_id=brand.member_id)
    )
    assert sorted(x.status for x in mine.items) == ["expired", "redeemed", "void"]


async def test_wallet_top_up_bonus_pay_and_refund_never_negative(stack: Stack, brand: Brand) -> None:
    await put_program(stack, brand, {"wallet_bonuses": [{"min_fen": 100000, "bonus_fen": 10000}]})
    top = await stack.loyalty.TopUpWallet(
        loyalty_pb2.TopUpWalletRequest(
            brand_id=brand.id, member_id=brand.member_id, amount_fen=100000, idempotency_key="t1"
        )
    )
    assert (top.wallet.principal_fen, top.wallet.bonus_fen) == (100000, 10000)
    pay = await stack.loyalty.PayFromWallet(
        loyalty_pb2.PayFromWalletRequest(
            brand_id=brand.id, member_id=brand.member_id, amount_fen=11000, idempotency_key="p1"
        )
    )
    assert (pay.principal_delta_fen, pay.bonus_delta_fen) == (-10000, -1000)
    with pytest.raises(RemoteError) as caught:
        await stack.loyalty.PayFromWallet(
            loyalty_pb2.PayFromWalletRequest(
                brand_id=brand.id, member_id=brand.member_id, amount_fen=99001, idempotency_key="p2"
            )
        )
    assert caught.value.reason == "INSUFFICIENT_FUNDS"
    back = await stack.loyalty.RefundToWallet(
        loyalty_pb2.RefundToWalletRequest(
            brand_id=brand.id, member_id=brand.member_id, payment_key="p1", amount_fen=11000, idempotency_key="rf1"
        )
    )
    assert (back.wallet.principal_fen, back.wallet.bonus_fen) == (100000, 10000)
    await no_mismatch(stack, brand)


async def publish(stack: Stack, brand: Brand, message: object, subject: str) -> None:
    await stack.bus.ensure_stream("members")
    await stack.bus.publish(build_envelope(message, source="members", brand_id=brand.id, subject=subject))  # type: ignore[arg-type]


async def test_orders_of_a_phone_attach_when_its_member_registers(stack: Stack, brand: Brand) -> None:
    phone_national = "13912345678"
    o = order_request(brand, member_id="", member_phone=phone_national)
    first = await stack.loyalty.RecordOrder(o)
    assert not first.HasField("member") and first.points_earned == 0
    member_id = "member-late"
    stack.members.members[(brand.id, member_id)] = "+86" + phone_national
    await publish(stack, brand, members_events.MemberRegistered(brand_id=brand.id, member_id=member_id), member_id)

    async def attached() -> bool:
        return bool(
            await stack.fetchval(
                "SELECT balance FROM points_accounts WHERE brand_id = $1 AND member_id = $2", brand.id, member_id
            )
        )

    await eventually(attached)
    a = await stack.loyalty.GetPointsAccount(
        loyalty_pb2.GetPointsAccountRequest(brand_id=brand.id, member_id=member_id)
    )
    assert a.balance == 123
    assert await stack.fetchval("SELECT member_phone FROM orders WHERE id = $1", first.order_id) is None
    # A retry of the order (POS, member app) now shows the member it was attached to, not "member": null.
    again = await stack.loyalty.RecordOrder(o)
    assert again.replayed and again.order_id == first.order_id and again.points_earned == 123
    assert (again.member.member_id, again.member.points_balance) == (member_id, 123)
    history = await stack.loyalty.ListMemberOrders(
        loyalty_pb2.ListMemberOrdersRequest(brand_id=brand.id, member_id=member_id)
    )
    assert [(h.order_id, h.points_earned) for h in history.orders] == [(first.order_id, 123)]


async def test_merge_moves_points_lots_and_wallet_to_the_survivor_and_erasure_drops_phones(
    stack: Stack, brand: Brand
) -> None:
    other = stack.new_member(brand)
    await stack.loyalty.RecordOrder(order_request(brand))
    await stack.loyalty.RecordOrder(order_request(brand, member_id=other))
    await stack.loyalty.TopUpWallet(
        loyalty_pb2.TopUpWalletRequest(brand_id=brand.id, member_id=other, amount_fen=500, idempotency_key="w")
    )
    merged = members_events.MemberMerged(brand_id=brand.id, survivor_member_id=brand.member_id, merged_member_id=other)
    await publish(stack, brand, merged, brand.member_id)
    await publish(stack, brand, merged, brand.member_id)  # a second merge event changes nothing

    async def moved() -> bool:
        return (await account(stack, brand)).balance == 246

    await eventually(moved)
    await publish(stack, brand, members_events.MemberErased(brand_id=brand.id, member_id=brand.member_id), "x")

    async def erased() -> bool:
        return await stack.fetchval(
            "SELECT count(*) FROM processed_events p JOIN outbox o ON false WHERE false"
        ) == 0 and not await stack.fetchval(
            "SELECT birthday IS NOT NULL FROM points_accounts WHERE brand_id = $1 AND member_id = $2",
            brand.id,
            brand.member_id,
        )

    await eventually(erased)
    wallet = await stack.loyalty.GetWallet(loyalty_pb2.GetWalletRequest(brand_id=brand.id, member_id=brand.member_id))
    assert wallet.principal_fen == 500
    gone = await stack.loyalty.GetPointsAccount(loyalty_pb2.GetPointsAccountRequest(brand_id=brand.id, member_id=other))
    assert gone.balance == 0
    await no_mismatch(stack, brand)


def test_reconcile_command_reports_agreement_and_mismatches(stack: Stack, brand: Brand) -> None:
    env = {**os.environ, "CRM_PG_DSN": stack.pg_dsn}
    ok = subprocess.run(
        [sys.executable, "-m", "loyalty", "reconcile"], env=env, capture_output=True, text=True, timeout=60
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "0 mismatch" in ok.stdout


async def test_reconcile_finds_a_tampered_balance(stack: Stack, brand: Brand) -> None:
    await stack.loyalty.RecordOrder(order_request(brand))
    await stack.fetchval("UPDATE points_accounts SET balance = balance + 1 WHERE brand_id = $1", brand.id)
    import asyncpg

    from loyalty.reconcile import reconcile

    conn = await asyncpg.connect(stack.pg_dsn)
    try:
        found = await reconcile(conn, brand.id)
        assert [(m.kind, m.member_id) for m in found] == [("points", brand.member_id)]
        await conn.execute("UPDATE points_accounts SET balance = balance - 1 WHERE brand_id = $1", brand.id)
    finally:
        await conn.close()


_ = timedelta
