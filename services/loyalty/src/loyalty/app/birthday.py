"""Birthday gift coupons, a tier benefit: a claimed daily job per brand grants each member in their
birthday month the ``birthday_coupon_template_id`` of their tier, once per member per year.

Where birthdays come from: ``points_accounts.birthday``, set from ``MemberRegistered`` and ``MemberUpdated``
(and from the directory's ``GetMember`` on the orders of members not known from those events yet); no call per
member at gift time, so the job does not depend on the members service being up. The job runs every day at
local midnight of the brand's timezone, not only on the 1st: members who register, set a birthday or reach a
tier later in the month still get their gift, and a day the job could not run is caught up the next day.
``birthday_gifts`` (primary key brand, member, year) makes it idempotent whatever is re-run.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg

from crm_common.errors import Conflict, NotFound
from crm_common.jobs import JobQueue
from loyalty.adapters.repository import LoyaltyRepository
from loyalty.app.coupons import CouponsApp
from loyalty.domain.program import Program

log = logging.getLogger(__name__)

BIRTHDAY_JOB = "loyalty.birthday.gifts"
BATCH = 500  # members per job transaction; a fuller month continues in a follow-up job


def local_midnight_after(program: Program, day: date) -> datetime:
    """The instant the day after ``day`` starts in the brand's timezone (UTC)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=program.zone).astimezone(UTC)


class BirthdayGifts:
    """The daily birthday-gift job of each brand whose programme has a birthday coupon on some tier."""

    def __init__(self, repo: LoyaltyRepository, jobs: JobQueue, coupons: CouponsApp) -> None:
        self.repo = repo
        self.jobs = jobs
        self.coupons = coupons

    async def ensure_scheduled(self, conn: asyncpg.Connection, brand_id: str, program: Program) -> None:
        """Start the brand's daily chain (today's run, now) when its programme gives birthday coupons.

        Called when a programme is stored; the job key (brand, local day) makes a second start a no-op.
        """
        if not _templates_by_tier(program):
            return
        today = datetime.now(UTC).astimezone(program.zone).date()
        await self._schedule(conn, brand_id, today, datetime.now(UTC))

    async def _schedule(self, conn: asyncpg.Connection, brand_id: str, day: date, at: datetime, part: int = 0) -> None:
        key = f"{brand_id}:{day.isoformat()}:{part}"
        await self.jobs.schedule(
            conn, BIRTHDAY_JOB, at, {"brand_id": brand_id, "day": day.isoformat(), "part": part}, key=key
        )

    async def run(self, conn: asyncpg.Connection, payload: dict[str, Any]) -> None:
        """Job: grant today's due birthday coupons of the brand (up to BATCH), then schedule what follows."""
        brand_id = payload["brand_id"]
        day = date.fromisoformat(payload["day"])
        part = int(payload.get("part", 0))
        program = await self.repo.current_program(conn, brand_id)
        by_tier = _templates_by_tier(program)
        if not by_tier:
            return  # the programme no longer gives birthday coupons: the chain stops (a new PUT restarts it)
        granted = await self.grant_due(conn, brand_id, program, day, by_tier)
        if granted >= BATCH:
            await self._schedule(conn, brand_id, day, datetime.now(UTC), part + 1)  # more today: continue now
        else:
            await self._schedule(conn, brand_id, day + timedelta(days=1), local_midnight_after(program, day))

    async def grant_due(
        self, conn: asyncpg.Connection, brand_id: str, program: Program, day: date, by_tier: dict[str, str]
    ) -> int:
        """Members in their birthday month with a birthday-coupon tier and no gift this year yet; returns
        how many were handled (granted or refused) in this batch."""
        rows = await conn.fetch(
            "SELECT a.member_id, a.tier FROM points_accounts a WHERE a.brand_id = $1 AND a.birthday IS NOT NULL"
            " AND a.merged_into IS NULL AND extract(month FROM a.birthday) = $2 AND a.tier = ANY($3::text[])"
            " AND NOT EXISTS (SELECT 1 FROM birthday_gifts g WHERE g.brand_id = $1 AND g.member_id = a.member_id"
            " AND g.year = $4) ORDER BY a.member_id LIMIT $5",
            brand_id,
            day.month,
            list(by_tier),
            day.year,
            BATCH,
        )
        for row in rows:
            member_id, template_id = row["member_id"], by_tier[row["tier"]]
            code, reason = None, ""
            try:
                # A savepoint: a refused grant (stock, limit, template over) must not undo the others.
                async with conn.transaction():
                    coupon = await self.coupons.grant_in(
                        conn, brand_id, template_id, member_id, "rule:birthday", f"birthday:{member_id}:{day.year}"
                    )
                    code = coupon["code"]
            except (Conflict, NotFound) as refused:
                reason = refused.reason
                log.warning(
                    "birthday coupon refused",
                    extra={"brand_id": brand_id, "member_id": member_id, "reason": reason},
                )
            # Refusals are recorded too: one attempt per member per year, not one per day of the month.
            await conn.execute(
                "INSERT INTO birthday_gifts (brand_id, member_id, year, template_id, coupon_code, reason)"
                " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                brand_id,
                member_id,
                day.year,
                template_id,
                code,
                reason,
            )
        return len(rows)


def _templates_by_tier(program: Program) -> dict[str, str]:
    return {t.name: t.birthday_coupon_template_id for t in program.tiers if t.birthday_coupon_template_id}
