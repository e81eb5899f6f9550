"""Feedback's rules: SLA targets per complaint severity, resolution, NPS buckets. Plain Python."""

from __future__ import annotations

from datetime import datetime, timedelta

SLA_HOURS = {"critical": 4, "high": 24, "medium": 48, "low": 72}


def sla_due(severity: str, opened_at: datetime) -> datetime:
    """When a complaint of this severity must be resolved."""
    return opened_at + timedelta(hours=SLA_HOURS[severity])


def within_sla(due_at: datetime, resolved_at: datetime) -> bool:
    """Resolved by the deadline counts as kept (the deadline instant itself included)."""
    return resolved_at <= due_at


def resolvable(status: str, opened_at: datetime, resolved_at: datetime) -> bool:
    """Only an open complaint can be resolved, and only by a resolution dated after it
    was opened: a second resolution changes nothing (partners retry), and one dated
    earlier cannot be about it, whichever order the two arrived in."""
    return status == "open" and resolved_at >= opened_at


def nps_category(score: int) -> str:
    """Promoter 9–10, passive 7–8, detractor 0–6."""
    if score >= 9:
        return "promoter"
    return "passive" if score >= 7 else "detractor"
