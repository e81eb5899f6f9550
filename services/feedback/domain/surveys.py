"""Survey rules: the answers customers give, NPS buckets, the satisfaction scores of a
window, and how well detractors were recovered. Plain Python."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from services.feedback.domain.config import Detractors
from services.feedback.domain.statistics import (
    Interval,
    mean_interval,
    nps_interval,
    wilson_interval,
)
from shared.events.activity import SURVEY_SCALES, SurveyKind


class OffScale(ValueError):
    """A score outside its survey's scale."""


def check_scale(survey: SurveyKind, score: int) -> None:
    """Raise ``OffScale`` (naming the scale) unless ``score`` lies on ``survey``'s."""
    low, high = SURVEY_SCALES[survey]
    if not low <= score <= high:
        raise OffScale(f"a {survey} score is between {low} and {high}, not {score}")


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
    channel: str | None = None  # where it was asked: the invitation's channel
    invitation_id: uuid.UUID | None = None  # the invitation it answers, if any

    @property
    def category(self) -> str | None:
        """The NPS bucket of an NPS answer; other surveys have none."""
        return nps_category(self.score) if self.survey == "nps" else None


def _ratio(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _mean(counts: Mapping[int, int]) -> float | None:
    total = sum(counts.values())
    return round(sum(s * n for s, n in counts.items()) / total, 2) if total else None


Figures = dict[str, float | int | Interval | None]


def scores(counts: Mapping[tuple[str, int], int]) -> dict[str, Figures]:
    """NPS, CSAT and CES from answer counts by (survey, score), each with its answer
    count and 95 % interval (``statistics``); a survey nobody answered scores null,
    never 0, which would read as a verdict."""
    by_kind: dict[str, dict[int, int]] = {"nps": {}, "csat": {}, "ces": {}}
    for (survey, score), n in counts.items():
        by_kind[survey][score] = by_kind[survey].get(score, 0) + n
    return {
        "nps": _nps(by_kind["nps"]),
        "csat": _csat(by_kind["csat"]),
        "ces": _ces(by_kind["ces"]),
    }


def _nps(counts: Mapping[int, int]) -> Figures:
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
        "interval": nps_interval(buckets["promoter"], buckets["passive"], buckets["detractor"]),
    }


def _csat(counts: Mapping[int, int]) -> Figures:
    """The average (1–5) and the share of satisfied answers (4 or 5)."""
    answered = sum(counts.values())
    satisfied = sum(n for s, n in counts.items() if s >= 4)
    return {"average": _mean(counts), "satisfied_pct": _ratio(satisfied, answered),
            "responses": answered, "average_interval": mean_interval(counts, 1, 5),
            "satisfied_interval": wilson_interval(satisfied, answered)}  # fmt: skip


def _ces(counts: Mapping[int, int]) -> Figures:
    """The average effort (1–7)."""
    return {"average": _mean(counts), "responses": sum(counts.values()),
            "interval": mean_interval(counts, 1, 7)}  # fmt: skip


@dataclass(frozen=True)
class RecoveryCase:
    """A detractor's recovery case as the recovery figures count it: its deadline, when
    the desk first took it up, and the customer's next answer after it opened."""

    due_at: datetime
    first_contact_at: datetime | None
    next_answer: tuple[SurveyKind, int] | None


def recovery(cases: Iterable[RecoveryCase], detractor: Detractors) -> dict[str, float | int | None]:
    """How detractors were followed up: the cases, the share taken up by the desk within
    their SLA, and of those who answered a survey again, how many no longer as
    detractors (an NPS passive or promoter; a CSAT or CES above its threshold)."""
    total = contacted = answered = recovered = 0
    for case in cases:
        total += 1
        first = case.first_contact_at
        contacted += first is not None and first <= case.due_at
        if case.next_answer is not None:
            answered += 1
            recovered += not detractor(*case.next_answer)
    return {
        "cases": total,
        "contacted_within_sla": contacted,
        "contacted_within_sla_pct": _ratio(contacted, total),
        "answered_again": answered,
        "recovered": recovered,
        "recovered_pct": _ratio(recovered, answered),
    }
