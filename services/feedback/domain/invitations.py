"""Survey invitations: which occasions earn one (each survey's triggers, delay and
throttle), and the status machine every invitation follows. Plain Python.

::

    scheduled ──send (when due)──▶ sent ──an answer in time──▶ answered
        │                            └────unanswered at expiry──▶ expired
        └──the audience rules say no──▶ suppressed

An invitation is scheduled as a due-time row; when it falls due the sweep asks
``audience.gate`` whether it may go (fatigue, an open complaint, a churned
customer, consent) and on which channel, then sends it with its expiry or
suppresses it with the reason. The first answer of its kind from its customer
within ``[invited_at, expires_at)`` closes it, else the sweep lapses it. Each step
is one of these functions, which return the changed invitation and refuse a step
the machine has no arrow for (``IllegalStep``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from services.feedback.domain.complaints import IllegalStep
from services.feedback.domain.definitions import SurveyDefinition, Surveys
from services.feedback.domain.surveys import Response
from shared.events.activity import SurveyKind
from shared.events.feedback import OccasionKind
from shared.events.profile import ConsentChannel

Key = tuple[str, uuid.UUID]  # (tenant, customer)
Status = Literal["scheduled", "sent", "answered", "expired", "suppressed"]
SCHEDULED: Status = "scheduled"
SENT: Status = "sent"
ANSWERED: Status = "answered"
EXPIRED: Status = "expired"
SUPPRESSED: Status = "suppressed"
STEPS: Mapping[Status, frozenset[Status]] = {
    SCHEDULED: frozenset({SENT, SUPPRESSED}),
    SENT: frozenset({ANSWERED, EXPIRED}),
    ANSWERED: frozenset(),
    EXPIRED: frozenset(),
    SUPPRESSED: frozenset(),
}
# Why an invitation that fell due was not sent.
Suppression = Literal["churned", "open_complaint", "fatigue", "no_consent", "survey_off"]


@dataclass(frozen=True)
class Invitation:
    """One invitation to a survey, from scheduled to answered, expired or suppressed."""

    invitation_id: uuid.UUID
    tenant_id: str
    customer_id: uuid.UUID
    survey: SurveyKind
    order_id: str | None  # the purchase that occasioned it, if one did
    status: Status
    due_at: datetime  # when it is to be sent
    invited_at: datetime | None = None
    expires_at: datetime | None = None
    answered_at: datetime | None = None
    response_id: uuid.UUID | None = None
    occasion: OccasionKind = "purchase"
    occasion_ref: str | None = None  # the order, complaint or stage; the previous link
    channel: ConsentChannel | None = None
    suppressed: Suppression | None = None

    @property
    def key(self) -> Key:
        return self.tenant_id, self.customer_id


@dataclass(frozen=True)
class Occasion:
    """Something that may earn its customer an invitation: a purchase (``ref`` its
    order), a resolved complaint (its id) or the entry into a stage (the stage)."""

    key: Key
    kind: OccasionKind
    ref: str
    at: datetime


@dataclass(frozen=True)
class Planned:
    occasion: Occasion
    survey: SurveyKind
    kind: OccasionKind  # the occasion's, or ``periodic`` for a relationship survey's first
    due_at: datetime


# Each customer's latest invitation due time, by (customer key, survey, occasion kind).
Latest = Mapping[tuple[Key, SurveyKind, OccasionKind], datetime]


def plan_invitations(
    surveys_of: Mapping[str, Surveys], occasions: Iterable[Occasion], latest: Latest
) -> list[Planned]:
    """The invitations these occasions earn, oldest first: one per survey whose triggers
    name the occasion, unless the customer's latest invitation to that survey
    (``latest``, those planned here included) falls due within its ``every_days``. A
    purchase also starts a ``periodic`` survey's chain for a customer who has none."""
    last: dict[tuple[Key, SurveyKind], datetime] = {}
    chained: set[tuple[Key, SurveyKind]] = set()
    for (key, survey, kind), at in latest.items():
        last[(key, survey)] = max(at, last.get((key, survey), at))
        if kind == "periodic":
            chained.add((key, survey))
    planned: list[Planned] = []
    for occasion in sorted(occasions, key=lambda o: o.at):
        for definition in surveys_of[occasion.key[0]].values():
            triggered = _triggered(
                definition, occasion, (occasion.key, definition.survey) in chained
            )
            if triggered is None:
                continue
            due_at = occasion.at + definition.delay
            previous = last.get((occasion.key, definition.survey))
            if previous is not None and abs(due_at - previous) < definition.every:
                continue
            last[(occasion.key, definition.survey)] = due_at
            if triggered == "periodic":
                chained.add((occasion.key, definition.survey))
            planned.append(Planned(occasion, definition.survey, triggered, due_at))
    return planned


def _triggered(
    definition: SurveyDefinition, occasion: Occasion, chained: bool
) -> OccasionKind | None:
    """The kind of invitation ``occasion`` earns to the survey, or None."""
    if not definition.enabled:
        return None
    if occasion.kind == "stage_entered":
        return occasion.kind if occasion.ref in definition.stages else None
    periodic = "periodic" in definition.triggers and occasion.kind == "purchase"
    if periodic and not chained:
        return "periodic"  # the first of the chain
    return occasion.kind if occasion.kind in definition.triggers else None


def schedule(planned: Planned, invitation_id: uuid.UUID) -> Invitation:
    """The due-time row of a planned invitation, for the sweep to send when due."""
    tenant_id, customer_id = planned.occasion.key
    occasion = planned.occasion
    return Invitation(
        invitation_id=invitation_id,
        tenant_id=tenant_id,
        customer_id=customer_id,
        survey=planned.survey,
        order_id=occasion.ref if occasion.kind == "purchase" else None,
        status=SCHEDULED,
        due_at=planned.due_at,
        occasion=planned.kind,
        occasion_ref=occasion.ref,
    )


def next_link(settled: Invitation, definition: SurveyDefinition | None) -> Invitation | None:
    """The next invitation of a relationship survey's chain, one period after the one
    just settled (sent or suppressed): None unless the survey is still periodic."""
    if settled.occasion != "periodic" or definition is None or not definition.enabled:
        return None
    if "periodic" not in definition.triggers:
        return None
    return replace(
        settled,
        invitation_id=uuid.uuid5(settled.invitation_id, "next"),
        status=SCHEDULED,
        due_at=settled.due_at + definition.every,
        order_id=None,
        occasion_ref=str(settled.invitation_id),
        invited_at=None,
        expires_at=None,
        answered_at=None,
        response_id=None,
        channel=None,
        suppressed=None,
    )


def send(
    invitation: Invitation, channel: ConsentChannel, definition: SurveyDefinition, now: datetime
) -> Invitation:
    """The invitation sent now on ``channel``; an answer counts for it until it expires."""
    _allow(invitation, SENT)
    expires_at = now + definition.expires_after
    return replace(invitation, status=SENT, invited_at=now, expires_at=expires_at, channel=channel)


def suppress(invitation: Invitation, reason: Suppression) -> Invitation:
    """The invitation that fell due but may not go, with the reason."""
    _allow(invitation, SUPPRESSED)
    return replace(invitation, status=SUPPRESSED, suppressed=reason)


def expire(invitation: Invitation) -> Invitation:
    """The invitation nobody answered in time, lapsed."""
    _allow(invitation, EXPIRED)
    return replace(invitation, status=EXPIRED)


def answer(invitation: Invitation, response: Response) -> Invitation:
    """The invitation ``response`` answers (by its token), answered."""
    _allow(invitation, ANSWERED)
    return replace(
        invitation,
        status=ANSWERED,
        answered_at=response.responded_at,
        response_id=response.response_id,
    )


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
            closed.append(answer(found, response))
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
