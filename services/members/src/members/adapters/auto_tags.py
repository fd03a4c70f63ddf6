"""Automatic tags over time and under brand rules: the brand's rule set, and the two claimed jobs that keep
members' automatic tags current.

- ``members.auto_tags.daily`` (one per brand and local day, at ``DAILY_HOUR``:00 in the brand's timezone):
  re-evaluates the members whose day-count facts (days since registration / last order / new category)
  crossed a rule's threshold since the previous run, and schedules the next day's run.
- ``members.auto_tags.rules_changed`` (one per rule change): re-evaluates every member of the brand.

Both work in steps of ``BATCH`` members: each step's tag changes and their MemberUpdated events commit in one
transaction with the job's checkpoint, so a crashed job resumes where it stopped, and a re-run finds nothing
left to change (no second event). The evaluation time of a run is fixed in its first checkpoint.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from google.protobuf.timestamp_pb2 import Timestamp
from pymongo.asynchronous.client_session import AsyncClientSession

from crm.members.v1 import members_pb2
from crm_common.errors import InvalidArgument
from crm_common.jobs import MongoJob, MongoJobHandler, MongoJobQueue
from members.adapters.repository import Doc, Repository, now
from members.domain.tags import (
    DEFAULT_RULES,
    TagRule,
    crossing_windows,
    evaluate,
    facts_of,
    next_daily_run,
    rules_to_json,
    validate_rules,
)

if TYPE_CHECKING:
    from members.adapters.grpc_api import MembersServicer

DAILY = "members.auto_tags.daily"
RULES_CHANGED = "members.auto_tags.rules_changed"
DAILY_HOUR = 4  # local time: after the day's last orders, before the first campaigns go out
BATCH = 100  # members per step; the embedded MongoDB-wire server's $in slows down beyond 100
_GONE = ["merged", "erased"]


def _ts(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


class AutoTags:
    """The brands' rule sets and the jobs that re-evaluate automatic tags."""

    def __init__(
        self,
        servicer: MembersServicer,
        repo: Repository,
        queue: MongoJobQueue,
        *,
        clock: Callable[[], datetime] = now,
        hour: int = DAILY_HOUR,
        batch: int = BATCH,
    ) -> None:
        self.servicer = servicer
        self.repo = repo
        self.queue = queue
        self.rules_collection = repo.db["tag_rules"]
        self.state = repo.db["auto_tag_state"]
        # The time the jobs evaluate at and are due by (the job worker asks it too): tests move it forward.
        self.clock = clock
        self.hour = hour
        self.batch = batch

    def handlers(self) -> dict[str, MongoJobHandler]:
        """The job handlers, for the service's MongoJobWorker."""
        return {DAILY: self._daily, RULES_CHANGED: self._rules_changed}

    # --- rules --------------------------------------------------------------------------------------

    async def rules(self, brand_id: str, session: AsyncClientSession | None = None) -> tuple[TagRule, ...]:
        """The brand's rules: its own once set, else the defaults."""
        doc = await self.rules_collection.find_one({"_id": brand_id}, session=session)
        if doc is None:
            return DEFAULT_RULES
        return validate_rules(doc["rules"])

    async def message(self, brand_id: str) -> members_pb2.TagRules:
        """The brand's rules as the API sees them, with the last re-evaluation's progress."""
        doc = await self.rules_collection.find_one({"_id": brand_id})
        rules = validate_rules(doc["rules"]) if doc else DEFAULT_RULES
        out = members_pb2.TagRules(
            brand_id=brand_id,
            is_default=doc is None or bool(doc.get("is_default")),
            rules=[
                members_pb2.TagRule(
                    tag=r["tag"],
                    conditions=[
                        members_pb2.TagCondition(field=c["field"], op=c["op"], value_json=json.dumps(c["value"]))
                        for c in r["conditions"]
                    ],
                )
                for r in rules_to_json(rules)
            ],
        )
        if doc is not None:
            out.updated_at.CopyFrom(_ts(doc["updated_at"]))
            out.updated_by = doc.get("updated_by", "")
            job = await self.queue.get(RULES_CHANGED, doc["version"])
            if job is not None:
                progress = job.get("progress") or {}
                out.reevaluation.CopyFrom(
                    members_pb2.TagRulesJob(
                        id=job["_id"],
                        state=job["state"],
                        total=progress.get("total", 0),
                        processed=progress.get("processed", 0),
                        changed=progress.get("changed", 0),
                    )
                )
        return out

    async def replace(self, brand_id: str, request: members_pb2.PutTagRulesRequest) -> members_pb2.TagRules:
        """Store the brand's new rules and queue their re-evaluation, in one transaction."""
        if request.use_defaults and request.rules:
            raise InvalidArgument(
                "使用默认规则时不能同时给出规则 / rules must be empty with use_defaults", field="rules"
            )
        raw = []
        for i, rule in enumerate(request.rules):
            conditions = []
            for j, cond in enumerate(rule.conditions):
                try:
                    value = json.loads(cond.value_json) if cond.value_json else None
                except ValueError:
                    raise InvalidArgument(
                        "取值不是合法的 JSON / the value is not valid JSON", field=f"rules[{i}].conditions[{j}].value"
                    ) from None
                conditions.append({"field": cond.field, "op": cond.op, "value": value})
            raw.append({"tag": rule.tag, "conditions": conditions})
        rules = DEFAULT_RULES if request.use_defaults else validate_rules(raw)
        version = uuid.uuid4().hex
        at = now()

        async def write(s: AsyncClientSession) -> None:
            await self.rules_collection.replace_one(
                {"_id": brand_id},
                {
                    "_id": brand_id,
                    "rules": rules_to_json(rules),
                    "is_default": bool(request.use_defaults),
                    "version": version,
                    "updated_at": at,
                    "updated_by": request.actor_id,
                },
                upsert=True,
                session=s,
            )
            # Due at once (by the jobs' clock): the rules apply to new writes now, to everyone soon.
            await self.queue.schedule(
                RULES_CHANGED, self.clock(), {"brand_id": brand_id, "version": version}, key=version, session=s
            )

        await self.repo.transaction(write)
        return await self.message(brand_id)

    # --- scheduling ---------------------------------------------------------------------------------

    async def schedule_daily(self, brand: Doc, after: datetime, session: AsyncClientSession | None = None) -> None:
        """Schedule the brand's first daily run after ``after`` (a no-op when it is scheduled already)."""
        day, at = next_daily_run(brand["timezone"], after, self.hour)
        await self.queue.schedule(
            DAILY, at, {"brand_id": brand["_id"]}, key=f"{brand['_id']}|{day.isoformat()}", session=session
        )

    async def ensure_daily(self) -> None:
        """Every brand has its next daily run scheduled (start-up; idempotent across replicas)."""
        for brand in await self.repo.list_brands():
            await self.schedule_daily(brand, self.clock())

    # --- jobs ---------------------------------------------------------------------------------------

    async def _daily(self, job: MongoJob) -> None:
        brand_id = job.payload["brand_id"]
        brand = await self.repo.get_brand(brand_id)
        if brand is None:
            return
        progress = job.progress
        if "now" not in progress:
            state = await self.state.find_one({"_id": brand_id})
            progress = {"now": self.clock(), "since": state["evaluated_at"] if state else None, "after": ""}
            await job.step(_nothing, progress)
        at, since = progress["now"], progress["since"]
        query: Doc = {"brand_id": brand_id, "status": {"$nin": _GONE}}
        if since is not None:
            # Only members whose day counts crossed a threshold since the last run can have changed. Before
            # the first run nothing is known, so everyone is looked at once.
            windows = crossing_windows(await self.rules(brand_id), since, at)
            spans = [{field: {"$gt": lo, "$lte": hi}} for field, ranges in windows.items() for lo, hi in ranges]
            query["$or"] = spans or [{"_id": None}]
        await self._reevaluate(job, brand_id, query, at, progress)

        async def finish(s: AsyncClientSession) -> None:
            await self.state.update_one({"_id": brand_id}, {"$set": {"evaluated_at": at}}, upsert=True, session=s)
            await self.schedule_daily(brand, at, s)

        await job.step(finish)

    async def _rules_changed(self, job: MongoJob) -> None:
        brand_id, version = job.payload["brand_id"], job.payload["version"]
        current = await self.rules_collection.find_one({"_id": brand_id}, {"version": 1})
        if current is None or current.get("version") != version:
            return  # newer rules came since: their own job re-evaluates everyone
        progress = job.progress
        if "now" not in progress:
            progress = {"now": self.clock(), "after": ""}
            await job.step(_nothing, progress)
        query = {"brand_id": brand_id, "status": {"$nin": _GONE}}
        await self._reevaluate(job, brand_id, query, progress["now"], progress)

    async def _reevaluate(self, job: MongoJob, brand_id: str, query: Doc, at: datetime, progress: Doc) -> None:
        """Re-evaluate the members matching ``query`` at ``at``, ``batch`` per step, after ``progress.after``."""
        ids = sorted([d["_id"] async for d in self.repo.members.find(query, {"_id": 1})])
        todo = [i for i in ids if i > progress.get("after", "")]
        progress = {**progress, "total": progress.get("processed", 0) + len(todo)}
        progress.setdefault("processed", 0)
        progress.setdefault("changed", 0)
        for start in range(0, len(todo), self.batch):
            chunk = todo[start : start + self.batch]

            async def work(s: AsyncClientSession, chunk: list[str] = chunk) -> int:
                rules = await self.rules(brand_id, s)
                changed = 0
                members = self.repo.members.find({"brand_id": brand_id, "_id": {"$in": chunk}}, session=s)
                async for doc in members:
                    if doc.get("status") in _GONE:
                        continue
                    if evaluate(rules, facts_of(doc, now=at)) != doc.get("auto_tags", []):
                        await self.servicer._save_member(doc, {}, s, at, rules)
                        changed += 1
                return changed

            def advance(changed: int, chunk: list[str] = chunk, base: Doc = progress) -> Doc:
                return {
                    **base,
                    "after": chunk[-1],
                    "processed": base["processed"] + len(chunk),
                    "changed": base["changed"] + changed,
                }

            changed = await job.step(work, advance)
            progress = advance(changed)
        if not todo:
            await job.step(_nothing, progress)


async def _nothing(session: AsyncClientSession) -> None:
    """A step that only checkpoints."""
