"""Points arithmetic with no I/O: FIFO lot consumption, debt, proportional refund reversal, tier moves.

Invariants the repository relies on (and ``reconcile`` checks): for every account,
``balance = sum(ledger.delta) = sum(lot.remaining)`` and ``debt = sum(ledger.debt_delta)``, with
``balance >= 0`` and ``debt >= 0`` always.

Refund policy (the "balance may owe points" question): a refund reverses its proportional share of the
points the order earned. The share is taken from the balance (the order's own lot first, then oldest
lots); whatever the balance cannot cover is recorded as *debt*, never as a negative balance. Future
earnings pay the debt off first, before anything reaches the balance. Points of the order that already
expired are not reversed a second time: the member lost them once already.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crm_common.errors import Conflict


@dataclass(frozen=True)
class Lot:
    """A live lot: ``remaining`` points of lot ``id`` (ordered oldest first by the caller)."""

    id: int
    remaining: int


def consume_fifo(lots: Sequence[Lot], points: int) -> list[tuple[int, int]]:
    """``[(lot_id, taken), ...]`` taking ``points`` from ``lots`` in the order given (oldest first).

    Raises ``Conflict`` (INSUFFICIENT_POINTS) when the lots hold fewer than ``points``.
    """
    if points < 0:
        raise ValueError("points must not be negative")
    taken: list[tuple[int, int]] = []
    left = points
    for lot in lots:
        if left == 0:
            break
        take = min(lot.remaining, left)
        if take > 0:
            taken.append((lot.id, take))
            left -= take
    if left:
        raise Conflict("not enough points", reason="INSUFFICIENT_POINTS", field="points")
    return taken


@dataclass(frozen=True)
class Credit:
    """How an earning lands: first on the debt, the rest on the balance (as a new lot)."""

    to_debt: int
    to_balance: int


def credit(points: int, debt: int) -> Credit:
    """Split ``points`` earned between paying off ``debt`` and the balance."""
    to_debt = min(points, debt)
    return Credit(to_debt=to_debt, to_balance=points - to_debt)


@dataclass(frozen=True)
class Reversal:
    """What one refund takes back."""

    points: int
    """Points reversed in total (= from_balance + to_debt)."""
    growth: int
    from_balance: int
    to_debt: int
    excused: int
    """Points of the share that had already expired, so are not taken again."""


def proportional_share(earned: int, refunded_before_fen: int, refunded_now_fen: int, total_fen: int) -> int:
    """Points (or growth) this refund reverses: the cumulative share minus what earlier refunds reversed.

    Computed on cumulative amounts so that many partial refunds add up to exactly ``earned`` when the
    whole order is refunded (no rounding drift); each share rounds down.
    """
    if total_fen == 0:
        # A zero-value order: the only refund there is, is the whole order.
        return earned if refunded_before_fen == 0 else 0
    before = earned * refunded_before_fen // total_fen
    after = earned * (refunded_before_fen + refunded_now_fen) // total_fen
    return after - before


def reverse(
    *,
    earned_points: int,
    earned_growth: int,
    refunded_before_fen: int,
    refund_fen: int,
    total_fen: int,
    balance: int,
    expired_unexcused: int,
) -> Reversal:
    """The reversal of a refund of ``refund_fen`` out of an order of ``total_fen``.

    ``expired_unexcused`` is how many of the order's points expired and were not yet excused by an
    earlier refund; they reduce what this refund takes.
    """
    share = proportional_share(earned_points, refunded_before_fen, refund_fen, total_fen)
    growth = proportional_share(earned_growth, refunded_before_fen, refund_fen, total_fen)
    excused = min(share, expired_unexcused)
    due = share - excused
    from_balance = min(due, balance)
    return Reversal(points=due, growth=growth, from_balance=from_balance, to_debt=due - from_balance, excused=excused)


def check_refund(total_fen: int, refunded_fen: int, amount_fen: int) -> None:
    """Refunds can never exceed the order: raise ``Conflict`` (REFUND_EXCEEDS_ORDER) otherwise."""
    if amount_fen < 0:
        raise ValueError("amount must not be negative")
    if refunded_fen + amount_fen > total_fen:
        raise Conflict(
            "the refund exceeds what is left of the order",
            reason="REFUND_EXCEEDS_ORDER",
            field="amount_fen",
            details={"refundable_fen": total_fen - refunded_fen},
        )


# --- tiers ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TierState:
    """``tier`` is what the member has now; ``floor`` is the tier kept until the next review."""

    tier: str
    floor: str


def ranked(tiers: Sequence[str], name: str) -> int:
    """Rank of ``name`` among ``tiers`` (lowest first); 0 for no tier."""
    return tiers.index(name) + 1 if name in tiers else 0


def tier_after_growth(tiers: Sequence[str], state: TierState, reached: str) -> TierState:
    """Upgrade immediately: the tier becomes ``reached`` if that is higher; never lower here."""
    if ranked(tiers, reached) > ranked(tiers, state.tier):
        return TierState(tier=reached, floor=state.floor)
    return state


def tier_after_refund(tiers: Sequence[str], state: TierState, reached: str) -> TierState:
    """A refund takes back tier progress: the tier drops to what qualifying growth still reaches, but
    never below the floor kept at the last review (that tier was earned in an earlier period)."""
    best = reached if ranked(tiers, reached) >= ranked(tiers, state.floor) else state.floor
    return TierState(tier=best, floor=state.floor)


def tier_at_review(reached: str) -> TierState:
    """End of the rolling period: the tier is what the period's growth reached, and becomes the floor."""
    return TierState(tier=reached, floor=reached)


# --- wallet -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WalletSplit:
    """How much of an amount comes from (or goes back to) principal and bonus."""

    principal_fen: int
    bonus_fen: int


def split_payment(amount_fen: int, principal_fen: int, bonus_fen: int) -> WalletSplit:
    """A payment takes principal and bonus in proportion to the wallet's current holdings.

    Proportional (rather than principal first) keeps the bonus from outliving the money that earned it,
    and makes refunds of a payment simple: they return the payment's own proportions. Raises ``Conflict``
    (INSUFFICIENT_FUNDS) when the wallet holds less than ``amount_fen``.
    """
    total = principal_fen + bonus_fen
    if amount_fen > total:
        raise Conflict("the wallet holds less than the amount", reason="INSUFFICIENT_FUNDS", field="amount_fen")
    if amount_fen == 0 or total == 0:
        return WalletSplit(0, 0)
    principal = (amount_fen * principal_fen + total // 2) // total  # rounded to the nearest fen
    principal = max(amount_fen - bonus_fen, min(principal, principal_fen))
    return WalletSplit(principal_fen=principal, bonus_fen=amount_fen - principal)


def split_refund(paid: WalletSplit, refunded_before_fen: int, amount_fen: int) -> WalletSplit:
    """A refund of ``amount_fen`` of a payment goes back in the payment's own proportions (cumulatively,
    so all partial refunds together return exactly what was paid). Raises ``Conflict`` when it exceeds
    what is left of the payment."""
    paid_total = paid.principal_fen + paid.bonus_fen
    if refunded_before_fen + amount_fen > paid_total:
        raise Conflict(
            "the refund exceeds what is left of the payment",
            reason="REFUND_EXCEEDS_PAYMENT",
            field="amount_fen",
            details={"refundable_fen": paid_total - refunded_before_fen},
        )
    principal = proportional_share(paid.principal_fen, refunded_before_fen, amount_fen, paid_total)
    return WalletSplit(principal_fen=principal, bonus_fen=amount_fen - principal)
