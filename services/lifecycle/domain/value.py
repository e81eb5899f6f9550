"""What a customer is worth: expected purchases (BG/NBD) times expected spend
(Gamma-Gamma), month by month over a horizon, discounted monthly; the value classes
cut from the population's lifetime values; and the value a churn would lose.

CLV = Σ_{m=1..H} E[occasions in month m] · E[spend per occasion] / (1 + d)^m, where a
month is a twelfth of a year and E[occasions in month m] is P(alive) times the
occasions an alive customer makes in it. The same P(alive) as the churn score, so
the two never tell different stories about one customer.

Spend is counted per purchase occasion (a day's paid orders), in the customer's
currency (that of their first order naming one): orders in another currency still
count as occasions but not as spend, since amounts of two currencies do not add.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from services.lifecycle.domain import bgnbd, gamma_gamma
from services.lifecycle.domain.config import Value
from services.lifecycle.domain.rfm import Purchase

DAYS_PER_MONTH = 365.25 / 12
# Values are capped here (16 digits, as a list's cursor writes them): far above any
# real lifetime value, and it keeps an absurd one from overflowing a column.
MAX_MINOR = 10**16 - 1


@dataclass(frozen=True)
class Spend:
    """A customer's spend per occasion in their currency: the first occasion's value
    (None when it holds no order in that currency) and the repeat occasions'."""

    currency: str | None = None
    first_minor: int | None = None
    repeats: int = 0
    repeat_minor: float = 0  # their sum

    @property
    def repeat_mean(self) -> float:
        return self.repeat_minor / self.repeats if self.repeats else 0.0

    @property
    def own_mean(self) -> float:
        """The mean value of every valued occasion, the first included."""
        valued = self.repeats + (self.first_minor is not None)
        return (self.repeat_minor + (self.first_minor or 0)) / valued if valued else 0.0


@dataclass(frozen=True)
class History:
    """One buyer as the value needs them, times in the BG/NBD model's unit."""

    x: float  # repeat occasions
    T: float  # age: from the first occasion to now
    p_alive: float
    spend: Spend


@dataclass(frozen=True)
class Worth:
    expected_purchases: float
    expected_spend_minor: float
    clv_minor: int


def spend_of(purchases: Iterable[Purchase]) -> Spend:
    """The customer's spend per occasion from their orders (those that stand, net of
    refunds), in the currency of the first order that names one."""
    paid = sorted((p for p in purchases if p.paid), key=lambda p: p.at)
    currency = next((p.currency for p in paid if p.currency), None)
    if currency is None:
        return Spend()
    by_day: dict[date, int] = {}
    for order in paid:
        if order.currency == currency:
            day = order.at.date()
            by_day[day] = by_day.get(day, 0) + order.amount_minor - order.refunded_minor
    first = by_day.pop(paid[0].at.date(), None)
    return Spend(currency, first, len(by_day), sum(by_day.values()))


def worth(
    buying: bgnbd.Params,
    unit: str,
    spending: gamma_gamma.Params | None,
    histories: Sequence[History],
    horizon_months: int,
    monthly_discount_rate: float,
    month_days: float = DAYS_PER_MONTH,
) -> list[Worth]:
    """Each customer's expected purchases over the horizon, expected spend per occasion
    and CLV; vectorised over customers. Without a spend model (none fitted yet for the
    currency) a customer's expected spend is their own mean."""
    if not histories:
        return []
    x = np.array([h.x for h in histories], dtype=float)
    T = np.array([h.T for h in histories], dtype=float)
    alive = np.array([h.p_alive for h in histories], dtype=float)
    months = np.arange(horizon_months + 1, dtype=np.float64) * (month_days / bgnbd.DAYS_PER[unit])
    cumulative = bgnbd.expected_purchases_if_alive(buying, x, T, months)
    per_month = alive[:, None] * np.diff(cumulative, axis=1)
    discount = (1 + monthly_discount_rate) ** -np.arange(1, horizon_months + 1, dtype=float)
    spend = _expected_spend(spending, [h.spend for h in histories])
    clv = (per_month * discount).sum(axis=1) * spend
    return [
        Worth(float(n), float(s), _minor(c))
        for n, s, c in zip(per_month.sum(axis=1), spend, clv, strict=True)
    ]


def _expected_spend(spending: gamma_gamma.Params | None, spends: Sequence[Spend]) -> np.ndarray:
    if spending is None:
        return np.array([s.own_mean for s in spends], dtype=float)
    repeats = np.array([s.repeats for s in spends], dtype=float)
    means = np.array([s.repeat_mean for s in spends], dtype=float)
    return gamma_gamma.expected_spend(spending, repeats, means)


def _minor(value: float) -> int:
    return 0 if not math.isfinite(value) else min(MAX_MINOR, max(0, round(value)))


def value_at_risk(clv_minor: int, p_alive: float | None) -> int:
    """What the customer's churn would lose: CLV × (1 − P(alive))."""
    return 0 if p_alive is None else _minor(clv_minor * (1.0 - p_alive))


@dataclass(frozen=True)
class Cutoffs:
    """The least CLV of each value class but the last, highest class first; a customer
    belongs to the first class whose floor they reach (ties at a floor go up)."""

    floors: tuple[tuple[str, int], ...]
    last: str

    def classify(self, clv_minor: int) -> str:
        return next((name for name, floor in self.floors if clv_minor >= floor), self.last)


def cutoff_ranks(customers: int, config: Value) -> list[int]:
    """Where each class but the last ends, as 0-based ranks in descending CLV: the
    top ``share`` of the customers, at least one when there are any."""
    ranks, share = [], 0.0
    for value_class in config.classes[:-1]:
        share += value_class.share or 0.0
        ranks.append(max(0, min(customers - 1, math.ceil(customers * share - 1e-9) - 1)))
    return ranks


def cutoffs(config: Value, clv_at_ranks: Sequence[int]) -> Cutoffs:
    """The floors from the CLVs found at ``cutoff_ranks``. A floor is at least one minor
    unit: a customer worth nothing is in the last class however many share zero."""
    names = config.class_names
    floors = tuple((name, max(1, clv)) for name, clv in zip(names, clv_at_ranks, strict=False))
    return Cutoffs(floors, names[-1])
