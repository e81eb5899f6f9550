"""Complaint rules: the SLA deadline, resolution, and escalation on breach. Plain Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.feedback.domain.config import Escalation, Sla

OPEN_STATUSES = ("open", "escalated")
DESK = "desk"  # who resolved a complaint through the service desk route


def may_resolve(filed_by: str | None, resolving_partner: str | None) -> bool:
    """Only the partner that filed a complaint may resolve it by event: a resolution
    can grant points, so no other partner may close (or compensate) someone else's
    complaint. A complaint filed before partners were recorded (``filed_by`` None) is
    resolved at the service desk only, never by an event."""
    return filed_by is not None and filed_by == resolving_partner


def resolved_by_partner(partner: str) -> str:
    """How a resolution by a partner's event names its resolver (beside ``DESK``)."""
    return f"partner:{partner}"


def sla_due(sla: Sla, severity: str, opened_at: datetime) -> datetime:
    """When a complaint of this severity must be resolved."""
    return opened_at + timedelta(hours=sla.hours[severity])  # type: ignore[index]


def within_sla(due_at: datetime, resolved_at: datetime) -> bool:
    """Resolved by the deadline counts as kept (the deadline instant itself included)."""
    return resolved_at <= due_at


def resolvable(status: str, opened_at: datetime, resolved_at: datetime) -> bool:
    """Only an open (or escalated) complaint can be resolved, and only by a resolution
    dated after it was opened: a second resolution changes nothing (partners retry),
    and one dated earlier cannot be about it, whichever order the two arrived in."""
    return status in OPEN_STATUSES and resolved_at >= opened_at


@dataclass(frozen=True)
class Escalated:
    level: int
    overdue_by: timedelta
    next_at: datetime | None


def escalate(policy: Escalation, due_at: datetime, level: int, now: datetime) -> Escalated | None:
    """The next escalation of a complaint due at ``due_at`` and at ``level`` now, or None
    when none is due yet (or the top level is reached). Level n falls due at
    ``due_at + (n-1) * repeat_hours``; a sweep that ran late escalates one level at a
    time, so a skipped level is never silently jumped."""
    if level >= policy.max_level or now < escalation_due(policy, due_at, level + 1):
        return None
    following = level + 2
    next_at = escalation_due(policy, due_at, following) if following <= policy.max_level else None
    return Escalated(level + 1, now - due_at, next_at)


def escalation_due(policy: Escalation, due_at: datetime, level: int) -> datetime:
    """When a complaint reaches escalation ``level`` (1 = at the SLA breach)."""
    return due_at + timedelta(hours=policy.repeat_hours) * (level - 1)
