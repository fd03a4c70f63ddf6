"""Coupon templates and coupons: grant (stock and per-member limit exact under concurrency), redeem once,
void, expire, and the 24-hour reminder — all through one transaction each, events through the outbox.

Stock is a counter on the template row: ``UPDATE ... SET issued = issued + 1 WHERE issued < stock`` takes
the row lock, so concurrent grants of one template queue there and the per-member count read after it
is exact; a CHECK (issued <= stock) backs it up.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from crm.loyalty.v1 import events_pb2
from crm_common.errors import Conflict, InvalidArgument, NotFound
from crm_common.jobs import JobQueue
from crm_common.outbox import PgOutbox
from loyalty.app.loyalty import LoyaltyApp, keyed, require

COUPON_EXPIRING_JOB = "loyalty.coupon.expiring"
COUPON_EXPIRE_JOB = "loyalty.coupon.expire"
KINDS = ("cash", "percent", "gift")
REMINDER_BEFORE = timedelta(hours=24)


def validate_template(t: dict[str, Any]) -> None:
    """InvalidArgument naming the field for a template that cannot work."""
    require(t.get("name", ""), "name", 200)
    kind = t.get("kind")
    if kind not in KINDS:
        raise InvalidArgument(f"kind must be one of {', '.join(KINDS)}", field="kind")
    if kind == "cash" and t.get("value_fen", 0) <= 0:
        raise InvalidArgument("a cash coupon needs value_fen > 0", field="value_fen")
    if kind == "percent" and not 0 < t.get("percent_off", 0) < 100:
        raise InvalidArgument("a percent coupon needs percent_off between 1 and 99", field="percent_off")
    for name in ("value_fen", "min_spend_fen", "stock", "per_member_limit", "valid_days"):
        if t.get(name, 0) < 0:
            raise InvalidArgument(f"{name} must not be negative", field=name)
    valid_from, valid_to = t.get("valid_from"), t.get("valid_to")
    if t.get("valid_days", 0) > 0:
        if valid_from or valid_to:
            raise InvalidArgument("give valid_days or valid_from + valid_to, not both", field="valid_days")
    elif not (valid_from and valid_to):
        raise InvalidArgument("give valid_days or valid_from + valid_to", field="valid_days")
    elif valid_to <= valid_from:
        raise InvalidArgument("valid_to must be after valid_from", field="valid_to")


class CouponsApp:
    """Coupon use cases over the service's PostgreSQL."""

    def __init__(self, pool: asyncpg.Pool, outbox: PgOutbox, jobs: JobQueue, loyalty: LoyaltyApp) -> None:
        self.pool = pool
        self.outbox = outbox
        self.jobs = jobs
        self.loyalty = loyalty

    async def create_template(self, brand_id: str, t: dict[str, Any]) -> asyncpg.Record:
        """A new template; ``stock`` is the total number of coupons it may ever grant."""
        require(brand_id, "brand_id")
        validate_template(t)
        return await self.pool.fetchrow(
            "INSERT INTO coupon_templates (id, brand_id, name, kind, value_fen, percent_off, min_spend_fen, stock,"
            " per_member_limit, valid_days, valid_from, valid_to, store_ids, categories)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING *",
            f"ct_{uuid.uuid4().hex[:20]}",
            brand_id,
            t["name"].strip(),
            t["kind"],
            t.get("value_fen", 0),
            t.get("percent_off", 0),
            t.get("min_spend_fen", 0),
            t.get("stock", 0),
            t.get("per_member_limit", 0),
            t.get("valid_days", 0),
            t.get("valid_from"),
            t.get("valid_to"),
            list(t.get("store_ids") or []),
            list(t.get("categories") or []),
        )

    async def get_template(
        self, brand_id: str, template_id: str, conn: asyncpg.Connection | None = None
    ) -> asyncpg.Record:
        """The brand's template; NotFound otherwise."""
        row = await (conn or self.pool).fetchrow(
            "SELECT * FROM coupon_templates WHERE brand_id = $1 AND id = $2", brand_id, template_id
        )
        if row is None:
            raise NotFound("no such coupon template", reason="TEMPLATE_NOT_FOUND", field="template_id")
        return row

    async def grant(
        self, brand_id: str, template_id: str, member_id: str, key: str, granted_by: str = ""
    ) -> dict[str, Any]:
        """Grant one coupon of the template to the member; OUT_OF_STOCK / PER_MEMBER_LIMIT when it may not."""
        require(brand_id, "brand_id")
        require(template_id, "template_id")
        require(member_id, "member_id")
        if await self.loyalty.members.get_member(brand_id, member_id) is None:
            raise NotFound("no such member in this brand", reason="MEMBER_NOT_FOUND", field="member_id")
        async with self.pool.acquire() as conn, conn.transaction():
            replay = await self.loyalty._keyed(
                conn, brand_id, "grant", key, {"template_id": template_id, "member_id": member_id}
            )
            if replay is not None:
                return replay
            return keyed(await self.grant_in(conn, brand_id, template_id, member_id, granted_by, key), False)

    async def grant_in(
        self, conn: asyncpg.Connection, brand_id: str, template_id: str, member_id: str, granted_by: str, key: str
    ) -> dict[str, Any]:
        """``grant`` inside the caller's transaction (also used by rules such as the birthday gift)."""
        template = await conn.fetchrow(
            "UPDATE coupon_templates SET issued = issued + 1 WHERE brand_id = $1 AND id = $2 AND issued < stock"
            " RETURNING *",
            brand_id,
            template_id,
        )
        if template is None:
            await self.get_template(brand_id, template_id, conn)  # NotFound when it does not exist at all
            raise Conflict("the coupon template is out of stock", reason="OUT_OF_STOCK", field="template_id")
        now = datetime.now(UTC)
        if template["per_member_limit"]:
            held = await conn.fetchval(
                "SELECT count(*) FROM coupons WHERE brand_id = $1 AND template_id = $2 AND member_id = $3",
                brand_id,
                template_id,
                member_id,
            )
            if held >= template["per_member_limit"]:
                raise Conflict(
                    "the member already holds as many of these coupons as allowed",
                    reason="PER_MEMBER_LIMIT",
                    field="member_id",
                )
        if template["valid_days"]:
            valid_from, valid_to = now, now + timedelta(days=template["valid_days"])
        else:
            valid_from, valid_to = template["valid_from"], template["valid_to"]
            if valid_to <= now:
                raise Conflict("the coupon template's validity is over", reason="TEMPLATE_EXPIRED", field="template_id")
        code = f"C{secrets.token_hex(8).upper()}"
        coupon = await conn.fetchrow(
            "INSERT INTO coupons (code, brand_id, template_id, member_id, valid_from, valid_to, granted_by)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
            code,
            brand_id,
            template_id,
            member_id,
            valid_from,
            valid_to,
            granted_by,
        )
        await self.jobs.schedule(
            conn,
            COUPON_EXPIRING_JOB,
            max(valid_to - REMINDER_BEFORE, now),
            {"brand_id": brand_id, "code": code},
            key=code,
        )
        await self.jobs.schedule(conn, COUPON_EXPIRE_JOB, valid_to, {"brand_id": brand_id, "code": code}, key=code)
        event = events_pb2.CouponGranted(
            brand_id=brand_id, member_id=member_id, coupon_code=code, template_id=template_id, granted_by=granted_by
        )
        event.valid_to.FromDatetime(valid_to)
        await self.outbox.add(conn, event, brand_id=brand_id, subject=member_id)
        response = coupon_json(coupon, template)
        await self.loyalty.repo.save_key_response(conn, brand_id, "grant", key, response)
        return response

    async def member_coupons(self, brand_id: str, member_id: str) -> list[dict[str, Any]]:
        """The member's coupons, newest first, with their status as of now."""
        rows = await self.pool.fetch(
            "SELECT c.*, t.name, t.kind, t.value_fen, t.percent_off FROM coupons c JOIN coupon_templates t"
            " ON t.id = c.template_id WHERE c.brand_id = $1 AND c.member_id = $2 ORDER BY c.granted_at DESC",
            brand_id,
            member_id,
        )
        return [coupon_json(r, r) for r in rows]

    async def redeem(self, brand_id: str, code: str, order_external_id: str = "", store_id: str = "") -> dict[str, Any]:
        """Use a coupon once. A given order must meet the template's store, category and minimum spend."""
        require(brand_id, "brand_id")
        require(code, "code")
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT c.*, t.name, t.kind, t.value_fen, t.percent_off, t.min_spend_fen, t.store_ids, t.categories"
                " FROM coupons c JOIN coupon_templates t ON t.id = c.template_id"
                " WHERE c.brand_id = $1 AND c.code = $2 FOR UPDATE OF c",
                brand_id,
                code,
            )
            if row is None:
                raise NotFound("no such coupon", reason="COUPON_NOT_FOUND", field="code")
            now = datetime.now(UTC)
            status = effective_status(row["status"], row["valid_from"], row["valid_to"], now)
            if status != "active":
                reason = {"redeemed": "COUPON_USED", "expired": "COUPON_EXPIRED", "void": "COUPON_VOID"}.get(
                    status, "COUPON_NOT_YET_VALID"
                )
                raise Conflict(f"the coupon is {status.replace('_', ' ')}", reason=reason, field="code")
            if order_external_id:
                await self._check_order(conn, brand_id, row, order_external_id)
            if store_id and row["store_ids"] and store_id not in row["store_ids"]:
                raise Conflict(
                    "the coupon is not valid at this store", reason="COUPON_NOT_APPLICABLE", field="store_id"
                )
            updated = await conn.fetchrow(
                "UPDATE coupons SET status = 'redeemed', redeemed_at = $3, order_external_id = $4, store_id = $5"
                " WHERE brand_id = $1 AND code = $2 RETURNING *",
                brand_id,
                code,
                now,
                order_external_id or None,
                store_id or None,
            )
            await self.outbox.add(
                conn,
                events_pb2.CouponRedeemed(
                    brand_id=brand_id,
                    member_id=row["member_id"],
                    coupon_code=code,
                    template_id=row["template_id"],
                    order_external_id=order_external_id,
                    store_id=store_id,
                ),
                brand_id=brand_id,
                subject=row["member_id"],
            )
        return coupon_json(updated, row)

    async def _check_order(
        self, conn: asyncpg.Connection, brand_id: str, coupon: asyncpg.Record, external_id: str
    ) -> None:
        order = await conn.fetchrow(
            "SELECT id, store_id, total_fen, member_id FROM orders WHERE brand_id = $1 AND external_id = $2",
            brand_id,
            external_id,
        )
        if order is None:
            raise NotFound("no such order in this brand", reason="ORDER_NOT_FOUND", field="order_external_id")
        if order["total_fen"] < coupon["min_spend_fen"]:
            raise Conflict(
                "the order does not reach the minimum spend",
                reason="COUPON_NOT_APPLICABLE",
                field="order_external_id",
                details={"min_spend_fen": coupon["min_spend_fen"]},
            )
        if coupon["store_ids"] and order["store_id"] not in coupon["store_ids"]:
            raise Conflict(
                "the coupon is not valid at the order's store",
                reason="COUPON_NOT_APPLICABLE",
                field="order_external_id",
            )
        if coupon["categories"]:
            hit = await conn.fetchval(
                "SELECT 1 FROM order_items WHERE order_id = $1 AND category = ANY($2::text[]) LIMIT 1",
                order["id"],
                list(coupon["categories"]),
            )
            if not hit:
                raise Conflict(
                    "the order has nothing of the coupon's categories",
                    reason="COUPON_NOT_APPLICABLE",
                    field="order_external_id",
                )

    async def void(self, brand_id: str, code: str, staff_id: str) -> dict[str, Any]:
        """Cancel an unused coupon (staff action); a used or expired one cannot be voided."""
        require(brand_id, "brand_id")
        require(code, "code")
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "UPDATE coupons SET status = 'void' WHERE brand_id = $1 AND code = $2 AND status = 'active'"
                " RETURNING *",
                brand_id,
                code,
            )
            if row is None:
                current = await conn.fetchval(
                    "SELECT status FROM coupons WHERE brand_id = $1 AND code = $2", brand_id, code
                )
                if current is None:
                    raise NotFound("no such coupon", reason="COUPON_NOT_FOUND", field="code")
                raise Conflict(f"the coupon is {current}", reason=f"COUPON_{current.upper()}", field="code")
            template = await conn.fetchrow("SELECT * FROM coupon_templates WHERE id = $1", row["template_id"])
        return coupon_json(row, template)

    async def expiring(self, brand_id: str, within_hours: int = 24) -> list[dict[str, Any]]:
        """Active coupons whose validity ends within ``within_hours`` (reminders)."""
        now = datetime.now(UTC)
        rows = await self.pool.fetch(
            "SELECT c.*, t.name, t.kind, t.value_fen, t.percent_off FROM coupons c JOIN coupon_templates t"
            " ON t.id = c.template_id WHERE c.brand_id = $1 AND c.status = 'active' AND c.valid_to > $2"
            " AND c.valid_to <= $3 ORDER BY c.valid_to",
            brand_id,
            now,
            now + timedelta(hours=within_hours or 24),
        )
        return [coupon_json(r, r) for r in rows]

    # --- timers --------------------------------------------------------------------------------------------

    async def remind_expiring(self, conn: asyncpg.Connection, payload: dict[str, Any]) -> None:
        """Job, 24 h before the end: CouponExpiring for a coupon still unused."""
        row = await conn.fetchrow(
            "SELECT * FROM coupons WHERE brand_id = $1 AND code = $2 AND status = 'active' FOR UPDATE",
            payload["brand_id"],
            payload["code"],
        )
        if row is None or row["valid_to"] <= datetime.now(UTC):
            return
        event = events_pb2.CouponExpiring(
            brand_id=row["brand_id"],
            member_id=row["member_id"],
            coupon_code=row["code"],
            template_id=row["template_id"],
        )
        event.valid_to.FromDatetime(row["valid_to"])
        await self.outbox.add(conn, event, brand_id=row["brand_id"], subject=row["member_id"])

    async def expire(self, conn: asyncpg.Connection, payload: dict[str, Any]) -> None:
        """Job at the end of validity: an unused coupon becomes ``expired``."""
        await conn.execute(
            "UPDATE coupons SET status = 'expired' WHERE brand_id = $1 AND code = $2 AND status = 'active'"
            " AND valid_to <= now()",
            payload["brand_id"],
            payload["code"],
        )


def effective_status(status: str, valid_from: datetime, valid_to: datetime, now: datetime) -> str:
    """The coupon's status as of ``now``: an active coupon past its end is expired even before the job ran."""
    if status != "active":
        return status
    if now >= valid_to:
        return "expired"
    if now < valid_from:
        return "not_yet_valid"
    return "active"


def coupon_json(c: asyncpg.Record, t: asyncpg.Record) -> dict[str, Any]:
    """The coupon as the API shows it (template fields inlined)."""
    return {
        "code": c["code"],
        "template_id": c["template_id"],
        "member_id": c["member_id"],
        "status": effective_status(c["status"], c["valid_from"], c["valid_to"], datetime.now(UTC)),
        "valid_from": c["valid_from"].isoformat(),
        "valid_to": c["valid_to"].isoformat(),
        "name": t["name"],
        "kind": t["kind"],
        "value_fen": t["value_fen"],
        "percent_off": t["percent_off"],
        "order_external_id": c["order_external_id"] or "",
    }


__all__ = ["CouponsApp", "coupon_json", "effective_status", "json"]
