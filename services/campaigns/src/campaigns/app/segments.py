"""Segment use cases: preview a rule, save it, read saved ones. Orchestration only; the rules live in
``campaigns.domain.segments`` and the SQL in the adapters."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import asyncpg

from campaigns.adapters import repository, segment_store
from campaigns.adapters.segment_store import SavedSegment
from campaigns.domain.segments import Clock, Rule, RuleError, distance_leaves, parse_rule_json, to_json
from crm_common import paging
from crm_common.errors import InvalidArgument, NotFound

DEFAULT_SAMPLE = 20
MAX_SAMPLE = 100
MAX_NAME = 100


def rule_invalid(err: RuleError) -> InvalidArgument:
    """INVALID_ARGUMENT naming the first bad place, with every problem in ``field_errors``."""
    first_field, first_message = err.errors[0]
    return InvalidArgument(
        f"the segment rule is invalid: {first_message}",
        reason="INVALID_RULE",
        field=first_field,
        details={"field_errors": [{"field": f, "message": m} for f, m in err.errors]},
    )


def _check_brand(brand_id: str) -> None:
    if not paging.is_id(brand_id):
        raise InvalidArgument("brand_id is required", field="brand_id")


class SegmentsApp:
    """Previews and saved segments of one campaigns service."""

    def __init__(self, pool: asyncpg.Pool, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.pool = pool
        self._now = now

    async def compile(self, brand_id: str, rule_json: str) -> tuple[Rule, Clock, dict[str, tuple[float, float]]]:
        """The parsed rule, the brand's clock, and the locations its distance conditions need."""
        _check_brand(brand_id)
        try:
            rule = parse_rule_json(rule_json)
        except RuleError as err:
            raise rule_invalid(err) from None
        clock = Clock.at(self._now(), await repository.brand_timezone(self.pool, brand_id))
        distances = distance_leaves(rule)
        stores: dict[str, tuple[float, float]] = {}
        if distances:
            # Every located store of the brand: distance conditions become "the member's store is one of these".
            stores = await segment_store.store_locations(self.pool, brand_id, None)
            unknown = [(f"{leaf.place}.store_id", "no store of this brand with a known location")
                       for leaf in distances if leaf.store_id not in stores]
            if unknown:
                raise rule_invalid(RuleError(unknown))
        return rule, clock, stores

    async def preview(self, brand_id: str, rule_json: str, scope: Sequence[str] | None,
                      sample_size: int = 0) -> tuple[int, list[str]]:
        """The number of members the rule selects now and a sample of their ids."""
        if not 0 <= sample_size <= MAX_SAMPLE:
            raise InvalidArgument(f"sample_size must be within [0, {MAX_SAMPLE}]", field="sample_size")
        rule, clock, stores = await self.compile(brand_id, rule_json)
        return await segment_store.preview(self.pool, brand_id, rule, clock, stores, scope,
                                           sample_size or DEFAULT_SAMPLE)

    async def create(self, brand_id: str, name: str, rule_json: str, scope: Sequence[str] | None,
                     created_by: str) -> SavedSegment:
        """Save a named rule with its member count now."""
        name = (name or "").strip()
        if not name or len(name) > MAX_NAME or "\x00" in name:
            raise InvalidArgument(f"name is required (at most {MAX_NAME} characters)", field="name")
        if "\x00" in created_by:
            raise InvalidArgument("created_by is not a staff id", field="created_by")
        rule, clock, stores = await self.compile(brand_id, rule_json)
        count, _ = await segment_store.preview(self.pool, brand_id, rule, clock, stores, scope, 0)
        return await segment_store.insert_segment(self.pool, SavedSegment(
            id=str(uuid.uuid4()), brand_id=brand_id, name=name, rule=to_json(rule),
            store_ids=tuple(scope or ()), created_by=created_by, created_at=self._now(), member_count=count,
        ))

    async def get(self, brand_id: str, segment_id: str, scope: Sequence[str] | None) -> SavedSegment:
        """One saved segment; NOT_FOUND outside the brand or the caller's stores."""
        _check_brand(brand_id)
        found = None
        if paging.is_id(segment_id):
            found = await segment_store.get_segment(self.pool, brand_id, segment_id, scope)
        if found is None:
            raise NotFound("segment not found", reason="SEGMENT_NOT_FOUND", field="segment_id")
        return found

    async def list(self, brand_id: str, scope: Sequence[str] | None, cursor: str,
                   limit: int) -> paging.Page[SavedSegment]:
        """The brand's segments in the caller's scope, newest first."""
        _check_brand(brand_id)
        size = paging.page_limit(limit)
        rows = await segment_store.list_segments(self.pool, brand_id, scope, paging.after(cursor), size + 1)
        return paging.page(rows, size)


def rule_text(segment: SavedSegment) -> str:
    """A saved segment's rule as JSON text."""
    return json.dumps(segment.rule, ensure_ascii=False, separators=(",", ":"))
