"""A brand's loyalty programme as a value: earn rules, tiers, expiry policy, wallet bonus tiers.

The programme is stored as versioned JSON (``programs`` table); ``parse_program`` validates that JSON
with field-named errors and ``Program.to_json`` writes it back, so GET returns what PUT stored.
A new brand runs ``DEFAULT_PROGRAM``: 1 point per whole yuan of the order total, no multipliers, no
tiers, no expiry.

Arithmetic is exact (``Fraction``) and rounds down once at the end, so a default programme earns exactly
``total_fen // 100`` and multipliers never drift with float error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm_common.errors import InvalidArgument
from loyalty.domain.orders import OrderDraft

FEN_PER_YUAN = 100
ACTIONS = ("registration", "profile_completion", "sign_in", "referral")
EXPIRY_POLICIES = ("never", "days_after_earning", "end_of_following_year")


@dataclass(frozen=True)
class Promotion:
    """A multiplier on orders whose time falls in ``[starts_at, ends_at)``, at ``store_ids`` (all if empty)."""

    starts_at: datetime
    ends_at: datetime
    multiplier: Fraction
    store_ids: frozenset[str] = frozenset()

    def applies(self, order: OrderDraft, at: datetime) -> bool:
        """True when the order was made in the window and at one of the stores."""
        in_store = not self.store_ids or order.store_id in self.store_ids
        return in_store and self.starts_at <= at < self.ends_at


@dataclass(frozen=True)
class Tier:
    """A tier reached once qualifying growth value is at least ``min_growth``, and its benefits."""

    name: str
    min_growth: int
    points_multiplier: Fraction = Fraction(1)
    discount_rate: Fraction = Fraction(0)
    """Share off the price a member of this tier gets at the till (0.05 = 5 % off); informational here."""
    birthday_coupon_template_id: str = ""


@dataclass(frozen=True)
class WalletBonus:
    """A top-up of at least ``min_fen`` gets ``bonus_fen`` on top (pay 1000 yuan, get 1100)."""

    min_fen: int
    bonus_fen: int


@dataclass(frozen=True)
class Earning:
    """What one order adds to an account (before any debt is paid off)."""

    points: int
    growth_value: int


@dataclass(frozen=True)
class MemberFacts:
    """What the earn rules need to know about the buyer."""

    tier: str = ""
    birthday: date | None = None


@dataclass(frozen=True)
class Program:
    """A brand's programme. All fields have the default programme's values."""

    points_per_yuan: Fraction = Fraction(1)
    min_spend_fen: int = 0
    max_points_per_order: int | None = None
    category_multipliers: Mapping[str, Fraction] = field(default_factory=dict)
    """0 excludes the category; SKU multipliers win over category ones."""
    sku_multipliers: Mapping[str, Fraction] = field(default_factory=dict)
    promotions: Sequence[Promotion] = ()
    birthday_month_multiplier: Fraction = Fraction(1)
    action_points: Mapping[str, int] = field(default_factory=dict)
    tiers: Sequence[Tier] = ()
    """Lowest first (sorted by ``min_growth`` when parsed)."""
    tier_period_days: int | None = None
    """Rolling period of qualifying growth; None: lifetime growth, never a downgrade."""
    expiry_policy: str = "never"
    expiry_days: int = 0
    timezone: str = "Asia/Shanghai"
    wallet_bonuses: Sequence[WalletBonus] = ()
    version: int = 0
    """0 for the built-in default, else the stored version."""

    # --- earning -----------------------------------------------------------------------------------------

    @cached_property
    def _flat_rate(self) -> int | None:
        """Whole points per whole yuan when no rule can weigh an order (every multiplier is 1 and the rate is
        a whole number): earning is then plain integer arithmetic. None otherwise."""
        multipliers = [
            *self.category_multipliers.values(), *self.sku_multipliers.values(),
            *(p.multiplier for p in self.promotions), *(t.points_multiplier for t in self.tiers),
            self.birthday_month_multiplier,
        ]
        if self.points_per_yuan.denominator != 1 or any(m != 1 for m in multipliers):
            return None
        return int(self.points_per_yuan)

    def eligible_fen(self, order: OrderDraft) -> Fraction:
        """The part of ``total_fen`` that earns points, weighted by category/SKU multipliers.

        Line amounts may not add up to the total (order-level discounts), so each line's weight is applied
        to its share of what was actually paid.
        """
        gross = sum(line.amount_fen for line in order.items)
        if gross == 0:
            return Fraction(order.total_fen)
        weighted = sum(line.amount_fen * self.line_multiplier(line.sku, line.category) for line in order.items)
        return Fraction(order.total_fen) * Fraction(weighted) / gross

    def line_multiplier(self, sku: str, category: str) -> Fraction:
        """SKU multiplier, else category multiplier, else 1."""
        if sku in self.sku_multipliers:
            return self.sku_multipliers[sku]
        return self.category_multipliers.get(category, Fraction(1))

    def order_multiplier(self, order: OrderDraft, at: datetime, member: MemberFacts) -> Fraction:
        """Tier × best promotion × birthday-month multiplier for this order."""
        multiplier = Fraction(1)
        tier = self.tier_named(member.tier)
        if tier is not None:
            multiplier *= tier.points_multiplier
        promos = [p.multiplier for p in self.promotions if p.applies(order, at)]
        if promos:
            multiplier *= max(promos)  # promotions do not stack: the best one counts
        if member.birthday is not None and at.astimezone(self.zone).month == member.birthday.month:
            multiplier *= self.birthday_month_multiplier
        return multiplier

    def earn(self, order: OrderDraft, at: datetime | None = None, member: MemberFacts | None = None) -> Earning:
        """Points and growth value of ``order``; growth value is whole yuan spent, whatever the rules."""
        at = at or order.occurred_at or datetime.now(UTC)
        member = member or MemberFacts()
        growth = order.total_fen // FEN_PER_YUAN
        if order.total_fen < self.min_spend_fen:
            return Earning(points=0, growth_value=growth)
        rate = self._flat_rate
        if rate is not None:
            points = order.total_fen // FEN_PER_YUAN * rate  # what the Fractions below come to, without them
        else:
            # Whole yuan first (the default programme is "1 point per whole yuan"), multipliers after.
            whole_yuan = int(self.eligible_fen(order) // FEN_PER_YUAN)
            points = int(whole_yuan * self.points_per_yuan * self.order_multiplier(order, at, member))
        if self.max_points_per_order is not None:
            points = min(points, self.max_points_per_order)
        return Earning(points=max(points, 0), growth_value=growth)

    # --- expiry ------------------------------------------------------------------------------------------

    @property
    def zone(self) -> ZoneInfo:
        """The brand's timezone, for calendar questions (birthday month, end of year)."""
        return ZoneInfo(self.timezone)

    def expires_at(self, earned_at: datetime) -> datetime | None:
        """When points earned at ``earned_at`` expire under this programme; None: never."""
        if self.expiry_policy == "days_after_earning":
            return earned_at + timedelta(days=self.expiry_days)
        if self.expiry_policy == "end_of_following_year":
            local = earned_at.astimezone(self.zone)
            return datetime(local.year + 2, 1, 1, tzinfo=self.zone).astimezone(UTC)
        return None

    # --- tiers -------------------------------------------------------------------------------------------

    def tier_named(self, name: str) -> Tier | None:
        """The tier called ``name``, if the programme has it."""
        return next((t for t in self.tiers if t.name == name), None)

    def tier_for(self, growth_value: int) -> str:
        """Name of the highest tier ``growth_value`` reaches; "" when it reaches none."""
        reached = [t for t in self.tiers if growth_value >= t.min_growth]
        return max(reached, key=lambda t: t.min_growth).name if reached else ""

    def tier_rank(self, name: str) -> int:
        """0 for no tier, 1 for the lowest tier, ...; a tier the programme no longer has ranks 0."""
        for i, tier in enumerate(sorted(self.tiers, key=lambda t: t.min_growth)):
            if tier.name == name:
                return i + 1
        return 0

    def higher_tier(self, a: str, b: str) -> str:
        """The higher-ranked of two tier names."""
        return a if self.tier_rank(a) >= self.tier_rank(b) else b

    # --- wallet ------------------------------------------------------------------------------------------

    def wallet_bonus(self, amount_fen: int) -> int:
        """Bonus for a top-up of ``amount_fen``: the best bonus tier it reaches."""
        reached = [b.bonus_fen for b in self.wallet_bonuses if amount_fen >= b.min_fen]
        return max(reached, default=0)

    # --- (de)serialisation -------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The programme as the JSON document the API shows and stores."""
        return {
            "earn": {
                "points_per_yuan": _num(self.points_per_yuan),
                "min_spend_fen": self.min_spend_fen,
                "max_points_per_order": self.max_points_per_order,
                "category_multipliers": {k: _num(v) for k, v in self.category_multipliers.items()},
                "sku_multipliers": {k: _num(v) for k, v in self.sku_multipliers.items()},
                "promotions": [
                    {
                        "starts_at": p.starts_at.isoformat(),
                        "ends_at": p.ends_at.isoformat(),
                        "multiplier": _num(p.multiplier),
                        "store_ids": sorted(p.store_ids),
                    }
                    for p in self.promotions
                ],
                "birthday_month_multiplier": _num(self.birthday_month_multiplier),
                "action_points": dict(self.action_points),
            },
            "tiers": [
                {
                    "name": t.name,
                    "min_growth": t.min_growth,
                    "points_multiplier": _num(t.points_multiplier),
                    "discount_rate": _num(t.discount_rate),
                    "birthday_coupon_template_id": t.birthday_coupon_template_id or None,
                }
                for t in self.tiers
            ],
            "tier_period_days": self.tier_period_days,
            "expiry": {"policy": self.expiry_policy, "days": self.expiry_days or None},
            "timezone": self.timezone,
            "wallet_bonuses": [{"min_fen": b.min_fen, "bonus_fen": b.bonus_fen} for b in self.wallet_bonuses],
        }


DEFAULT_PROGRAM = Program()


def _num(value: Fraction) -> int | float:
    return int(value) if value.denominator == 1 else float(value)


# --- parsing ----------------------------------------------------------------------------------------------


def _fail(field_name: str, message: str) -> InvalidArgument:
    return InvalidArgument(message, reason="INVALID_PROGRAM", field=field_name)


def _obj(doc: Any, name: str) -> Mapping[str, Any]:
    if doc is None:
        return {}
    if not isinstance(doc, Mapping):
        raise _fail(name, "must be an object")
    return doc


def _ratio(value: Any, name: str, *, allow_zero: bool = True, maximum: int = 100) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _fail(name, "must be a number")
    try:
        result = Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        raise _fail(name, "must be a number") from None
    if result < 0 or (result == 0 and not allow_zero) or result > maximum:
        raise _fail(name, f"must be between 0 and {maximum}" + ("" if allow_zero else " (exclusive of 0)"))
    return result


def _int(value: Any, name: str, *, minimum: int = 0, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(name, "must be an integer")
    if value < minimum:
        raise _fail(name, f"must be at least {minimum}")
    return value


def _time(value: Any, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise _fail(name, "must be an RFC 3339 time") from None
    if parsed.tzinfo is None:
        raise _fail(name, "must carry a UTC offset")
    return parsed.astimezone(UTC)


def parse_program(doc: Any, version: int = 0) -> Program:
    """A ``Program`` from its JSON document; ``InvalidArgument`` (reason INVALID_PROGRAM) names the field.

    Omitted sections keep the default programme's values, so ``{}`` is the default programme.
    """
    doc = _obj(doc, "program")
    known = {"earn", "tiers", "tier_period_days", "expiry", "timezone", "wallet_bonuses"}
    for key in doc:
        if key not in known:
            raise _fail(key, "unknown field")
    earn = _obj(doc.get("earn"), "earn")
    promotions = []
    for i, p in enumerate(earn.get("promotions") or []):
        p = _obj(p, f"earn.promotions[{i}]")
        starts, ends = (
            _time(p.get("starts_at"), f"earn.promotions[{i}].starts_at"),
            _time(p.get("ends_at"), f"earn.promotions[{i}].ends_at"),
        )
        if ends <= starts:
            raise _fail(f"earn.promotions[{i}].ends_at", "must be after starts_at")
        promotions.append(
            Promotion(
                starts,
                ends,
                _ratio(p.get("multiplier", 2), f"earn.promotions[{i}].multiplier"),
                frozenset(str(s) for s in p.get("store_ids") or []),
            )
        )
    actions = {}
    for action, points in _obj(earn.get("action_points"), "earn.action_points").items():
        if action not in ACTIONS:
            raise _fail(f"earn.action_points.{action}", f"unknown action (one of {', '.join(ACTIONS)})")
        actions[action] = _int(points, f"earn.action_points.{action}") or 0
    tiers = []
    for i, t in enumerate(doc.get("tiers") or []):
        t = _obj(t, f"tiers[{i}]")
        name = t.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 32:
            raise _fail(f"tiers[{i}].name", "must be a name of 1 to 32 characters")
        tiers.append(
            Tier(
                name=name.strip(),
                min_growth=_int(t.get("min_growth"), f"tiers[{i}].min_growth") or 0,
                points_multiplier=_ratio(t.get("points_multiplier", 1), f"tiers[{i}].points_multiplier"),
                discount_rate=_ratio(t.get("discount_rate", 0), f"tiers[{i}].discount_rate", maximum=1),
                birthday_coupon_template_id=str(t.get("birthday_coupon_template_id") or ""),
            )
        )
    if len({t.name for t in tiers}) != len(tiers):
        raise _fail("tiers", "tier names must be unique")
    if len({t.min_growth for t in tiers}) != len(tiers):
        raise _fail("tiers", "tier thresholds must be distinct")
    expiry = _obj(doc.get("expiry"), "expiry")
    policy = expiry.get("policy", "never")
    if policy not in EXPIRY_POLICIES:
        raise _fail("expiry.policy", f"must be one of {', '.join(EXPIRY_POLICIES)}")
    days = 0
    if policy == "days_after_earning":
        days = _int(expiry.get("days"), "expiry.days", minimum=1) or 0
    timezone = doc.get("timezone") or "Asia/Shanghai"
    try:
        ZoneInfo(str(timezone))
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail("timezone", "not an IANA time zone name") from None
    bonuses = []
    for i, b in enumerate(doc.get("wallet_bonuses") or []):
        b = _obj(b, f"wallet_bonuses[{i}]")
        bonuses.append(
            WalletBonus(
                _int(b.get("min_fen"), f"wallet_bonuses[{i}].min_fen", minimum=1) or 1,
                _int(b.get("bonus_fen"), f"wallet_bonuses[{i}].bonus_fen") or 0,
            )
        )
    return Program(
        points_per_yuan=_ratio(earn.get("points_per_yuan", 1), "earn.points_per_yuan"),
        min_spend_fen=_int(earn.get("min_spend_fen", 0), "earn.min_spend_fen") or 0,
        max_points_per_order=_int(earn.get("max_points_per_order"), "earn.max_points_per_order", optional=True),
        category_multipliers={
            str(k): _ratio(v, f"earn.category_multipliers.{k}")
            for k, v in _obj(earn.get("category_multipliers"), "earn.category_multipliers").items()
        },
        sku_multipliers={
            str(k): _ratio(v, f"earn.sku_multipliers.{k}")
            for k, v in _obj(earn.get("sku_multipliers"), "earn.sku_multipliers").items()
        },
        promotions=tuple(promotions),
        birthday_month_multiplier=_ratio(earn.get("birthday_month_multiplier", 1), "earn.birthday_month_multiplier"),
        action_points=actions,
        tiers=tuple(sorted(tiers, key=lambda t: t.min_growth)),
        tier_period_days=_int(doc.get("tier_period_days"), "tier_period_days", minimum=1, optional=True),
        expiry_policy=policy,
        expiry_days=days,
        timezone=str(timezone),
        wallet_bonuses=tuple(sorted(bonuses, key=lambda b: b.min_fen)),
        version=version,
    )
