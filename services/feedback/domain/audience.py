"""Who may be asked, and where: the rules an invitation passes when it falls due. Plain
Python.

Being asked too often, while a complaint is open, after leaving, or on a channel the
customer refused, is what makes people stop answering (or complain). So an invitation
that falls due goes out only if

- the customer is not churned (lifecycle's stage, folded from its events);
- no complaint of theirs is open, unless it is the CES that follows a resolution;
- no other invitation reached them within ``fatigue_days``, whatever its survey,
  unless it is that CES (the closed loop asks it, and it counts for the others);
- one of the survey's channels is allowed for surveys: under ``opt_out`` any channel
  the customer did not withdraw, under ``opt_in`` only one they granted.

Each rule's refusal is the invitation's suppression reason, checked in this order.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from services.feedback.domain.config import ConsentModel, Invitations
from services.feedback.domain.definitions import SurveyDefinition
from services.feedback.domain.invitations import Invitation, Suppression
from shared.events.profile import ConsentChannel

CHURNED = "churned"
FOLLOW_UP = "complaint_resolved"  # the occasion of the CES a resolution earns
K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


@dataclass(frozen=True)
class Dated(Generic[T]):
    """A fact about a customer and when it became true (a consent decision, a stage)."""

    value: T
    at: datetime


def newest(
    recorded: Mapping[K, Dated[T] | None], incoming: Iterable[tuple[K, Dated[T]]]
) -> dict[K, Dated[T]]:
    """What changes of ``recorded`` once ``incoming`` is folded in: per key, the newest
    fact (of equal instants, the later to arrive), when newer than the one recorded.
    Events reach feedback out of order; an older one changes nothing."""
    latest = dict(recorded)
    changed: dict[K, Dated[T]] = {}
    for key, fact in incoming:
        known = latest.get(key)
        if known is None or fact.at >= known.at:
            latest[key] = changed[key] = fact
    return changed


@dataclass(frozen=True)
class Audience:
    """What feedback knows of a customer when an invitation to them falls due."""

    stage: str | None = None
    open_complaints: int = 0
    last_invited_at: datetime | None = None
    # Consent for surveys, by channel: True granted, False withdrawn (latest decision).
    consent: Mapping[ConsentChannel, bool] = field(default_factory=dict)

    def invited(self, at: datetime) -> Audience:
        """The customer once an invitation reached them at ``at``."""
        return replace(self, last_invited_at=at)


@dataclass(frozen=True)
class Verdict:
    channel: ConsentChannel | None = None
    suppressed: Suppression | None = None


def gate(
    invitation: Invitation,
    definition: SurveyDefinition | None,
    audience: Audience,
    rules: Invitations,
    now: datetime,
) -> Verdict:
    """Whether ``invitation`` may go now, and on which channel; else why not."""
    follow_up = invitation.occasion == FOLLOW_UP
    if definition is None or not definition.enabled:
        return Verdict(suppressed="survey_off")
    if audience.stage == CHURNED:
        return Verdict(suppressed="churned")
    if audience.open_complaints > 0 and not follow_up:
        return Verdict(suppressed="open_complaint")
    if not follow_up and fatigued(audience.last_invited_at, rules.fatigue_days, now):
        return Verdict(suppressed="fatigue")
    channel = first_allowed(definition.channels, audience.consent, rules.survey_consent)
    return Verdict(channel=channel) if channel else Verdict(suppressed="no_consent")


def fatigued(last_invited_at: datetime | None, fatigue_days: int, now: datetime) -> bool:
    """Whether an invitation at ``last_invited_at`` still counts against one now."""
    if last_invited_at is None or fatigue_days == 0:
        return False
    return now - last_invited_at < timedelta(days=fatigue_days)


def first_allowed(
    channels: tuple[ConsentChannel, ...],
    consent: Mapping[ConsentChannel, bool],
    model: ConsentModel,
) -> ConsentChannel | None:
    """The first of ``channels`` (in preference order) the customer may be asked on."""
    for channel in channels:
        decided = consent.get(channel)
        if decided is True or (decided is None and model == "opt_out"):
            return channel
    return None
