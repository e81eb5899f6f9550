"""The BG/NBD model of repeat buying (Fader, Hardie & Lee 2005, "Counting your
customers the easy way"), fitted by maximum likelihood.

While alive a customer buys at a Poisson rate λ ~ Gamma(r, α); after each purchase
they drop out with probability p ~ Beta(a, b). A customer is summarised by
``x`` (repeat purchase occasions), ``t_x`` (time of the last one since the first)
and ``T`` (time since the first purchase), all up to one ``as_of`` instant. The
closed-form likelihood needs no hypergeometric function; it is vectorised over
customers and maximised on log-parameters, so the parameters stay positive.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1

TimeUnit = Literal["day", "week"]
DAYS_PER: dict[str, float] = {"day": 1.0, "week": 7.0}
Floats = NDArray[np.float64]


class NotEnoughData(ValueError):
    """The histories cannot identify the model; the text says what is missing."""


@dataclass(frozen=True)
class Params:
    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}


@dataclass(frozen=True)
class Summary:
    """Frequency, recency and age of each customer, in the model's time unit."""

    x: Floats
    t_x: Floats
    T: Floats

    def __len__(self) -> int:
        return len(self.x)


@dataclass(frozen=True)
class Fit:
    params: Params
    log_likelihood: float
    customers: int


def summarise(
    occasions: Mapping[object, Sequence[date]], as_of: datetime, unit: TimeUnit = "day"
) -> Summary:
    """(x, t_x, T) per customer from their purchase-occasion days up to ``as_of``.

    A customer whose first purchase comes after ``as_of`` is not yet a customer.
    """
    end = as_of.date()
    xs, recencies, ages = [], [], []
    for days in occasions.values():
        known = sorted({d for d in days if d <= end})
        if not known:
            continue
        xs.append(len(known) - 1)
        recencies.append((known[-1] - known[0]).days)
        ages.append((end - known[0]).days)
    scale = DAYS_PER[unit]
    return Summary(
        np.asarray(xs, dtype=float),
        np.asarray(recencies, dtype=float) / scale,
        np.asarray(ages, dtype=float) / scale,
    )


def log_likelihood(params: Params, data: Summary) -> Floats:
    """Each customer's log-likelihood (FHL 2005, equation 6)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, dtype=float) for v in (data.x, data.t_x, data.T))
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    a4 = np.full_like(x, -np.inf)
    a4[repeat] = (
        np.log(a) - np.log(b + x[repeat] - 1) - (r + x[repeat]) * np.log(alpha + t_x[repeat])
    )
    return a1 + a2 + np.logaddexp(a3, a4)


def fit(data: Summary, start: Params | None = None) -> Fit:
    """Maximum-likelihood parameters (L-BFGS-B on log-parameters)."""
    if len(data) == 0:
        raise NotEnoughData("no customer has a purchase before as_of")
    if not np.any(data.x > 0):
        raise NotEnoughData("no customer has a repeat purchase before as_of")
    if not np.any(data.T > 0):
        raise NotEnoughData("every customer's first purchase is on the as_of day")
    initial = start or Params(1.0, max(float(np.mean(data.T)), 1.0), 1.0, 1.0)

    def negative(log_params: Floats) -> float:
        with np.errstate(all="ignore"):
            value = -float(np.sum(log_likelihood(Params(*np.exp(log_params)), data)))
        return value if np.isfinite(value) else 1e300

    result = minimize(
        negative,
        np.log(list(initial.as_dict().values())),
        method="L-BFGS-B",
        bounds=[(-10.0, 10.0)] * 4,
    )
    params = Params(*(float(v) for v in np.exp(result.x)))
    return Fit(params, -float(result.fun), len(data))


def p_alive(params: Params, x: float, t_x: float, T: float) -> float:
    """The probability that a customer with this history is still alive (FHL 2005, eq. 13).

    For a customer with no repeat purchase BG/NBD answers 1: it lets customers drop
    out only after a purchase. Such a customer is judged instead by the population's
    repeat rhythm, allowing a drop-out after the first purchase too (the MBG/NBD
    correction of Batislam, Denizel & Filiztekin 2007): the longer the population
    would have bought again by now, the less likely this customer is still there.
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    ratio = ((alpha + T) / (alpha + t_x)) ** (r + x)
    odds = a / (b + x - 1) * ratio if x > 0 else a / b * ratio
    return 1.0 / (1.0 + odds)


def expected_purchases_if_alive(params: Params, x: Floats, T: Floats, horizons: Floats) -> Floats:
    """Expected purchase occasions in (T, T + t] of a customer still alive, for each
    customer (rows) and each horizon ``t`` (columns), in the model's time unit.

    FHL 2005's equation 10 is P(alive) times this: the conditional expectation
    divided by the probability of being alive. Kept apart so the caller multiplies
    by the same P(alive) the churn score uses (which judges one-time buyers too).
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    a = a if abs(a - 1) > 1e-6 else 1 + 1e-6  # a = 1 is 0/0 here, with a finite limit
    x = np.asarray(x, dtype=float)[:, None]
    T = np.asarray(T, dtype=float)[:, None]
    t = np.asarray(horizons, dtype=float)[None, :]
    z = t / (alpha + T + t)
    tail = ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    return np.asarray((a + b + x - 1) / (a - 1) * (1 - tail), dtype=float)


def occasions_by_customer(rows: Iterable[tuple[object, date]]) -> dict[object, list[date]]:
    """Group (customer, occasion day) rows into each customer's days."""
    grouped: dict[object, list[date]] = {}
    for customer, day in rows:
        grouped.setdefault(customer, []).append(day)
    return grouped
