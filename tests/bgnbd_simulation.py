"""Histories drawn from the BG/NBD and Gamma-Gamma processes themselves, to test and time
the fits."""

from __future__ import annotations

import numpy as np

from services.lifecycle.domain import gamma_gamma
from services.lifecycle.domain.bgnbd import Params, Summary


def simulate(params: Params, customers: int, horizon: float, rng: np.random.Generator) -> Summary:
    """Histories drawn from the BG/NBD process itself (for testing the fit): each
    customer makes a first purchase at time 0 and is observed for ``horizon``."""
    rates = rng.gamma(params.r, 1.0 / params.alpha, customers)
    dropouts = rng.beta(params.a, params.b, customers)
    xs, recencies = np.zeros(customers), np.zeros(customers)
    for i in range(customers):
        t, count = 0.0, 0
        while True:
            t += rng.exponential(1.0 / rates[i]) if rates[i] > 0 else np.inf
            if t > horizon:
                break
            count, recencies[i] = count + 1, t
            if rng.random() < dropouts[i]:
                break
        xs[i] = count
    return Summary(xs, recencies, np.full(customers, horizon))


def simulate_spends(
    params: gamma_gamma.Params, customers: int, rng: np.random.Generator
) -> gamma_gamma.Spends:
    """Repeat spends drawn from the Gamma-Gamma process itself: each customer's rate
    ν ~ Gamma(q, v), then 1 + Poisson(2) repeat occasions of value z ~ Gamma(p, ν)."""
    rates = rng.gamma(params.q, 1.0 / params.v, customers)
    counts = 1 + rng.poisson(2.0, customers)
    means = np.array(
        [
            rng.gamma(params.p, 1.0 / rate, count).mean()
            for rate, count in zip(rates, counts, strict=True)
        ]
    )
    return gamma_gamma.Spends(counts.astype(float), means)
