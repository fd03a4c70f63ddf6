"""Unit tests of the BG/NBD maths, including the published CDNOW fit (Fader, Hardie & Lee 2005)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from reporting.domain import bgnbd

SAMPLE = Path(__file__).parent / "data" / "CDNOW_sample.txt"
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_LL = -9582.4


def _sample_purchase_days() -> list[tuple[str, date]]:
    rows = []
    for line in SAMPLE.read_text().splitlines():
        _, customer, day, _, _ = line.split()
        rows.append((customer, date(int(day[:4]), int(day[4:6]), int(day[6:]))))
    return rows


@pytest.fixture(scope="module")
def cdnow() -> bgnbd.Summary:
    _, summary = bgnbd.summarise(_sample_purchase_days(), date(1997, 9, 30))
    return summary


def test_cdnow_sample_fit_matches_the_published_parameters(cdnow: bgnbd.Summary) -> None:
    params = bgnbd.fit(cdnow)
    assert params.customers == 2357
    for name, published in PUBLISHED.items():
        assert getattr(params, name) == pytest.approx(published, rel=0.01), name
    assert params.log_likelihood == pytest.approx(PUBLISHED_LL, abs=0.5)


def test_summary_counts_purchase_days_not_transactions() -> None:
    days = [("c", date(2024, 1, 1)), ("c", date(2024, 1, 1)), ("c", date(2024, 1, 8)), ("c", date(2024, 3, 1)),
            ("d", date(2024, 1, 15))]
    ids, s = bgnbd.summarise(days, date(2024, 1, 29))
    assert ids == ["c", "d"]
    # c: first 01-01, a repeat on 01-08 (01-01 twice is one day; 03-01 is after the end); age 4 weeks.
    assert (s.x.tolist(), s.t_x.tolist(), s.T.tolist()) == ([1.0, 0.0], [1.0, 0.0], [4.0, 2.0])


def test_no_repeat_customer_is_certainly_alive_and_likelihood_matches_closed_form() -> None:
    p = bgnbd.Params(0.5, 2.0, 0.8, 2.5, 0.0, 1)
    x, t_x, age = np.array([0.0]), np.array([0.0]), np.array([10.0])
    assert bgnbd.p_alive(p, x, t_x, age)[0] == 1.0
    # x = 0: L = (α/(α+T))^r exactly.
    s = bgnbd.Summary(x, t_x, age)
    assert bgnbd.log_likelihood(p.r, p.alpha, p.a, p.b, s) == pytest.approx(0.5 * np.log(2 / 12))


def test_recent_heavy_buyer_is_more_alive_than_a_lapsed_one() -> None:
    p = bgnbd.Params(0.243, 4.414, 0.793, 2.426, 0.0, 2)
    x, age = np.array([5.0, 5.0]), np.array([39.0, 39.0])
    alive = bgnbd.p_alive(p, x, np.array([38.0, 5.0]), age)
    assert alive[0] > 0.8 > 0.3 > alive[1]
    expected = bgnbd.expected_purchases(p, 13.0, x, np.array([38.0, 5.0]), age)
    assert expected[0] > expected[1] > 0


def test_expected_purchases_over_zero_time_is_zero_and_grows_with_time() -> None:
    p = bgnbd.Params(0.243, 4.414, 0.793, 2.426, 0.0, 1)
    x, t_x, age = np.array([2.0]), np.array([20.0]), np.array([30.0])
    assert bgnbd.expected_purchases(p, 0.0, x, t_x, age)[0] == pytest.approx(0.0, abs=1e-12)
    assert bgnbd.expected_purchases(p, 52.0, x, t_x, age)[0] > bgnbd.expected_purchases(p, 13.0, x, t_x, age)[0]
    # A customer observed for no time at all is a new customer: eq. 10 reduces to eq. 9.
    zero = np.array([0.0])
    new = bgnbd.expected_purchases_new(p, 39.0)
    assert bgnbd.expected_purchases(p, 39.0, zero, zero, zero)[0] == pytest.approx(new)


def test_fit_recovers_the_parameters_of_simulated_customers() -> None:
    """Simulate the model's own story (FHL 2005 §2) and check maximum likelihood finds the truth again."""
    rng = np.random.default_rng(7)
    r, alpha, a, b = 0.8, 5.0, 0.6, 3.0
    n, horizon = 6000, 52.0
    x, t_x = np.zeros(n), np.zeros(n)
    for i in range(n):
        rate, p_drop = rng.gamma(r, 1 / alpha), rng.beta(a, b)
        t = 0.0
        while True:
            t += rng.exponential(1 / rate)
            if t > horizon:
                break
            x[i], t_x[i] = x[i] + 1, t
            if rng.random() < p_drop:  # becomes inactive right after this purchase
                break
    fitted = bgnbd.fit(bgnbd.Summary(x, t_x, np.full(n, horizon)))
    for got, truth in zip((fitted.r, fitted.alpha, fitted.a, fitted.b), (r, alpha, a, b), strict=True):
        assert got == pytest.approx(truth, rel=0.25)
