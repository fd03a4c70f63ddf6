"""Pure rules over stored member documents: consents, names for search, masking, merging and paging."""

from __future__ import annotations

import base64
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from crm_common.errors import InvalidArgument
from members.domain.members import CONSENT_CHANNELS

MAX_NAME_PREFIX = 4
"""Name prefixes up to this many characters are searchable (Chinese names are 2-4 characters)."""


def normalize_name(name: str) -> str:
    """The form names are compared in: NFKC, case-folded, without spaces (``Wang Fang`` == ``wangfang``)."""
    return "".join(unicodedata.normalize("NFKC", name or "").casefold().split())


def name_prefixes(name: str) -> list[str]:
    """Every prefix (1..MAX_NAME_PREFIX characters) of the normalised name; their keyed hashes are stored
    so a name-prefix search works while the name itself stays encrypted."""
    norm = normalize_name(name)
    return [norm[:n] for n in range(1, min(len(norm), MAX_NAME_PREFIX) + 1)]


def mask_name(name: str) -> str:
    """``王小明`` -> ``王**``, ``Wang Fang`` -> ``W********``: the first character only."""
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def validate_channel_name(value: str, *, field: str = "preferred_channel") -> str:
    """A consent channel or empty."""
    channel = (value or "").strip().lower()
    if channel and channel not in CONSENT_CHANNELS:
        raise InvalidArgument(f"channel must be one of {', '.join(sorted(CONSENT_CHANNELS))}", field=field)
    return channel


def apply_consents(
    current: Mapping[str, Mapping[str, Any]],
    changes: Mapping[str, bool],
    *,
    opt_out_all: bool,
    source: str,
    at: datetime,
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """New consent records and the channels withdrawn by this change.

    Every change records its time and source; an unchanged consent keeps its original time (the opt-in
    evidence). ``opt_out_all`` withdraws every channel the member ever consented to, in one step.
    """
    for key in changes:
        if key not in CONSENT_CHANNELS:
            raise InvalidArgument(
                f"consent channels are {', '.join(sorted(CONSENT_CHANNELS))}", field=f"consents.{key}"
            )
    wanted = dict(changes)
    if opt_out_all:
        wanted = {key: False for key in CONSENT_CHANNELS if key in current or key in wanted}
    result = {k: dict(v) for k, v in current.items()}
    withdrawn = []
    for key, granted in wanted.items():
        before = result.get(key)
        if before is not None and before["granted"] == granted:
            continue
        if before is not None and before["granted"] and not granted:
            withdrawn.append(key)
        result[key] = {"granted": granted, "at": at, "source": source}
    return result, sorted(withdrawn)


def plan_merge(survivor: Mapping[str, Any], merged: Mapping[str, Any]) -> dict[str, Any]:
    """The ``$set`` that folds ``merged`` into ``survivor``: the survivor's values win, its blanks are filled
    from the merged member, tags and open ids are united, purchase facts add up, and each consent keeps
    the most recent decision (a withdrawal on either side is never lost to an older opt-in)."""
    update: dict[str, Any] = {}
    for key in (
        "name_enc",
        "gender",
        "birthday",
        "store_id",
        "guide_id",
        "channel",
        "card_no",
        "wechat_union_id",
        "preferred_channel",
    ):
        if not survivor.get(key) and merged.get(key):
            update[key] = merged[key]
    if "name_enc" in update:
        update["name_keys"] = list(merged.get("name_keys") or [])
    attributes = dict(merged.get("attributes") or {}) | dict(survivor.get("attributes") or {})
    if attributes != dict(survivor.get("attributes") or {}):
        update["attributes"] = attributes
    for key in ("tags", "wechat_open_ids"):
        union = list(dict.fromkeys([*(survivor.get(key) or []), *(merged.get(key) or [])]))
        if union != list(survivor.get(key) or []):
            update[key] = union
    consents = {k: dict(v) for k, v in (survivor.get("consents") or {}).items()}
    for key, record in (merged.get("consents") or {}).items():
        mine = consents.get(key)
        if mine is None or record["at"] > mine["at"]:
            consents[key] = dict(record)
    if consents != (survivor.get("consents") or {}):
        update["consents"] = consents
    a, b = survivor.get("facts") or {}, merged.get("facts") or {}
    if b:
        facts = {
            "order_count": int(a.get("order_count", 0)) + int(b.get("order_count", 0)),
            "total_spend_fen": int(a.get("total_spend_fen", 0)) + int(b.get("total_spend_fen", 0)),
            "categories": sorted(set(a.get("categories") or []) | set(b.get("categories") or [])),
        }
        lasts = [x for x in (a.get("last_order_at"), b.get("last_order_at")) if x]
        if lasts:
            facts["last_order_at"] = max(lasts)
        news = [x for x in (a.get("new_category_at"), b.get("new_category_at")) if x]
        if news:
            facts["new_category_at"] = max(news)
        update["facts"] = facts
    firsts = [x for x in (survivor.get("registered_at"), merged.get("registered_at")) if x]
    if firsts and min(firsts) != survivor.get("registered_at"):
        # The person has been a member since the earlier registration.
        update["registered_at"] = min(firsts)
    return update


def encode_cursor(at: datetime, doc_id: str) -> str:
    """An opaque cursor for "after (at, id)" in newest-first order."""
    raw = f"{int(at.timestamp() * 1000)}|{doc_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str] | None:
    """The position of a cursor, None for an empty one; InvalidArgument when it was not ours."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        millis, doc_id = raw.split("|", 1)
        return datetime.fromtimestamp(int(millis) / 1000, UTC), doc_id
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgument("invalid cursor", field="cursor") from None


def clamp_limit(limit: int, *, default: int = 50, maximum: int = 500) -> int:
    """A page size: ``default`` when unset, at most ``maximum``."""
    if limit < 0:
        raise InvalidArgument("limit must be positive", field="limit")
    return min(limit or default, maximum)
