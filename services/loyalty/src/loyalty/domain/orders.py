"""An order as the domain sees it: validation with field-named errors, and its content fingerprint.

The fingerprint makes ``RecordOrder`` idempotent by ``(brand, external_id)``: a repeat with the same
fingerprint replays the first answer, a repeat with another fingerprint is a conflict.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from crm_common.errors import InvalidArgument

MAX_EXTERNAL_ID = 64


@dataclass(frozen=True)
class OrderLine:
    """One line of a receipt."""

    sku: str
    quantity: int
    amount_fen: int
    name: str = ""
    category: str = ""


@dataclass(frozen=True)
class OrderDraft:
    """An order as posted by a POS, before it is recorded.

    ``occurred_at`` is None when the caller did not say; it then takes the recording time, but the
    fingerprint keeps the absence so that a retry of the same post still matches.
    """

    brand_id: str
    external_id: str
    store_id: str
    items: Sequence[OrderLine]
    total_fen: int
    member_id: str = ""
    member_phone: str = ""
    occurred_at: datetime | None = None

    @property
    def item_count(self) -> int:
        """Number of units bought (sum of quantities)."""
        return sum(line.quantity for line in self.items)


def validate_order(order: OrderDraft) -> None:
    """Raise ``InvalidArgument`` naming the first offending field; return quietly when the order is fine."""
    if not order.brand_id:
        raise InvalidArgument("brand_id is required", field="brand_id")
    if not order.external_id.strip():
        raise InvalidArgument("external_id is required", field="external_id")
    if len(order.external_id) > MAX_EXTERNAL_ID:
        raise InvalidArgument(f"external_id is longer than {MAX_EXTERNAL_ID} characters", field="external_id")
    if not order.store_id:
        raise InvalidArgument("store_id is required", field="store_id")
    if bool(order.member_id) == bool(order.member_phone):
        # Both is ambiguous (which one wins if they disagree?), neither leaves nobody to credit.
        raise InvalidArgument("give exactly one of member_id and member_phone", field="member_id")
    if not order.items:
        raise InvalidArgument("an order needs at least one item", field="items")
    for i, line in enumerate(order.items):
        if not line.sku:
            raise InvalidArgument("sku is required", field=f"items[{i}].sku")
        if line.quantity <= 0:
            raise InvalidArgument("quantity must be greater than 0", field=f"items[{i}].quantity")
        if line.amount_fen < 0:
            raise InvalidArgument("amount_fen must not be negative", field=f"items[{i}].amount_fen")
    # Zero is valid: a gift or a fully discounted order is still a purchase.
    if order.total_fen < 0:
        raise InvalidArgument("total_fen must not be negative", field="total_fen")


def canonical_json(content: Any) -> str:
    """JSON with sorted keys and no insignificant whitespace, so equal content gives equal text."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_fingerprint(content: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``content``."""
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


def order_content(order: OrderDraft) -> dict[str, Any]:
    """What makes two posts "the same order": everything the caller sent, in a plain JSON shape."""
    occurred = order.occurred_at.astimezone(UTC).isoformat(timespec="microseconds") if order.occurred_at else None
    return {
        "brand_id": order.brand_id,
        "external_id": order.external_id,
        "store_id": order.store_id,
        "member_id": order.member_id,
        "member_phone": order.member_phone,
        "occurred_at": occurred,
        "total_fen": order.total_fen,
        "items": [
            {
                "sku": line.sku,
                "name": line.name,
                "category": line.category,
                "quantity": line.quantity,
                "amount_fen": line.amount_fen,
            }
            for line in order.items
        ],
    }


def order_fingerprint(order: OrderDraft) -> str:
    """The content fingerprint of an order (see ``order_content``)."""
    return content_fingerprint(order_content(order))
