"""Purchase facts of one audience member and the fold of an order into them.

The audience store is a read model fed by events that may arrive late, twice or out of order; the fold is
written so that the order of arrival does not matter (counts and sums commute, times take min / max).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime


@dataclass(frozen=True)
class PurchaseFacts:
    """What campaigns knows about a member's purchases (empty for a member who never bought)."""

    order_count: int = 0
    total_spend_fen: int = 0
    first_purchase_at: datetime | None = None
    last_purchase_at: datetime | None = None


@dataclass(frozen=True)
class Order:
    """The part of an ``OrderRecorded`` event that changes a member's purchase facts."""

    occurred_at: datetime
    total_fen: int


def _earliest(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b < a else a


def _latest(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a


def fold_order(facts: PurchaseFacts, order: Order) -> PurchaseFacts:
    """The facts after one more order. Commutative, so out-of-order delivery gives the same result.

    Not idempotent by itself: the caller must apply each order once (the inbox guarantees it).
    """
    if order.occurred_at.tzinfo is None:
        # A naive time would silently be read as the server's local time somewhere downstream.
        raise ValueError("order time must be timezone-aware")
    return replace(
        facts,
        order_count=facts.order_count + 1,
        total_spend_fen=facts.total_spend_fen + order.total_fen,
        first_purchase_at=_earliest(facts.first_purchase_at, order.occurred_at),
        last_purchase_at=_latest(facts.last_purchase_at, order.occurred_at),
    )
