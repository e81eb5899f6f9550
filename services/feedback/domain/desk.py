"""The service desk's work on a complaint: take it up, wait on the customer, close a
resolved one, reopen it, assign it, and the notes agents leave on it. Plain Python.

Resolution is ``complaints.resolve`` (it carries a text and maybe goodwill points);
everything else an agent does is one of these functions, each a step of the status
machine drawn in ``complaints`` and refused with ``IllegalStep`` (naming the states)
where it has no arrow. Asking for the status a complaint already has changes
nothing, so a retried request is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from services.feedback.domain.complaints import (
    CLOSED,
    OPEN,
    OPEN_STATUSES,
    Complaint,
    IllegalStep,
    allow,
    escalation_due,
    sla_due,
)
from services.feedback.domain.config import FeedbackConfig

# The statuses an agent sets directly (``resolved`` takes the resolution route).
DeskStatus = Literal["in_progress", "waiting_on_customer", "closed", "open"]
MAX_NOTES = 200  # per complaint: notes are for the people working it, not a chat log


class TooManyNotes(ValueError):
    """A complaint already holds ``MAX_NOTES`` notes."""


@dataclass(frozen=True)
class Note:
    """An agent's internal note on a complaint (never shown to the customer)."""

    author: str | None
    text: str
    at: datetime


def move(complaint: Complaint, to: DeskStatus, config: FeedbackConfig, now: datetime) -> Complaint:
    """The complaint moved to ``to`` by an agent now (the same status: unchanged)."""
    if complaint.status == to:
        return complaint
    allow(complaint.status, to)
    if to == CLOSED:
        return replace(complaint, status=CLOSED, closed_at=now)
    if to == OPEN:
        return reopen(complaint, config, now)
    return replace(complaint, status=to, first_contact_at=complaint.first_contact_at or now)


def reopen(complaint: Complaint, config: FeedbackConfig, now: datetime) -> Complaint:
    """A resolved complaint open again: a fresh deadline from now and its escalation
    from the start; the previous resolution is kept in a note (``reopening_note``)."""
    allow(complaint.status, OPEN)
    due_at = sla_due(config, complaint.severity, complaint.category, now)
    return replace(
        complaint,
        status=OPEN,
        due_at=due_at,
        escalation_level=0,
        escalate_at=escalation_due(config.escalation, due_at, 1),
        escalated_at=None,
        resolved_at=None,
        resolved_by=None,
        resolution=None,
        resolver=None,
        compensation_points=0,
        reopened=complaint.reopened + 1,
    )


def reopening_note(resolved: Complaint, actor: str | None, now: datetime) -> Note:
    """What a reopening keeps of the resolution it undoes."""
    at = resolved.resolved_at.isoformat() if resolved.resolved_at else "?"
    text = (
        f"Reopened. It was resolved at {at} by {resolved.resolved_by} "
        f"({resolved.resolver or 'no key recorded'}), granting "
        f"{resolved.compensation_points} points: {resolved.resolution or ''}"
    )
    return Note(actor, text[:2000], now)


def assign(complaint: Complaint, assignee: str | None) -> Complaint:
    """The complaint given to ``assignee`` (None: to nobody); only an open one."""
    if complaint.assignee == assignee:
        return complaint
    if complaint.status not in OPEN_STATUSES:
        raise IllegalStep(
            f"A {complaint.status} complaint cannot be assigned; reopen it first"
            + (" (a closed one cannot be)." if complaint.status == CLOSED else ".")
        )
    return replace(complaint, assignee=assignee)


def check_room(notes_so_far: int) -> None:
    """Raise ``TooManyNotes`` when a complaint has no room for another note."""
    if notes_so_far >= MAX_NOTES:
        raise TooManyNotes(f"a complaint holds at most {MAX_NOTES} notes")
