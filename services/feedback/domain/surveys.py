"""Survey rules: NPS buckets, which purchases earn an invitation, and the satisfaction
scores of a window. Plain Python."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.feedback.domain.config import Invitations


def nps_category(score: int) -> str:
    """Promoter 9–10, passive 7–8, detractor 0–6."""
    if score >= 9:
        return "promoter"
    return "passive" if score >= 7 else "detractor"


@dataclass(frozen=True)
class Occasion:
    """A purchase that may earn its customer an invitation."""

    key: tuple[str, object]
    order_id: str
    at: datetime


@dataclass(frozen=True)
class Planned:
    occasion: Occasion
    survey: str
    due_at: datetime


def cadences(rules: Invitations) -> dict[str, tuple[timedelta, timedelta]]:
    """Per survey kind: (delay after the purchase, least gap between two invitations)."""
    plans = {"csat": (timedelta(hours=rules.csat_after_hours), timedelta(days=rules.throttle_days))}
    if rules.nps_every_days:
        plans["nps"] = (
            timedelta(hours=rules.csat_after_hours),
            timedelta(days=rules.nps_every_days),
        )
    return plans


def plan_invitations(
    rules: Invitations,
    occasions: Iterable[Occasion],
    latest: Mapping[tuple[tuple[str, object], str], datetime],
) -> list[Planned]:
    """The invitations these purchases earn, oldest first: one per survey kind unless the
    customer's latest invitation of that kind (``latest``, by customer key and kind,
    including the ones planned here) falls due within the gap."""
    last = dict(latest)
    planned: list[Planned] = []
    for occasion in sorted(occasions, key=lambda o: o.at):
        for survey, (delay, gap) in cadences(rules).items():
            due_at = occasion.at + delay
            previous = last.get((occasion.key, survey))
            if previous is not None and abs(due_at - previous) < gap:
                continue
            last[(occasion.key, survey)] = due_at
            planned.append(Planned(occasion, survey, due_at))
    return planned


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
