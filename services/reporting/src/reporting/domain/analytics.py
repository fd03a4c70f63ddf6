"""Customer analytics with no I/O: RFM bands, value segments, "A then B" association, anomaly ranges."""

from __future__ import annotations

import itertools
import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from crm_common.errors import InvalidArgument

DEFAULT_RECENCY_DAYS = (30, 90, 180, 365)
DEFAULT_FREQUENCY = (2, 3, 5, 10)
DEFAULT_MONETARY_FEN = (10_000, 50_000, 100_000, 500_000)
VIP_MIN_FEN = 500_000
"""5000 yuan a year: the default VIP line."""


def check_edges(edges: Sequence[int], field: str) -> tuple[int, ...]:
    """Band edges must be strictly ascending and positive; empty means "use the default"."""
    if any(e <= 0 for e in edges) or any(b <= a for a, b in itertools.pairwise(edges)):
        raise InvalidArgument(f"{field} must be strictly ascending positive numbers", field=field)
    return tuple(edges)


def recency_score(days_since: int, edges: Sequence[int]) -> int:
    """len(edges)+1 for the most recent buyers down to 1 for those past the last edge (≤ edge is inside)."""
    return len(edges) + 1 - bisect_left(edges, days_since)


def ascending_score(value: int, edges: Sequence[int]) -> int:
    """1 below the first edge, k+1 at or above the k-th edge."""
    return bisect_right(edges, value) + 1


@dataclass(frozen=True)
class Band:
    """A value segment: members whose spend in the window is at least ``min_fen``."""

    name: str
    min_fen: int


def default_bands(vip_min_fen: int = VIP_MIN_FEN) -> tuple[Band, ...]:
    """VIP (≥ 5000 yuan by default), regular (bought anything), inactive (bought nothing)."""
    return (Band("vip", vip_min_fen), Band("regular", 1), Band("inactive", -(2**62)))


def segment_of(spend_fen: int, bands: Sequence[Band]) -> str:
    """The first band (highest minimum first) the spend reaches; bands are given in any order."""
    for band in sorted(bands, key=lambda b: b.min_fen, reverse=True):
        if spend_fen >= band.min_fen:
            return band.name
    return "other"


@dataclass(frozen=True)
class Pair:
    """"Bought A, then B within N days": customers, support, confidence and lift."""

    antecedent: str
    consequent: str
    customers: int
    support: float
    confidence: float
    lift: float


def associations(
    purchases: Iterable[tuple[str, str, date]], within_days: int, *, min_support: float = 0.0
) -> tuple[list[Pair], int]:
    """Pairs (A, B), A ≠ B, where a customer bought B on a later day at most ``within_days`` after A.

    Counted per customer (a customer supports a pair once however often they repeat it):
    support = customers(A→B) / buyers, confidence = customers(A→B) / buyers of A,
    lift = confidence / (buyers of B / buyers). Returns the pairs (by lift, then customers) and buyers.
    """
    per_customer: dict[str, dict[str, list[date]]] = defaultdict(lambda: defaultdict(list))
    for customer, item, day in purchases:
        per_customer[customer][item].append(day)
    buyers = len(per_customer)
    item_buyers: dict[str, int] = defaultdict(int)
    pair_customers: dict[tuple[str, str], int] = defaultdict(int)
    for items in per_customer.values():
        for item, days in items.items():
            item_buyers[item] += 1
            days.sort()
        for a, a_days in items.items():
            for b, b_days in items.items():
                if a == b:
                    continue
                # Is there a B day in (d, d + N] for some A day d? Walk B's sorted days once per A day.
                for d in a_days:
                    k = bisect_right(b_days, d)
                    if k < len(b_days) and (b_days[k] - d).days <= within_days:
                        pair_customers[(a, b)] += 1
                        break
    pairs = []
    for (a, b), n in pair_customers.items():
        support = n / buyers
        if support < min_support:
            continue
        confidence = n / item_buyers[a]
        lift = confidence / (item_buyers[b] / buyers)
        pairs.append(Pair(a, b, n, support, confidence, lift))
    pairs.sort(key=lambda p: (-p.lift, -p.customers, p.antecedent, p.consequent))
    return pairs, buyers


@dataclass(frozen=True)
class Range:
    """A store's usual range of a daily figure."""

    low: float
    high: float


MIN_HISTORY_DAYS = 7
"""Fewer recent days than this says nothing about a store's usual range."""


def usual_range(history: Sequence[float], *, k: float = 3.0) -> Range | None:
    """Mean ± k standard deviations of the recent days, or None with too little history.

    A perfectly flat history would flag any change at all, so the spread is at least 5 % of the mean.
    """
    if len(history) < MIN_HISTORY_DAYS:
        return None
    mean = sum(history) / len(history)
    sd = math.sqrt(sum((v - mean) ** 2 for v in history) / (len(history) - 1))
    spread = max(sd, abs(mean) * 0.05)
    return Range(mean - k * spread, mean + k * spread)


def is_anomalous(value: float, usual: Range | None) -> bool:
    """Outside the usual range (never without one)."""
    return usual is not None and not usual.low <= value <= usual.high


def month_index(first: date, later: date) -> int:
    """Months from ``first``'s calendar month to ``later``'s (0 = the same month)."""
    return (later.year - first.year) * 12 + later.month - first.month
