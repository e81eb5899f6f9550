"""The Gamma-Gamma model of spend per purchase occasion (Fader, Hardie & Lee 2005, "RFM
and CLV: Using Iso-Value Curves for Customer Base Analysis", after Colombo & Jiang
1999), fitted by maximum likelihood.

A customer's occasion values vary around a mean of their own: each value
z ~ Gamma(p, ν); across customers the rate ν ~ Gamma(q, v) (the paper's γ is ``v``
here, as in the common libraries). A customer is summarised by ``x``, their repeat
occasions with a value, and ``m``, the mean value of those; the first occasion is
left out, as the paper does. The model assumes spend independent of the buying
process (BG/NBD), so the two are fitted apart and multiplied for lifetime value.

What the fit tells the business: a customer's expected spend per occasion is a
weighted mean of the population's mean and their own, weighted by how many
occasions they have shown (``expected_spend``): one large order says less than ten.
Amounts are minor units of one currency; ``v`` scales with them (a fit in cents
has ``v`` a hundred times the fit in dollars; ``p`` and ``q`` are unit-free).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import gammaln

Floats = NDArray[np.float64]


class NotEnoughData(ValueError):
    """The spends cannot identify the model; the text says what is missing."""


@dataclass(frozen=True)
class Params:
    p: float
    q: float
    v: float

    def as_dict(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "v": self.v}

    @property
    def mean_spend(self) -> float:
        """The population's mean spend per occasion (finite only for q > 1)."""
        return self.p * self.v / (self.q - 1) if self.q > 1 else float("inf")


@dataclass(frozen=True)
class Spends:
    """Repeat occasions with a value (``x`` ≥ 1) and their mean value (``m`` > 0)."""

    x: Floats
    m: Floats

    def __len__(self) -> int:
        return len(self.x)


@dataclass(frozen=True)
class Fit:
    params: Params
    log_likelihood: float
    customers: int


def spends(rows: Iterable[tuple[int, float]]) -> Spends:
    """The customers a fit can use, from (repeat occasions, their mean value): at
    least one repeat occasion, and a mean above zero (free orders alone say nothing
    of a spend's size, and the density has no mass at zero)."""
    kept = [(x, m) for x, m in rows if x >= 1 and m > 0]
    return Spends(
        np.asarray([x for x, _ in kept], dtype=float), np.asarray([m for _, m in kept], dtype=float)
    )


def log_likelihood(params: Params, data: Spends) -> Floats:
    """Each customer's log-likelihood of their mean repeat spend, given their count
    (FHL 2005, the marginal density of m_x after integrating ν out)."""
    p, q, v = params.p, params.q, params.v
    x, m = np.asarray(data.x, dtype=float), np.asarray(data.m, dtype=float)
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(v + m * x)
    )


def fit(data: Spends) -> Fit:
    """Maximum-likelihood parameters (L-BFGS-B on log-parameters, on spends scaled to a
    mean of one, so the optimiser meets the same numbers in yen and in dinars)."""
    if len(data) == 0:
        raise NotEnoughData("no customer has a repeat purchase with a value above zero")
    if len(np.unique(data.m)) < 2:
        raise NotEnoughData("every repeat customer spends the same mean: nothing varies")
    scale = float(np.mean(data.m))
    scaled = Spends(data.x, data.m / scale)

    def negative(log_params: Floats) -> float:
        with np.errstate(all="ignore"):
            value = -float(np.sum(log_likelihood(Params(*np.exp(log_params)), scaled)))
        return value if np.isfinite(value) else 1e300

    result = minimize(
        negative,
        np.log([1.0, 2.0, 1.0]),
        method="L-BFGS-B",
        bounds=[(-10, 10)] * 3,
        options={"ftol": 1e-13, "gtol": 1e-9},  # the likelihood is flat along p·v
    )
    p, q, v = (float(value) for value in np.exp(result.x))
    if q <= 1:
        raise NotEnoughData(f"the spends fit q = {q:.2f} ≤ 1, a spread with no finite mean spend")
    params = Params(p, q, v * scale)
    return Fit(params, float(np.sum(log_likelihood(params, data))), len(data))


def expected_spend(params: Params, x: Floats, m: Floats) -> Floats:
    """Each customer's expected spend per occasion, given ``x`` repeat occasions of mean
    ``m`` (FHL 2005, equation 5): the population mean for a customer with none, and
    closer to their own mean the more occasions they have shown."""
    p, q, v = params.p, params.q, params.v
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    return p * (v + m * x) / (p * x + q - 1)
