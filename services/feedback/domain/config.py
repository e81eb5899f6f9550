"""Feedback's configuration as data: SLA targets per severity, the escalation policy and
the survey invitation rules, read from a TOML file and validated before the service starts.

A file that leaves a severity without an SLA, escalates before anything is due or
invites to a survey nobody defined stops the service with a message naming the
problem, before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.config import RuleFileError, load_toml, parse_toml
from shared.events.activity import Severity
from shared.events.profile import ConsentChannel

SEVERITIES: tuple[str, ...] = get_args(Severity)
Hours = Annotated[float, Field(gt=0, le=24 * 366)]
Days = Annotated[int, Field(ge=1, le=3660)]
# opt_out: invite unless the customer withdrew consent for surveys on the channel;
# opt_in: invite only on a channel the customer granted it for.
ConsentModel = Literal["opt_out", "opt_in"]


class ConfigError(RuleFileError):
    """The feedback file is unreadable or breaks a rule; the message names both."""


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Sla(Section):
    """Hours a complaint of each severity may stay open; every severity needs one."""

    hours: dict[Severity, Hours]

    @model_validator(mode="after")
    def _every_severity(self) -> Sla:
        missing = [s for s in SEVERITIES if s not in self.hours]
        if missing:
            raise ValueError(f"no SLA hours for severity {', '.join(missing)}")
        return self


class Escalation(Section):
    """A breached complaint is escalated at once (level 1), then one level more every
    ``repeat_hours`` it stays unresolved, up to ``max_level``."""

    repeat_hours: Hours = 24
    max_level: Annotated[int, Field(ge=1, le=10)] = 3


class Invitations(Section):
    """Who is asked what, and when: a CSAT invitation ``csat_after_hours`` after a
    purchase, at most one per customer per ``throttle_days``; optionally an NPS
    relationship survey at most every ``nps_every_days`` (with a purchase as the
    occasion). An invitation unanswered for ``expires_after_days`` lapses."""

    csat_after_hours: Hours = 24
    throttle_days: Days = 30
    expires_after_days: Days = 14
    nps_every_days: Days | None = None
    ces_after_hours: Hours = 24
    """The CES follow-up, this long after a complaint is resolved (at most one a day)."""
    fatigue_days: Annotated[int, Field(ge=0, le=3660)] = 7
    """At most one invitation per customer within this many days, whatever the survey
    (the CES after a resolution excepted); 0: no limit across surveys."""
    channels: tuple[ConsentChannel, ...] = Field(("email",), min_length=1, max_length=5)
    """Where invitations go, in order of preference, unless a tenant's survey says."""
    survey_consent: ConsentModel = "opt_out"


class Detractors(Section):
    """Which answers are a detractor's: NPS at most ``nps_max``, CSAT at most
    ``csat_max``, CES (effort) at least ``ces_min``."""

    nps_max: Annotated[int, Field(ge=0, le=10)] = 6
    csat_max: Annotated[int, Field(ge=1, le=5)] = 2
    ces_min: Annotated[int, Field(ge=1, le=7)] = 5

    def __call__(self, survey: str, score: int) -> bool:
        """Whether ``score`` on ``survey`` is a detractor's answer."""
        if survey == "nps":
            return score <= self.nps_max
        if survey == "csat":
            return score <= self.csat_max
        return score >= self.ces_min


class Recovery(Section):
    """A detractor's recovery case: a complaint of ``category`` (``detractor_recovery``)
    at ``severity``, due ``sla_hours`` after the answer."""

    severity: Severity = "medium"
    sla_hours: Hours = 48


class Desk(Section):
    """What one agent may grant: goodwill points at most ``max_goodwill_points`` per
    resolution (loyalty's own caps per customer and period apply after)."""

    max_goodwill_points: Annotated[int, Field(ge=0, le=1_000_000)] = 10_000


class FeedbackConfig(Section):
    sla: Sla
    escalation: Escalation = Escalation()
    invitations: Invitations = Invitations()
    detractors: Detractors = Detractors()
    recovery: Recovery = Recovery()
    desk: Desk = Desk()

    @model_validator(mode="after")
    def _channels_once(self) -> FeedbackConfig:
        channels = self.invitations.channels
        if len(set(channels)) != len(channels):
            raise ValueError("invitations.channels names a channel twice")
        return self


def parse_config(text: str, origin: str) -> FeedbackConfig:
    """Validate a tenant's policy text as the file is at start (``ConfigError`` names
    ``origin`` and each problem)."""
    return parse_toml(text, FeedbackConfig, f"feedback config {origin}", ConfigError)


def load_config(path: Path) -> FeedbackConfig:
    """Read and validate a feedback file (``ConfigError`` names the file and the problem)."""
    return load_toml(path, FeedbackConfig, "feedback config", ConfigError)
