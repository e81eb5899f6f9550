"""Survey invitations: which purchases earn one (each kind's delay and throttle), and
the status machine every invitation follows. Plain Python.

::

    scheduled ──send (when due)──▶ sent ──an answer in time──▶ answered
                                     └────unanswered at expiry──▶ expired

An invitation is scheduled as a due-time row; the sweep sends it when due and
gives it its expiry; the first answer of its kind from its customer within
``[invited_at, expires_at)`` closes it, else the sweep lapses it. Each step is one
of these functions, which return the changed invitation and refuse a step the
machine has no arrow for (``IllegalStep``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from services.feedback.domain.complaints import IllegalStep
from services.feedback.domain.config import Invitations
from services.feedback.domain.surveys import Response
from shared.events.activity import SurveyKind

Key = tuple[str, uuid.UUID]  # (tenant, customer)
Status = Literal["scheduled", "sent", "answered", "expired"]
SCHEDULED: Status = "scheduled"
SENT: Status = "sent"
ANSWERED: Status = "answered"
EXPIRED: Status = "expired"
STEPS: Mapping[Status, frozenset[Status]] = {
    SCHEDULED: frozenset({SENT}),
    SENT: frozenset({ANSWERED, EXPIRED}),
    ANSWERED: frozenset(),
    EXPIRED: frozenset(),
}


@dataclass(frozen=True)
class Invitation:
    """One invitation to a survey, from scheduled to answered or expired."""

    invitation_id: uuid.UUID
    tenant_id: str
    customer_id: uuid.UUID
    survey: SurveyKind
    order_id: str | None  # the purchase that occasioned it
    status: Status
    due_at: datetime  # when it is to be sent
    invited_at: datetime | None = None
    expires_at: datetime | None = None
    answered_at: datetime | None = None
    response_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Occasion:
    """A purchase that may earn its customer an invitation."""

    key: Key
    order_id: str
    at: datetime


@dataclass(frozen=True)
class Planned:
    occasion: Occasion
    survey: SurveyKind
    due_at: datetime


def cadences(rules: Invitations) -> dict[SurveyKind, tuple[timedelta, timedelta]]:
    """Per survey kind: (delay after the purchase, least gap between two invitations)."""
    delay = timedelta(hours=rules.csat_after_hours)
    plans: dict[SurveyKind, tuple[timedelta, timedelta]] = {
        "csat": (delay, timedelta(days=rules.throttle_days))
    }
    if rules.nps_every_days:
        plans["nps"] = (delay, timedelta(days=rules.nps_every_days))
    return plans


def plan_invitations(
    rules: Invitations,
    occasions: Iterable[Occasion],
    latest: Mapping[tuple[Key, SurveyKind], datetime],
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


def schedule(planned: Planned, invitation_id: uuid.UUID) -> Invitation:
    """The due-time row of a planned invitation, for the sweep to send when due."""
    tenant_id, customer_id = planned.occasion.key
    return Invitation(
        invitation_id=invitation_id,
        tenant_id=tenant_id,
        customer_id=customer_id,
        survey=planned.survey,
        order_id=planned.occasion.order_id,
        status=SCHEDULED,
        due_at=planned.due_at,
    )


def send(invitation: Invitation, rules: Invitations, now: datetime) -> Invitation:
    """The invitation sent now; an answer counts for it until it expires."""
    _allow(invitation, SENT)
    expires_at = now + timedelta(days=rules.expires_after_days)
    return replace(invitation, status=SENT, invited_at=now, expires_at=expires_at)


def expire(invitation: Invitation) -> Invitation:
    """The invitation nobody answered in time, lapsed."""
    _allow(invitation, EXPIRED)
    return replace(invitation, status=EXPIRED)


def answered(sent: Sequence[Invitation], responses: Iterable[Response]) -> list[Invitation]:
    """The sent invitations these responses answer, each now answered: a response, in
    the order they were given, closes its customer's latest invitation of its kind
    that was open when it was given. A response nobody invited to (a web form, a lapsed
    invitation) answers none and is kept all the same."""
    still_open = sorted(sent, key=_invited_at, reverse=True)
    closed: list[Invitation] = []
    for response in sorted(responses, key=lambda r: r.responded_at):
        found = next((i for i in still_open if _answers(i, response)), None)
        if found is not None:
            still_open.remove(found)
            _allow(found, ANSWERED)
            closed.append(
                replace(
                    found,
                    status=ANSWERED,
                    answered_at=response.responded_at,
                    response_id=response.response_id,
                )
            )
    return closed


def _answers(invitation: Invitation, response: Response) -> bool:
    """Whether ``response`` answers ``invitation``: same customer and kind, given while
    it was open."""
    owner = (invitation.tenant_id, invitation.customer_id, invitation.survey)
    if owner != (response.tenant_id, response.customer_id, response.survey):
        return False
    start, end = invitation.invited_at, invitation.expires_at
    return start is not None and end is not None and start <= response.responded_at < end


def _invited_at(invitation: Invitation) -> datetime:
    return invitation.invited_at or invitation.due_at


def _allow(invitation: Invitation, to: Status) -> None:
    if to not in STEPS[invitation.status]:
        raise IllegalStep(f"a {invitation.status} invitation cannot become {to}")
