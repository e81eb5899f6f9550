"""Complaint figures by category, severity or channel: how many were opened, how many
met their SLA, and how long a resolution took. Plain Python.

A complaint opened in the window counts in its group. Its SLA is **met** when it was
resolved by its due time, **missed** when it was resolved later or is still open past it
(at ``now``); one still open before its due time is undecided and in neither, so
attainment is met / (met + missed), with its Wilson 95 % interval. The **median
resolution time** is over the complaints resolved (in hours, the middle one, or the mean
of the two middle ones).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from statistics import median

from services.feedback.domain.statistics import Interval, wilson_interval


@dataclass(frozen=True)
class Filed:
    """One complaint as the figures see it."""

    group: str
    opened_at: datetime
    due_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class ComplaintGroup:
    group: str
    opened: int
    resolved: int
    sla_met: int
    sla_missed: int
    sla_attainment_pct: float | None
    sla_interval: Interval | None
    median_resolution_hours: float | None


def figures(complaints: Iterable[Filed], now: datetime) -> list[ComplaintGroup]:
    """One entry per group, by name."""
    groups: dict[str, list[Filed]] = {}
    for filed in complaints:
        groups.setdefault(filed.group, []).append(filed)
    return [_group(name, groups[name], now) for name in sorted(groups)]


def _group(name: str, filed: list[Filed], now: datetime) -> ComplaintGroup:
    hours = [(f.resolved_at - f.opened_at).total_seconds() / 3600 for f in filed if f.resolved_at]
    met = sum(f.resolved_at is not None and f.resolved_at <= f.due_at for f in filed)
    missed = sum(
        (f.resolved_at is not None and f.resolved_at > f.due_at)
        or (f.resolved_at is None and f.due_at < now)
        for f in filed
    )
    decided = met + missed
    return ComplaintGroup(
        group=name,
        opened=len(filed),
        resolved=len(hours),
        sla_met=met,
        sla_missed=missed,
        sla_attainment_pct=round(100 * met / decided, 1) if decided else None,
        sla_interval=wilson_interval(met, decided),
        median_resolution_hours=round(median(hours), 2) if hours else None,
    )
