"""Survey rules: the answers customers give, NPS buckets, and the satisfaction scores
of a window. Plain Python."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from shared.events.activity import SurveyKind


def nps_category(score: int) -> str:
    """Promoter 9–10, passive 7–8, detractor 0–6."""
    if score >= 9:
        return "promoter"
    return "passive" if score >= 7 else "detractor"


@dataclass(frozen=True)
class Response:
    """One answer to a survey, as feedback keeps it (its score already checked against
    the survey's scale at the edge)."""

    response_id: uuid.UUID
    tenant_id: str
    customer_id: uuid.UUID
    survey: SurveyKind
    score: int
    comment: str | None
    responded_at: datetime

    @property
    def category(self) -> str | None:
        """The NPS bucket of an NPS answer; other surveys have none."""
        return nps_category(self.score) if self.survey == "nps" else None


def _ratio(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _mean(counts: Mapping[int, int]) -> float | None:
    total = sum(counts.values())
    return round(sum(s * n for s, n in counts.items()) / total, 2) if total else None


def scores(counts: Mapping[tuple[str, int], int]) -> dict[str, dict[str, float | int | None]]:
    """NPS, CSAT and CES from answer counts by (survey, score); a survey nobody answered
    scores null, never 0, which would read as a verdict."""
    by_kind: dict[str, dict[int, int]] = {"nps": {}, "csat": {}, "ces": {}}
    for (survey, score), n in counts.items():
        by_kind[survey][score] = by_kind[survey].get(score, 0) + n
    return {
        "nps": _nps(by_kind["nps"]),
        "csat": _csat(by_kind["csat"]),
        "ces": _ces(by_kind["ces"]),
    }


def _nps(counts: Mapping[int, int]) -> dict[str, float | int | None]:
    """% promoters (9–10) − % detractors (0–6), from −100 to 100."""
    buckets = {"promoter": 0, "passive": 0, "detractor": 0}
    for score, n in counts.items():
        buckets[nps_category(score)] += n
    answered = sum(counts.values())
    nps = (
        round(100 * (buckets["promoter"] - buckets["detractor"]) / answered, 1)
        if answered
        else None
    )
    return {
        "score": nps,
        "responses": answered,
        "promoters": buckets["promoter"],
        "passives": buckets["passive"],
        "detractors": buckets["detractor"],
    }


def _csat(counts: Mapping[int, int]) -> dict[str, float | int | None]:
    """The average (1–5) and the share of satisfied answers (4 or 5)."""
    answered = sum(counts.values())
    satisfied = sum(n for s, n in counts.items() if s >= 4)
    return {"average": _mean(counts), "satisfied_pct": _ratio(satisfied, answered),
            "responses": answered}  # fmt: skip


def _ces(counts: Mapping[int, int]) -> dict[str, float | int | None]:
    """The average effort (1–7)."""
    return {"average": _mean(counts), "responses": sum(counts.values())}
