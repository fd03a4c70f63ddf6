"""The BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way").

Pure maths, no I/O: per-customer summaries (x repeat purchases, t_x recency, T age, all in weeks from the
customer's first purchase) → maximum-likelihood parameters (r, α, a, b) → P(alive) and expected purchases.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1

DAYS_PER_WEEK = 7.0


@dataclass(frozen=True)
class Summary:
    """Calibration-period summaries as arrays: x (repeat purchase days), t_x and T in weeks."""

    x: NDArray[np.float64]
    t_x: NDArray[np.float64]
    T: NDArray[np.float64]

    @property
    def customers(self) -> int:
        """How many customers the summary covers."""
        return int(self.x.size)


@dataclass(frozen=True)
class Params:
    """Fitted BG/NBD parameters and the log-likelihood at them."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    customers: int


def summarise(purchase_days: Iterable[tuple[str, date]], calibration_end: date) -> tuple[list[str], Summary]:
    """(customer, purchase day) pairs → customer ids and their summary as of ``calibration_end``.

    Several purchases on one day count as one purchase occasion (the customer-base analysis convention),
    so x is the number of distinct purchase days after the first; days after the calibration end are
    ignored, and so are customers whose first purchase falls after it.
    """
    days: dict[str, set[date]] = {}
    for customer, day in purchase_days:
        if day <= calibration_end:
            days.setdefault(customer, set()).add(day)
    ids = sorted(days)
    x = np.empty(len(ids))
    t_x = np.empty(len(ids))
    age = np.empty(len(ids))
    for i, customer in enumerate(ids):
        first, last = min(days[customer]), max(days[customer])
        x[i] = len(days[customer]) - 1
        t_x[i] = (last - first).days / DAYS_PER_WEEK
        age[i] = (calibration_end - first).days / DAYS_PER_WEEK
    return ids, Summary(x, t_x, age)


def log_likelihood_terms(r: float, alpha: float, a: float, b: float, s: Summary) -> NDArray[np.float64]:
    """Each customer's log-likelihood (FHL 2005, eq. 6), in logs throughout so large x cannot overflow."""
    x, t_x, age = s.x, s.t_x, s.T
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + age)
    repeat = x > 0
    # For x = 0 the second term vanishes; give it -inf so logaddexp returns a3 exactly.
    a4 = np.full_like(x, -np.inf)
    xr = x[repeat]
    a4[repeat] = np.log(a) - np.log(b + xr - 1) - (r + xr) * np.log(alpha + t_x[repeat])
    return np.asarray(a1 + a2 + np.logaddexp(a3, a4))


def log_likelihood(r: float, alpha: float, a: float, b: float, s: Summary) -> float:
    """Total log-likelihood of the summary under (r, α, a, b)."""
    return float(np.sum(log_likelihood_terms(r, alpha, a, b, s)))


def fit(s: Summary, *, initial: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)) -> Params:
    """Maximum-likelihood fit. Parameters are optimised as logs so they stay positive without bounds."""
    if s.customers == 0:
        raise ValueError("no customers to fit")

    def negative(theta: NDArray[np.float64]) -> float:
        r, alpha, a, b = np.exp(theta)
        value = -log_likelihood(r, alpha, a, b, s)
        return value if np.isfinite(value) else 1e300

    start = np.log(np.asarray(initial, dtype=float))
    result = minimize(negative, start, method="Nelder-Mead", options={"xatol": 1e-7, "fatol": 1e-7, "maxiter": 20000})
    # A quasi-Newton polish from the simplex's answer gets the last digits cheaply.
    polished = minimize(negative, result.x, method="L-BFGS-B")
    best = polished if polished.fun <= result.fun else result
    r, alpha, a, b = (float(v) for v in np.exp(best.x))
    return Params(r, alpha, a, b, -float(best.fun), s.customers)


def _odds_dead(p: Params, x: NDArray[np.float64], t_x: NDArray[np.float64], age: NDArray[np.float64]) -> NDArray:
    # a/(b+x-1) · ((α+T)/(α+t_x))^(r+x) for repeat buyers; a customer without repeats cannot have died
    # unobserved after a repeat, so the term is 0.
    odds = np.zeros_like(x)
    repeat = x > 0
    xr = x[repeat]
    odds[repeat] = (p.a / (p.b + xr - 1)) * np.exp(
        (p.r + xr) * (np.log(p.alpha + age[repeat]) - np.log(p.alpha + t_x[repeat]))
    )
    return odds


def p_alive(p: Params, x: NDArray[np.float64], t_x: NDArray[np.float64], age: NDArray[np.float64]) -> NDArray:
    """P(a customer with history (x, t_x, T) is still alive) (FHL 2005, eq. 11)."""
    return 1.0 / (1.0 + _odds_dead(p, x, t_x, age))


def expected_purchases(
    p: Params, t: float, x: NDArray[np.float64], t_x: NDArray[np.float64], age: NDArray[np.float64]
) -> NDArray:
    """E[purchases in the next t weeks | x, t_x, T] (FHL 2005, eq. 10)."""
    z = t / (p.alpha + age + t)
    head = (p.a + p.b + x - 1) / (p.a - 1)
    tail = 1.0 - np.power((p.alpha + age) / (p.alpha + age + t), p.r + x) * hyp2f1(
        p.r + x, p.b + x, p.a + p.b + x - 1, z
    )
    return np.asarray(head * tail / (1.0 + _odds_dead(p, x, t_x, age)))


def expected_purchases_new(p: Params, t: float) -> float:
    """E[X(t)] of a newly acquired customer (FHL 2005, eq. 9)."""
    z = t / (p.alpha + t)
    head = (p.a + p.b - 1) / (p.a - 1)
    return float(head * (1.0 - np.power(p.alpha / (p.alpha + t), p.r) * hyp2f1(p.r, p.b, p.a + p.b - 1, z)))
