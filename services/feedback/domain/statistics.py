"""Confidence intervals for the satisfaction figures. Plain Python: feedback's image has
no numpy or scipy, so the t quantile is a table up to 30 degrees of freedom and the
Cornish-Fisher expansion beyond (within 1e-5 of scipy's; ``tests/unit``).

A score from 12 answers and one from 12,000 read alike unless each says how sure it is,
so every figure carries its answer count and a 95 % interval:

- **NPS**: the adjusted-Wald interval (Rocks 2016, "Interval Estimation for the Net
  Promoter Score", The American Statistician 70(4)): add z²/4 to the promoters and to
  the detractors (z²/2 to n), then NPS ± z·√((p + d − (p − d)²)/n) on the adjusted
  shares. The plain variance-based (Wald) interval collapses to a point when every
  answer is a promoter; the adjusted one stays wide at small n, as it should.
- **Shares** (CSAT satisfied %): the Wilson score interval.
- **Averages** (CSAT, CES): mean ± t(n−1)·s/√n (Student's t with the sample standard
  deviation); no interval from one answer.

Intervals are clipped to the scale (NPS −100..100, shares 0..100, averages to the
survey's range).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

LEVEL = 0.95
Z = 1.959963984540054  # the normal quantile of 0.975
METHODS = {
    "nps": "adjusted_wald (Rocks 2016)",
    "share": "wilson",
    "average": "student_t",
}


@dataclass(frozen=True)
class Interval:
    """A two-sided interval at ``LEVEL``."""

    low: float
    high: float


def nps_interval(promoters: int, passives: int, detractors: int) -> Interval | None:
    """The adjusted-Wald 95 % interval of the NPS (in points, −100..100); None for no
    answers."""
    n = promoters + passives + detractors
    if n == 0:
        return None
    n_adj = n + Z * Z / 2
    p = (promoters + Z * Z / 4) / n_adj
    d = (detractors + Z * Z / 4) / n_adj
    centre = p - d
    half = Z * math.sqrt(max(p + d - centre * centre, 0.0) / n_adj)
    return _clipped(100 * (centre - half), 100 * (centre + half), -100, 100)


def wilson_interval(successes: int, n: int) -> Interval | None:
    """The Wilson score 95 % interval of a share, in percent; None for n = 0."""
    if n == 0:
        return None
    p = successes / n
    denominator = 1 + Z * Z / n
    centre = (p + Z * Z / (2 * n)) / denominator
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / denominator
    return _clipped(100 * (centre - half), 100 * (centre + half), 0, 100)


def mean_interval(counts: Mapping[int, int], low: int, high: int) -> Interval | None:
    """The Student-t 95 % interval of the mean score from counts by score, clipped to
    the scale [low, high]; None below two answers."""
    n = sum(counts.values())
    if n < 2:
        return None
    mean = sum(s * k for s, k in counts.items()) / n
    variance = sum(k * (s - mean) ** 2 for s, k in counts.items()) / (n - 1)
    half = t_quantile(n - 1) * math.sqrt(variance / n)
    return _clipped(mean - half, mean + half, low, high)


# t(0.975, ν) for ν = 1..30.
T_975 = (
    12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004,
    2.262157, 2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905,
    2.109816, 2.100922, 2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899,
    2.059539, 2.055529, 2.051831, 2.048407, 2.045230, 2.042272,
)  # fmt: skip


def t_quantile(degrees: int) -> float:
    """t(0.975, degrees): the table, then the Cornish-Fisher expansion in 1/ν."""
    if degrees <= len(T_975):
        return T_975[degrees - 1]
    z, v = Z, float(degrees)
    return (
        z
        + (z**3 + z) / (4 * v)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)
        + (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / (92160 * v**4)
    )


def _clipped(low: float, high: float, floor: float, ceiling: float) -> Interval:
    return Interval(round(max(low, floor), 2), round(min(high, ceiling), 2))
