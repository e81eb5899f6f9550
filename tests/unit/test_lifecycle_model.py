"""The BG/NBD churn model: the closed form, the fit on simulated histories, P(alive).

Recovery tolerance: a maximum-likelihood estimate is asymptotically normal with
the inverse observed information as covariance. We take each parameter's
standard error (on the log scale, where the optimiser works) from the numerical
Hessian of the log-likelihood at the optimum and require the estimate within 3
standard errors of the truth — wrong by chance in about 1 run in 100 per
parameter for a correct fit, and the sample is seeded, so the test is
deterministic. The standard errors must also be small (under 20 %), so the test
proves the fit finds the parameters rather than merely tolerating anything.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import numpy as np
import pytest
from scipy import integrate

from services.lifecycle.domain.bgnbd import (
    NotEnoughData,
    Params,
    Summary,
    fit,
    log_likelihood,
    p_alive,
    summarise,
)
from tests.bgnbd_simulation import simulate

TRUE = Params(r=0.243, alpha=4.414, a=0.793, b=2.426)  # FHL 2005's CDNOW, in weeks
CUSTOMERS, WEEKS = 5000, 52.0


def _log_params_hessian(params: Params, data: Summary, step: float = 1e-3) -> np.ndarray:
    theta = np.log(list(params.as_dict().values()))

    def ll(t: np.ndarray) -> float:
        return float(np.sum(log_likelihood(Params(*np.exp(t)), data)))

    hessian = np.zeros((4, 4))
    for i in range(4):
        for j in range(4):
            e_i, e_j = np.eye(4)[i] * step, np.eye(4)[j] * step
            hessian[i, j] = (
                ll(theta + e_i + e_j)
                - ll(theta + e_i - e_j)
                - ll(theta - e_i + e_j)
                + ll(theta - e_i - e_j)
            ) / (4 * step * step)
    return hessian


def _beta(a: float, b: float) -> float:
    return math.gamma(a) * math.gamma(b) / math.gamma(a + b)


def test_the_fit_recovers_the_parameters_of_a_simulated_population():
    data = simulate(TRUE, CUSTOMERS, WEEKS, np.random.default_rng(20051))

    fitted = fit(data)

    standard_errors = np.sqrt(np.diag(np.linalg.inv(-_log_params_hessian(fitted.params, data))))
    for (name, estimate), truth, se in zip(
        fitted.params.as_dict().items(), TRUE.as_dict().values(), standard_errors, strict=True
    ):
        assert se < 0.2, f"{name}: standard error {se:.2f} too wide to prove anything"
        assert abs(math.log(estimate / truth)) < 3 * se, f"{name}: {estimate:.3f} vs {truth}"
    assert fitted.customers == CUSTOMERS


def test_the_log_likelihood_matches_the_model_integrated_numerically():
    """Equation 6 against the individual likelihood integrated over λ ~ Gamma, p ~ Beta."""
    params = Params(r=1.5, alpha=3.0, a=2.0, b=3.0)
    x, t_x, T = 2, 3.0, 5.0

    def density(p: float, lam: float) -> float:
        individual = (1 - p) ** x * lam**x * math.exp(-lam * T) + (
            p * (1 - p) ** (x - 1) * lam**x * math.exp(-lam * t_x)
        )
        gamma = params.alpha**params.r * lam ** (params.r - 1) * math.exp(-params.alpha * lam)
        gamma /= math.gamma(params.r)
        beta = p ** (params.a - 1) * (1 - p) ** (params.b - 1) / _beta(params.a, params.b)
        return individual * gamma * beta

    numeric, _ = integrate.dblquad(density, 0, 50, 0, 1)
    closed = log_likelihood(params, Summary(np.array([x]), np.array([t_x]), np.array([T])))

    assert closed[0] == pytest.approx(math.log(numeric), rel=1e-6)


@pytest.mark.parametrize(
    ("x", "t_x", "T", "expected"),
    [
        (2, 3.0, 5.0, 1 / (1 + (1 / 3) * (6 / 4) ** 3)),  # 0.470588…
        (1, 5.0, 5.0, 2 / 3),  # just bought: only the chance of dropping out at once
        (4, 2.0, 10.0, 1 / (1 + (1 / 5) * (11 / 3) ** 5)),  # long overdue
    ],
)
def test_p_alive_matches_the_closed_form_on_hand_checked_cases(x, t_x, T, expected):
    assert p_alive(Params(r=1, alpha=1, a=1, b=2), x, t_x, T) == pytest.approx(expected)


def test_a_one_time_buyer_is_not_certainly_alive_and_fades_with_the_population_rhythm():
    params = Params(r=1, alpha=1, a=1, b=2)

    just_bought = p_alive(params, 0, 0.0, 0.0)
    a_while_ago = p_alive(params, 0, 0.0, 1.0)
    long_ago = p_alive(params, 0, 0.0, 20.0)

    assert just_bought == pytest.approx(2 / 3)
    assert a_while_ago == pytest.approx(0.5)  # 1 / (1 + ½ · 2¹)
    assert long_ago < 0.1 < a_while_ago < just_bought < 1


def test_summarise_counts_occasions_up_to_as_of_only():
    as_of = datetime(2026, 3, 1, tzinfo=UTC)
    histories = {
        "repeat": [date(2026, 1, 1), date(2026, 1, 1), date(2026, 1, 15), date(2026, 3, 9)],
        "once": [date(2026, 2, 1)],
        "not yet": [date(2026, 4, 1)],
    }

    data = summarise(histories, as_of, "day")

    assert data.x.tolist() == [1, 0]  # same day once; after as_of ignored
    assert data.t_x.tolist() == [14, 0]
    assert data.T.tolist() == [59, 28]
    assert summarise(histories, as_of, "week").T.tolist() == [59 / 7, 4]


@pytest.mark.parametrize(
    ("histories", "message"),
    [
        ({}, "no customer has a purchase"),
        ({"a": [date(2026, 1, 1)], "b": [date(2026, 2, 1)]}, "no customer has a repeat"),
    ],
)
def test_a_fit_without_enough_data_says_what_is_missing(histories, message):
    with pytest.raises(NotEnoughData, match=message):
        fit(summarise(histories, datetime(2026, 3, 1, tzinfo=UTC)))
