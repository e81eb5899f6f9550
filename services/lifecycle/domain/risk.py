"""The churn-risk score: 0–100, a level, and the reasons ranked by what they add.

Its behavioural core is ``1 − P(alive)`` from the BG/NBD model, scaled by the
configured weight; the service signals (open complaints by severity, an NPS
detractor, refunds, a tier downgrade, a slowing rhythm) add their own weights.
Every point of the score belongs to a reason, so the service desk reads *why*.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.lifecycle.domain.bgnbd import DAYS_PER, Params, p_alive
from services.lifecycle.domain.config import Risk
from services.lifecycle.domain.rfm import Rfm, frequency_declining
from services.lifecycle.domain.stages import CustomerState
from shared.events.lifecycle import RiskLevel


@dataclass(frozen=True)
class Reason:
    code: str
    weight: float
    detail: str


@dataclass(frozen=True)
class ChurnScore:
    score: int
    level: RiskLevel
    reasons: tuple[Reason, ...]
    p_alive: float | None


def history(rfm: Rfm, unit: str, at: datetime) -> tuple[float, float, float] | None:
    """The customer's (x, t_x, T) at ``at`` in the model's unit (None if never bought):
    repeat occasions, the last one's time and the age, from the first purchase."""
    if rfm.first_purchase_at is None or rfm.last_purchase_at is None:
        return None
    scale = DAYS_PER[unit]
    first = rfm.first_purchase_at.date()
    t_x = (rfm.last_purchase_at.date() - first).days / scale
    return rfm.occasions - 1, t_x, max((at.date() - first).days / scale, t_x)


def probability_alive(rfm: Rfm, params: Params, unit: str, at: datetime) -> float | None:
    """P(alive) of this customer at ``at`` (None for one who never bought)."""
    known = history(rfm, unit, at)
    return None if known is None else p_alive(params, *known)


def score(
    state: CustomerState, rfm: Rfm, params: Params, unit: str, at: datetime, weights: Risk
) -> ChurnScore:
    """The customer's churn risk at ``at``."""
    alive = probability_alive(rfm, params, unit, at)
    contributions = [
        _behaviour(rfm, alive, at, weights),
        _complaints(state, weights),
        _nps(state, weights),
        _refunds(rfm, weights),
        _tier(state, weights),
        _rhythm(rfm, weights),
    ]
    reasons = sorted((r for r in contributions if r and r.weight > 0), key=lambda r: -r.weight)
    total = min(100, round(sum(r.weight for r in reasons)))
    return ChurnScore(total, level_of(total, weights), tuple(reasons), alive)


def level_of(total: int, weights: Risk) -> RiskLevel:
    if total >= weights.high_from:
        return "high"
    return "medium" if total >= weights.medium_from else "low"


def worth_announcing(before: tuple[int, str] | None, after: ChurnScore, weights: Risk) -> bool:
    """Announce a new level, or a score that moved by the configured step since the
    last announcement (small wobbles would flood the 360 and the service desk)."""
    if before is None:
        return True
    score_before, level_before = before
    return level_before != after.level or abs(after.score - score_before) >= weights.publish_step


def _behaviour(rfm: Rfm, alive: float | None, at: datetime, weights: Risk) -> Reason | None:
    if alive is None or rfm.last_purchase_at is None:
        return None
    weight = weights.behaviour * (1.0 - alive)
    idle = (at - rfm.last_purchase_at).days
    if rfm.occasions < 2:
        return Reason(
            "no_repeat_rhythm",
            weight,
            f"One purchase occasion, {idle} days ago; judged against how soon customers "
            f"usually buy again, the chance they are still active is {alive:.0%}.",
        )
    usual = rfm.usual_gap_days or 0
    code = "overdue_vs_usual_gap" if idle > usual else "probability_alive"
    return Reason(
        code,
        weight,
        f"{idle} days since the last purchase against a usual gap of {usual:.0f} days; "
        f"the chance they are still active is {alive:.0%}.",
    )


def _complaints(state: CustomerState, weights: Risk) -> Reason | None:
    open_ = {s: n for s, n in state.open_complaints.items() if n > 0}
    if not open_:
        return None
    weight = min(
        weights.complaint_cap, sum(weights.complaint.get(s, 0) * n for s, n in open_.items())
    )
    listed = ", ".join(f"{n} {s}" for s, n in sorted(open_.items()))
    return Reason("open_complaint", weight, f"Open complaints: {listed}.")


def _nps(state: CustomerState, weights: Risk) -> Reason | None:
    if not state.nps_detractor:
        return None
    return Reason("nps_detractor", weights.nps_detractor, "Their latest NPS answer is a detractor.")


def _refunds(rfm: Rfm, weights: Risk) -> Reason | None:
    if rfm.refunds == 0:
        return None
    weight = min(weights.refund_cap, weights.refund_each * rfm.refunds)
    return Reason("refunds", weight, f"{rfm.refunds} refunded order(s).")


def _tier(state: CustomerState, weights: Risk) -> Reason | None:
    if not state.tier_downgraded:
        return None
    return Reason("tier_downgrade", weights.tier_downgrade, "Their loyalty tier was downgraded.")


def _rhythm(rfm: Rfm, weights: Risk) -> Reason | None:
    if not frequency_declining(rfm, weights.declining_gap_multiple):
        return None
    return Reason(
        "frequency_declining",
        weights.frequency_declining,
        f"The latest gap ({rfm.last_gap_days:.0f} days) is well over their earlier "
        f"rhythm ({rfm.earlier_gap_days:.0f} days).",
    )
