"""A brand's loyalty programme: how an order earns points and growth value, and which tier that gives.

A new brand runs ``DEFAULT_PROGRAM``: 1 point per whole yuan of the order total, no multipliers, no
tiers, no expiry. Richer programmes are more ``EarnRule``s and ``Tier``s on the same value object.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from loyalty.domain.orders import OrderDraft

FEN_PER_YUAN = 100


class EarnRule(Protocol):
    """Points one rule grants for an order; a programme adds the results of all its rules."""

    def points_for(self, order: OrderDraft) -> int:
        """Points (≥ 0) this rule grants for ``order``."""
        ...


@dataclass(frozen=True)
class PointsPerWholeYuan:
    """``points`` for every whole yuan of the order total; fractions of a yuan earn nothing."""

    points: int = 1

    def points_for(self, order: OrderDraft) -> int:
        """Whole yuan of ``total_fen`` times ``points``."""
        return (order.total_fen // FEN_PER_YUAN) * self.points


@dataclass(frozen=True)
class Tier:
    """A tier reached once the account's growth value is at least ``min_growth``."""

    name: str
    min_growth: int


@dataclass(frozen=True)
class Earning:
    """What one order adds to an account."""

    points: int
    growth_value: int


@dataclass(frozen=True)
class Program:
    """A brand's programme as a value: earn rules, tiers (lowest first) and the points' lifetime."""

    earn_rules: Sequence[EarnRule] = (PointsPerWholeYuan(),)
    tiers: Sequence[Tier] = field(default_factory=tuple)
    points_valid_days: int | None = None
    """None: points never expire."""

    def earn(self, order: OrderDraft) -> Earning:
        """Points and growth value ``order`` earns; growth value is whole yuan spent, whatever the rules."""
        points = sum(rule.points_for(order) for rule in self.earn_rules)
        return Earning(points=max(points, 0), growth_value=order.total_fen // FEN_PER_YUAN)

    def tier_for(self, growth_value: int) -> str:
        """Name of the highest tier ``growth_value`` reaches; "" when the programme has no tier for it."""
        reached = [t for t in self.tiers if growth_value >= t.min_growth]
        return max(reached, key=lambda t: t.min_growth).name if reached else ""


DEFAULT_PROGRAM = Program()
