"""Complaint rules: the status machine, the SLA deadline, who may resolve, and escalation
on breach. Plain Python.

A complaint opens ``open`` with the deadline its severity earns (a detractor's
recovery case, the deadline of ``[recovery]``). The service desk works it
(``domain.desk``); past the deadline the sweep escalates it, a level at a time up to
the policy's top; it is resolved once, and a resolved complaint is closed for good
or reopened with a fresh deadline::

    open ──escalate──▶ escalated ──escalate──▶ escalated (the next level)
      │  ╲                 │  ╲
      │   ▶ in_progress ◀──┼───▶ waiting_on_customer      (the desk; escalation raises
      │        │           │           │                   their level, not their status)
      └──── resolve ───────┴───────────┴──────────▶ resolved ──close──▶ closed
                                                       │
      open ◀───────────────── reopen ──────────────────┘

Every change of status is one of these functions, which return the changed
complaint and refuse a step the machine has no arrow for (``IllegalStep``, which
names the states).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from services.feedback.domain.config import Escalation, FeedbackConfig
from shared.events.activity import Severity

Status = Literal["open", "escalated", "in_progress", "waiting_on_customer", "resolved", "closed"]
OPEN: Status = "open"
ESCALATED: Status = "escalated"
IN_PROGRESS: Status = "in_progress"
WAITING: Status = "waiting_on_customer"
RESOLVED: Status = "resolved"
CLOSED: Status = "closed"
# Statuses of a complaint still to be resolved: counted as open everywhere.
OPEN_STATUSES: tuple[Status, ...] = (OPEN, ESCALATED, IN_PROGRESS, WAITING)
# Where a complaint of each status may go next (escalation keeps an agent's status).
STEPS: Mapping[Status, frozenset[Status]] = {
    OPEN: frozenset({ESCALATED, IN_PROGRESS, WAITING, RESOLVED}),
    ESCALATED: frozenset({ESCALATED, IN_PROGRESS, WAITING, RESOLVED}),
    IN_PROGRESS: frozenset({IN_PROGRESS, WAITING, RESOLVED}),
    WAITING: frozenset({WAITING, IN_PROGRESS, RESOLVED}),
    RESOLVED: frozenset({CLOSED, OPEN}),
    CLOSED: frozenset(),
}
DESK = "desk"  # who resolved a complaint through the service desk route
RECOVERY = "detractor_recovery"  # the category of a detractor's recovery case
Refusal = Literal["unknown", "not_filer", "not_open"]


class IllegalStep(ValueError):
    """A complaint (or invitation) was asked to move where its status machine has no
    arrow; the message names where it stands and where it may go."""


def allow(status: Status, to: Status, what: str = "complaint") -> None:
    """Raise ``IllegalStep`` unless a complaint of ``status`` may become ``to``."""
    if to not in STEPS[status]:
        onward = ", ".join(sorted(STEPS[status])) or "nothing (it is final)"
        raise IllegalStep(f"The {what} is {status}: it cannot become {to}; it may become {onward}.")


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
    assignee: str | None = None  # the desk agent working it
    first_contact_at: datetime | None = None  # when the desk first took it up
    closed_at: datetime | None = None
    reopened: int = 0  # how many times the desk reopened it
    compensation_points: int = 0  # what its resolution asked loyalty to grant
    resolver: str | None = None  # who resolved it at the desk: the API key
    response_id: uuid.UUID | None = None  # the detractor's answer a recovery case follows

    @property
    def customer(self) -> tuple[str, uuid.UUID]:
        return self.tenant_id, self.customer_id


@dataclass(frozen=True)
class Resolution:
    """What closes a complaint: when, by whom (DESK or a partner, and at the desk the
    API key that did), with what and for how many points."""

    at: datetime
    by: str
    text: str
    points: int
    resolver: str | None = None


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
    response_id: uuid.UUID | None = None,
) -> Complaint:
    """A filed complaint, open, due by its SLA and escalated if still open then."""
    due_at = sla_due(config, severity, category, opened_at)
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
        response_id=response_id,
    )


def sla_due(config: FeedbackConfig, severity: Severity, category: str, at: datetime) -> datetime:
    """When a complaint of this severity and category, opened at ``at``, must be resolved:
    a recovery case by ``[recovery]``, any other by its severity's SLA."""
    hours = config.recovery.sla_hours if category == RECOVERY else config.sla.hours[severity]
    return at + timedelta(hours=hours)


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
    """Only an open complaint (any status before ``resolved``) can be resolved, and only
    by a resolution dated after it was opened: a second resolution changes nothing
    (partners retry), and one dated earlier cannot be about it, whichever order the two
    arrived in."""
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


def desk_resolution(
    complaint: Complaint, text: str, points: int, now: datetime, resolver: str | None = None
) -> Resolution:
    """The service desk resolves now; a complaint dated ahead of the service's clock is
    resolved at its own opening, never before it."""
    return Resolution(max(now, complaint.opened_at), DESK, text, points, resolver)


def resolve(complaint: Complaint, resolution: Resolution) -> Complaint:
    """The complaint closed by ``resolution``; nothing is due for it any more.
    ``IllegalStep`` unless it is ``resolvable`` at the resolution's date."""
    allow(complaint.status, RESOLVED)
    if resolution.at < complaint.opened_at:
        raise IllegalStep(
            f"A complaint opened at {complaint.opened_at.isoformat()} cannot be resolved at "
            f"{resolution.at.isoformat()}, before it."
        )
    desk = resolution.by == DESK
    return replace(
        complaint,
        status=RESOLVED,
        resolved_at=resolution.at,
        resolved_by=resolution.by,
        resolution=resolution.text,
        escalate_at=None,
        compensation_points=resolution.points,
        resolver=resolution.resolver,
        first_contact_at=complaint.first_contact_at or (resolution.at if desk else None),
    )


def escalate_complaint(
    complaint: Complaint, policy: Escalation, now: datetime
) -> tuple[Complaint, Escalated | None]:
    """A complaint whose escalation fell due, one level up (with the step taken), or,
    when no level is left to reach, left as it is with nothing more due. The step is
    taken at the time its level fell due (never later than ``now``), however late the
    sweep runs: live that is seconds early, and a rebuild, whose sweep runs only when
    the customer's next event needs it, escalates at the times live did."""
    at = min(now, escalation_due(policy, complaint.due_at, complaint.escalation_level + 1))
    step = escalate(policy, complaint.due_at, complaint.escalation_level, at)
    if step is None:
        return replace(complaint, escalate_at=None), None
    # An untouched complaint shows it is escalated; one the desk works keeps its status.
    status = ESCALATED if complaint.status in (OPEN, ESCALATED) else complaint.status
    allow(complaint.status, status)
    escalated = replace(
        complaint,
        status=status,
        escalation_level=step.level,
        escalate_at=step.next_at,
        escalated_at=at,
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
