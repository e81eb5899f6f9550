"""Complaint rules: the status machine, the SLA deadline, who may resolve, and escalation
on breach. Plain Python.

A complaint opens ``open`` with the deadline its severity earns. Past the deadline
the sweep escalates it, a level at a time up to the policy's top; open or
escalated, it closes once, ``resolved``, and a resolution is final::

    open ──escalate──▶ escalated ──escalate──▶ escalated (the next level)
      │                    │
      └──── resolve ───────┴──────────────────▶ resolved

Every change of status is one of these functions, which return the changed
complaint and refuse a step the machine has no arrow for (``IllegalStep``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from services.feedback.domain.config import Escalation, FeedbackConfig, Sla
from shared.events.activity import Severity

Status = Literal["open", "escalated", "resolved"]
OPEN: Status = "open"
ESCALATED: Status = "escalated"
RESOLVED: Status = "resolved"
OPEN_STATUSES: tuple[Status, ...] = (OPEN, ESCALATED)
# Where a complaint of each status may go next (an escalated one to a higher level).
STEPS: Mapping[Status, frozenset[Status]] = {
    OPEN: frozenset({ESCALATED, RESOLVED}),
    ESCALATED: frozenset({ESCALATED, RESOLVED}),
    RESOLVED: frozenset(),
}
DESK = "desk"  # who resolved a complaint through the service desk route
Refusal = Literal["unknown", "not_filer", "not_open"]


class IllegalStep(ValueError):
    """A complaint was asked to move where its status machine has no arrow."""


@dataclass(frozen=True)
class Complaint:
    """One complaint as feedback keeps it: what was filed and by which partner, its SLA
    deadline and escalation, and how it was resolved."""

    complaint_id: uuid.UUID
    tenant_id: str
    customer_id: uuid.UUID
    complaint_ref: str
    severity: Severity
    category: str
    channel: str
    text: str
    partner: str | None  # the filer, the only partner that may resolve it by event
    status: Status
    opened_at: datetime
    due_at: datetime
    escalation_level: int = 0
    escalate_at: datetime | None = None  # the next escalation's due time, if any
    escalated_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None  # DESK, or resolved_by_partner(...)
    resolution: str | None = None

    @property
    def customer(self) -> tuple[str, uuid.UUID]:
        return self.tenant_id, self.customer_id


@dataclass(frozen=True)
class Resolution:
    """What closes a complaint: when, by whom, with what and for how many points."""

    at: datetime
    by: str
    text: str
    points: int


@dataclass(frozen=True)
class Escalated:
    level: int
    overdue_by: timedelta
    next_at: datetime | None


def open_complaint(
    config: FeedbackConfig,
    *,
    complaint_id: uuid.UUID,
    tenant_id: str,
    customer_id: uuid.UUID,
    complaint_ref: str,
    severity: Severity,
    category: str,
    channel: str,
    text: str,
    opened_at: datetime,
    partner: str | None,
) -> Complaint:
    """A filed complaint, open, due by its severity's SLA and escalated if still open then."""
    due_at = sla_due(config.sla, severity, opened_at)
    return Complaint(
        complaint_id=complaint_id,
        tenant_id=tenant_id,
        customer_id=customer_id,
        complaint_ref=complaint_ref,
        severity=severity,
        category=category,
        channel=channel,
        text=text,
        partner=partner,
        status=OPEN,
        opened_at=opened_at,
        due_at=due_at,
        escalate_at=escalation_due(config.escalation, due_at, 1),
    )


def sla_due(sla: Sla, severity: Severity, opened_at: datetime) -> datetime:
    """When a complaint of this severity must be resolved."""
    return opened_at + timedelta(hours=sla.hours[severity])


def within_sla(due_at: datetime, resolved_at: datetime) -> bool:
    """Resolved by the deadline counts as kept (the deadline instant itself included)."""
    return resolved_at <= due_at


def may_resolve(filed_by: str | None, resolving_partner: str | None) -> bool:
    """Only the partner that filed a complaint may resolve it by event: a resolution
    can grant points, so no other partner may close (or compensate) someone else's
    complaint. A complaint filed before partners were recorded (``filed_by`` None) is
    resolved at the service desk only, never by an event."""
    return filed_by is not None and filed_by == resolving_partner


def resolved_by_partner(partner: str) -> str:
    """How a resolution by a partner's event names its resolver (beside ``DESK``)."""
    return f"partner:{partner}"


def resolvable(status: str, opened_at: datetime, resolved_at: datetime) -> bool:
    """Only an open (or escalated) complaint can be resolved, and only by a resolution
    dated after it was opened: a second resolution changes nothing (partners retry),
    and one dated earlier cannot be about it, whichever order the two arrived in."""
    return status in OPEN_STATUSES and resolved_at >= opened_at


def refusal(
    complaint: Complaint | None, customer_id: uuid.UUID, partner: str | None, at: datetime
) -> Refusal | None:
    """Why a partner's resolution of ``customer_id``'s complaint, dated ``at``, may not
    close ``complaint`` (None when it may): unknown (or another customer's), not filed
    by that partner, or not open at that date."""
    if complaint is None or complaint.customer_id != customer_id:
        return "unknown"
    if not may_resolve(complaint.partner, partner):
        return "not_filer"
    if not resolvable(complaint.status, complaint.opened_at, at):
        return "not_open"
    return None


def desk_resolution(complaint: Complaint, text: str, points: int, now: datetime) -> Resolution:
    """The service desk resolves now; a complaint dated ahead of the service's clock is
    resolved at its own opening, never before it."""
    return Resolution(max(now, complaint.opened_at), DESK, text, points)


def resolve(complaint: Complaint, resolution: Resolution) -> Complaint:
    """The complaint closed by ``resolution``; nothing is due for it any more.
    ``IllegalStep`` unless it is ``resolvable`` at the resolution's date."""
    if not resolvable(complaint.status, complaint.opened_at, resolution.at):
        raise IllegalStep(
            f"a {complaint.status} complaint opened at {complaint.opened_at.isoformat()} "
            f"cannot be resolved at {resolution.at.isoformat()}"
        )
    return replace(
        complaint,
        status=RESOLVED,
        resolved_at=resolution.at,
        resolved_by=resolution.by,
        resolution=resolution.text,
        escalate_at=None,
    )


def escalate_complaint(
    complaint: Complaint, policy: Escalation, now: datetime
) -> tuple[Complaint, Escalated | None]:
    """A complaint whose escalation fell due, one level up (with the step taken), or,
    when no level is left to reach, left as it is with nothing more due."""
    step = escalate(policy, complaint.due_at, complaint.escalation_level, now)
    if step is None:
        return replace(complaint, escalate_at=None), None
    if ESCALATED not in STEPS[complaint.status]:
        raise IllegalStep(f"a {complaint.status} complaint cannot be escalated")
    escalated = replace(
        complaint,
        status=ESCALATED,
        escalation_level=step.level,
        escalate_at=step.next_at,
        escalated_at=now,
    )
    return escalated, step


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
