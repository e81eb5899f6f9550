"""Survey definitions: per tenant, what each survey (NPS, CSAT, CES) asks, in which
languages, on which occasions, how long after them, on which channels and for how long.

A tenant that stored none has the defaults of ``feedback.toml``: CSAT after a purchase,
CES after a complaint's resolution, and NPS (when ``nps_every_days`` is set) after a
purchase at most that often. Plain Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal, get_args

from services.feedback.domain.config import Invitations
from shared.events.activity import SurveyKind
from shared.events.lifecycle import Stage
from shared.events.profile import ConsentChannel

# The occasions a survey can name (besides ``stages``, the stages whose entry it follows).
Trigger = Literal["purchase", "complaint_resolved", "periodic"]
KINDS: tuple[SurveyKind, ...] = get_args(SurveyKind)
QUESTIONS: Mapping[SurveyKind, str] = {
    "nps": "How likely are you to recommend us to a friend or colleague?",
    "csat": "How satisfied are you with your purchase?",
    "ces": "How easy was it to get your issue resolved?",
}


@dataclass(frozen=True)
class SurveyDefinition:
    """One survey of a tenant. ``every_days`` is the least gap between two invitations
    to it for one customer (and the period of a ``periodic`` one)."""

    survey: SurveyKind
    enabled: bool
    questions: Mapping[str, str]
    triggers: tuple[Trigger, ...]
    stages: tuple[Stage, ...]
    delay_hours: float
    every_days: int
    channels: tuple[ConsentChannel, ...]
    expires_after_days: int
    stored: bool = field(default=False, compare=False)  # the tenant's own, not a default

    @property
    def delay(self) -> timedelta:
        return timedelta(hours=self.delay_hours)

    @property
    def every(self) -> timedelta:
        return timedelta(days=self.every_days)

    @property
    def expires_after(self) -> timedelta:
        return timedelta(days=self.expires_after_days)


Surveys = Mapping[SurveyKind, SurveyDefinition]


def defaults(rules: Invitations) -> dict[SurveyKind, SurveyDefinition]:
    """The surveys of a tenant that defined none, from the rule file."""

    def survey(kind: SurveyKind, triggers: tuple[Trigger, ...], delay: float, every: int,
               enabled: bool = True) -> SurveyDefinition:  # fmt: skip
        return SurveyDefinition(
            survey=kind,
            enabled=enabled,
            questions={"en": QUESTIONS[kind]},
            triggers=triggers,
            stages=(),
            delay_hours=delay,
            every_days=every,
            channels=rules.channels,
            expires_after_days=rules.expires_after_days,
        )

    nps_every = rules.nps_every_days
    return {
        "nps": survey(
            "nps",
            ("purchase",),
            rules.csat_after_hours,
            nps_every or 90,
            enabled=nps_every is not None,
        ),
        "csat": survey("csat", ("purchase",), rules.csat_after_hours, rules.throttle_days),
        "ces": survey("ces", ("complaint_resolved",), rules.ces_after_hours, 1),
    }


def effective(rules: Invitations, stored: Mapping[SurveyKind, SurveyDefinition]) -> Surveys:
    """A tenant's surveys: the ones it stored, the defaults for the others."""
    return {**defaults(rules), **stored}


def replaced(given: Mapping[SurveyKind, SurveyDefinition]) -> dict[SurveyKind, SurveyDefinition]:
    """What a tenant's whole new set stores: the surveys given, and each kind left out
    stored as not asked (so the rule file's default no longer applies to it)."""
    return {
        kind: given.get(kind)
        or SurveyDefinition(kind, False, {"en": QUESTIONS[kind]}, (), (), 24, 30, ("email",), 14)
        for kind in KINDS
    }
