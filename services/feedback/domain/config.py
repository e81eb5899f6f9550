"""Feedback's configuration as data: SLA targets per severity, the escalation policy and
the survey invitation rules, read from a TOML file and validated before the service starts.

A file that leaves a severity without an SLA, escalates before anything is due or
invites to a survey nobody defined stops the service with a message naming the
problem, before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.config import RuleFileError, load_toml
from shared.events.activity import Severity

SEVERITIES: tuple[str, ...] = get_args(Severity)
Hours = Annotated[float, Field(gt=0, le=24 * 366)]
Days = Annotated[int, Field(ge=1, le=3660)]


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


class FeedbackConfig(Section):
    sla: Sla
    escalation: Escalation = Escalation()
    invitations: Invitations = Invitations()


def load_config(path: Path) -> FeedbackConfig:
    """Read and validate a feedback file (``ConfigError`` names the file and the problem)."""
    return load_toml(path, FeedbackConfig, "feedback config", ConfigError)
