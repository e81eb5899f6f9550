"""Lifetime value: the Gamma-Gamma spend model (likelihood, recovery, FHL's published
CDNOW fit, the `lifetimes` package's numbers) and the CLV built on it.

Recovery tolerance as for BG/NBD (test_lifecycle_model): each estimate within 3
standard errors (from the numerical Hessian on the log scale) of the truth, and
those errors under 20 % so the test proves the fit finds the parameters.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate

from services.lifecycle.domain import bgnbd, gamma_gamma, value
from services.lifecycle.domain.gamma_gamma import Params, Spends
from tests.bgnbd_simulation import simulate_spends

DATA = Path(__file__).parent.parent / "data"
TRUE = Params(p=6.25, q=3.74, v=15.44)  # FHL 2005's CDNOW fit, in dollars
CDNOW_BUYING = bgnbd.Params(r=0.243, alpha=4.414, a=0.793, b=2.426)  # FHL's BG/NBD, weeks


def _rows(name: str) -> list[dict[str, float]]:
    with open(DATA / name) as f:
        return [
            {k: float(v) for k, v in row.items()}
            for row in csv.DictReader(line for line in f if not line.startswith("#"))
        ]


def _log_params_hessian(params: Params, data: Spends, step: float = 1e-3) -> np.ndarray:
    theta = np.log([params.p, params.q, params.v])

    def ll(t: np.ndarray) -> float:
        return float(np.sum(gamma_gamma.log_likelihood(Params(*np.exp(t)), data)))

    hessian = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            e_i, e_j = np.eye(3)[i] * step, np.eye(3)[j] * step
            hessian[i, j] = (
                ll(theta + e_i + e_j)
                - ll(theta + e_i - e_j)
                - ll(theta - e_i + e_j)
                + ll(theta - e_i - e_j)
            ) / (4 * step * step)
    return hessian


def test_the_likelihood_matches_the_model_integrated_numerically():
    """The density of a mean of x Gamma(p, ν) spends, Gamma(px, xν), integrated over
    ν ~ Gamma(q, v), against the closed form."""
    params, x, m = Params(p=3.0, q=4.0, v=20.0), 3, 7.5

    def density(nu: float) -> float:
        given_nu = math.exp(
            params.p * x * math.log(x * nu)
            + (params.p * x - 1) * math.log(m)
            - x * nu * m
            - math.lgamma(params.p * x)
        )
        prior = math.exp(
            params.q * math.log(params.v)
            + (params.q - 1) * math.log(nu)
            - params.v * nu
            - math.lgamma(params.q)
        )
        return given_nu * prior

    integrated, _ = integrate.quad(density, 0, np.inf, limit=200)
    closed = gamma_gamma.log_likelihood(params, Spends(np.array([x]), np.array([m])))[0]
    assert math.log(integrated) == pytest.approx(closed, abs=1e-8)


def test_the_fit_recovers_the_parameters_of_simulated_spends():
    data = simulate_spends(TRUE, 4000, np.random.default_rng(2005))

    fitted = gamma_gamma.fit(data)

    errors = np.sqrt(np.diag(np.linalg.inv(-_log_params_hessian(fitted.params, data))))
    for name, se in zip("pqv", errors, strict=True):
        estimate, truth = getattr(fitted.params, name), getattr(TRUE, name)
        assert se < 0.2, f"{name}: standard error {se:.2f} too wide to prove anything"
        assert abs(math.log(estimate / truth)) < 3 * se, f"{name}: {estimate:.3f} vs {truth}"


def test_the_fit_finds_fhl_published_parameters_on_the_cdnow_data():
    data = gamma_gamma.spends((r["x"], r["m"]) for r in _rows("cdnow_repeat_spend.csv"))

    fitted = gamma_gamma.fit(data)

    assert fitted.customers == 946
    for name in "pqv":  # published to two decimals
        assert getattr(fitted.params, name) == pytest.approx(getattr(TRUE, name), abs=0.01)


def test_the_fit_and_clv_match_the_lifetimes_package_on_simulated_customers():
    rows = _rows("lifetimes_reference.csv")
    header = (DATA / "lifetimes_reference.csv").read_text().splitlines()[0]
    theirs = {k: float(v) for k, v in re.findall(r"(\w)=([\d.]+)", header)}
    repeat = [(r["frequency"], r["monetary_value"]) for r in rows]

    ours = gamma_gamma.fit(gamma_gamma.spends(repeat)).params

    for name in "pqv":
        assert getattr(ours, name) == pytest.approx(theirs[name], rel=1e-4)
    spending = Params(**theirs)
    buying = bgnbd.Params(r=0.243, alpha=30.9, a=0.793, b=2.426)
    histories = [
        value.History(
            x=r["frequency"],
            T=r["T"],
            # lifetimes' P(alive) is FHL's: 1 for a customer with no repeat purchase
            p_alive=bgnbd.p_alive(buying, r["frequency"], r["recency"], r["T"])
            if r["frequency"]
            else 1.0,
            spend=value.Spend(
                "USD", None, int(r["frequency"]), r["frequency"] * r["monetary_value"]
            ),
        )
        for r in rows
    ]
    worths = value.worth(buying, "day", spending, histories, 12, 0.01, month_days=30.0)
    for row, worth in zip(rows, worths, strict=True):
        assert worth.expected_purchases == pytest.approx(row["expected_purchases"], rel=1e-6)
        assert worth.expected_spend_minor == pytest.approx(row["expected_spend"], rel=1e-6)
        assert worth.clv_minor == pytest.approx(row["clv"], abs=1)


def test_expected_purchases_match_fhl_published_example():
    """FHL 2005 ("Counting your customers the easy way"): x = 2, t_x = 30.43, T = 38.86
    weeks expects 1.226 purchases in the next 39 weeks."""
    alive = bgnbd.p_alive(CDNOW_BUYING, 2, 30.43, 38.86)
    if_alive = bgnbd.expected_purchases_if_alive(CDNOW_BUYING, [2.0], [38.86], [39.0])[0, 0]
    assert alive * if_alive == pytest.approx(1.226, abs=5e-4)


def test_clv_of_a_hand_computed_case():
    """Three 'months' of 13 weeks hold FHL's 39 weeks (1.226 purchases); spend from FHL's
    CDNOW Gamma-Gamma for 2 repeats averaging $50.00: 6.25 × (15.44 + 100) / (12.5 + 2.74)
    = $47.34; undiscounted CLV = 1.226 × 4734 cents = 5804 cents."""
    spending = Params(p=6.25, q=3.74, v=1544.0)  # in cents
    history = value.History(
        x=2,
        T=38.86,
        p_alive=bgnbd.p_alive(CDNOW_BUYING, 2, 30.43, 38.86),
        spend=value.Spend("USD", 4000, 2, 10_000),
    )

    (flat,) = value.worth(CDNOW_BUYING, "week", spending, [history], 3, 0.0, month_days=91.0)
    (discounted,) = value.worth(CDNOW_BUYING, "week", spending, [history], 3, 0.1, 91.0)

    assert flat.expected_spend_minor == pytest.approx(4734, abs=1)
    assert flat.expected_purchases == pytest.approx(1.226, abs=5e-4)
    assert flat.clv_minor == pytest.approx(5804, abs=2)
    assert discounted.clv_minor < flat.clv_minor / 1.1  # every month discounted at least once


def test_a_customer_without_repeat_spend_is_worth_the_population_mean_spend():
    spending = Params(p=6.25, q=3.74, v=1544.0)
    spend = gamma_gamma.expected_spend(spending, np.array([0.0]), np.array([0.0]))[0]
    assert spend == pytest.approx(spending.mean_spend)


def test_value_at_risk_ranks_the_valuable_and_doubtful_first():
    customers = {
        "safe-rich": (100_000, 0.95),
        "doubtful-rich": (100_000, 0.2),
        "doubtful-poor": (1_000, 0.05),
    }
    at_risk = {name: value.value_at_risk(clv, alive) for name, (clv, alive) in customers.items()}
    assert sorted(at_risk, key=at_risk.__getitem__, reverse=True) == [
        "doubtful-rich",
        "safe-rich",
        "doubtful-poor",
    ]
    assert at_risk["doubtful-rich"] == 80_000


def test_value_classes_cut_the_population_at_the_configured_shares():
    from services.lifecycle.domain.config import Value

    config = Value()
    clvs = sorted(range(0, 1000, 10), reverse=True)  # 100 customers, one of them worth 0
    cut = value.cutoffs(config, [clvs[r] for r in value.cutoff_ranks(len(clvs), config)])
    classes = [cut.classify(c) for c in clvs]
    assert classes.count("A") == 20 and classes.count("B") == 30 and classes.count("C") == 50
    assert cut.classify(0) == "C"


def test_value_classes_are_configurable_and_a_bad_cut_is_refused():
    from services.lifecycle.domain.config import Value

    gold = Value.model_validate(
        {"classes": [{"name": "gold", "share": 0.1}, {"name": "rest"}], "horizon_months": 24}
    )
    clvs = list(range(1000, 0, -10))  # 100 customers
    cut = value.cutoffs(gold, [clvs[r] for r in value.cutoff_ranks(len(clvs), gold)])
    assert [cut.classify(c) for c in clvs].count("gold") == 10
    for bad, says in [
        ({"classes": [{"name": "A", "share": 0.6}, {"name": "B", "share": 0.5}, {"name": "C"}]},
         "add up to less than 1"),
        ({"classes": [{"name": "A", "share": 0.2}, {"name": "B", "share": 0.3}]}, "the last"),
        ({"classes": [{"name": "A", "share": 0.2}, {"name": "A"}]}, "must differ"),
    ]:  # fmt: skip
        with pytest.raises(ValueError, match=says):
            Value.model_validate(bad)
