"""Feedback's answers and the desk's resolution body: complaints, scores, sweeps."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from shared.cursors import KeysetCursor
from shared.events.activity import ComplaintResolved, Severity
from shared.events.bounds import WHOLE, Text
from shared.instants import Instant

# One ceiling for both roads to compensation: the partner's event and the desk's route.
MAX_COMPENSATION = next(
    m.le for m in ComplaintResolved.model_fields["compensation_points"].metadata if hasattr(m, "le")
)


ComplaintStatus = Literal[
    "open", "escalated", "in_progress", "waiting_on_customer", "resolved", "closed"
]


class Complaint(BaseModel):
    complaint_id: uuid.UUID
    complaint_ref: str
    severity: Severity
    category: str = Field(description="detractor_recovery: a detractor's recovery case")
    channel: str
    status: ComplaintStatus
    opened_at: datetime
    due_at: datetime
    resolved_at: datetime | None
    escalation_level: int = Field(ge=0)
    escalated_at: datetime | None
    resolved_by: str | None = Field(
        None, description="'desk', or 'partner:<name>' for the filing partner's event"
    )
    customer_id: uuid.UUID
    assignee: str | None = Field(None, description="The desk agent working it")
    first_contact_at: datetime | None = Field(None, description="When the desk took it up")
    closed_at: datetime | None = None
    reopened: int = Field(0, ge=0, description="How many times the desk reopened it")
    compensation_points: int = Field(0, ge=0, description="What its resolution granted")
    response_id: uuid.UUID | None = Field(
        None, description="The detractor's answer a recovery case follows"
    )
    breached: bool = Field(False, description="Still open past its due time")


class ComplaintPage(BaseModel):
    complaints: list[Complaint]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page")


class Interval(BaseModel):
    """A 95 % confidence interval (the methods: ``Scores.methods``)."""

    model_config = ConfigDict(from_attributes=True)

    low: float
    high: float


class Nps(BaseModel):
    score: float | None = Field(ge=-100, le=100)
    responses: int
    promoters: int
    passives: int
    detractors: int
    interval: Interval | None = Field(
        None, description="95 % interval of the score (adjusted Wald); wide at small n"
    )


class Csat(BaseModel):
    average: float | None = Field(ge=1, le=5)
    satisfied_pct: float | None = Field(ge=0, le=100)
    responses: int
    average_interval: Interval | None = Field(None, description="95 % (Student t)")
    satisfied_interval: Interval | None = Field(None, description="95 % (Wilson)")


class Ces(BaseModel):
    average: float | None = Field(ge=1, le=7)
    responses: int
    interval: Interval | None = Field(None, description="95 % interval of the average (Student t)")


class Recovery(BaseModel):
    """How the detractors' recovery cases opened in the window were followed up."""

    cases: int = Field(ge=0)
    contacted_within_sla: int = Field(ge=0, description="Taken up by the desk by their due time")
    contacted_within_sla_pct: float | None = Field(ge=0, le=100)
    answered_again: int = Field(ge=0, description="Customers who answered a survey since")
    recovered: int = Field(ge=0, description="… no longer as detractors (passive or promoter)")
    recovered_pct: float | None = Field(ge=0, le=100)


class ScoreGroup(BaseModel):
    """The scores of one group in one period (each figure with its answers and interval)."""

    group: str | None = Field(
        description="The channel, stage, tier or value class; null: not known (or not grouped)"
    )
    period: datetime | None = Field(description="Start of the day, week (Monday) or month, UTC")
    nps: Nps
    csat: Csat
    ces: Ces


INTERVAL_METHODS = {
    "level": "0.95",
    "nps": "adjusted Wald (Rocks 2016): z²/4 added to promoters and detractors",
    "share": "Wilson score",
    "average": "Student t, sample standard deviation",
}


class Scores(BaseModel):
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    nps: Nps
    csat: Csat
    ces: Ces
    recovery: Recovery | None = None
    group_by: str | None = Field(None, description="What ``groups`` are grouped by, if asked")
    interval: str | None = Field(None, description="The series' period (day, week, month)")
    groups: list[ScoreGroup] | None = Field(
        None, description="With ?group_by= and/or ?interval=: the scores per group and period"
    )
    methods: dict[str, str] = Field(
        default_factory=lambda: dict(INTERVAL_METHODS),
        description="How the 95 % intervals are computed; NPS is noisy at small n",
    )


class ResolutionRequest(BaseModel):
    """How the service desk resolved a complaint, and the points it grants for it (loyalty
    cuts them to its caps)."""

    model_config = ConfigDict(extra="forbid")

    resolution: Text = Field(min_length=1, max_length=10_000, examples=["Replacement shipped"])
    compensation_points: Annotated[StrictInt, Field(ge=0, le=MAX_COMPENSATION), WHOLE] = Field(
        default=0,
        description="Goodwill points for the trouble; above 0 needs the loyalty:compensate scope",
    )


class RecordedResolution(ResolutionRequest):
    """A resolution as the gateway forwards it, with the key that decided it: every
    goodwill grant is attributable to the key that granted it."""

    resolver: str | None = Field(None, max_length=80)


class FeedbackSweep(BaseModel):
    invited: int = Field(ge=0)
    suppressed: int = Field(
        0, ge=0, description="Invitations that fell due but may not go (fatigue, consent, …)"
    )
    expired: int = Field(ge=0)
    escalated: int = Field(ge=0)


# The complaints' query: a page at a time, newest first; the scores' window.
ComplaintLimit = Annotated[int, Query(ge=1, le=200)]
ComplaintCursor = KeysetCursor
WindowStart = Annotated[
    Instant | None, Query(alias="from", description="Start of [from, to); default: to − 30 days")
]
WindowEnd = Annotated[
    Instant | None, Query(alias="to", description="End of [from, to); default: now")
]
ScoreGroupBy = Annotated[
    Literal["channel", "stage", "tier", "value_class", "segment"] | None,
    Query(description="Group the window's answers by the customer's current stage, tier, "
          "value class or segments (by segment id: one answer counts in each segment "
          "its customer is in), or the channel they answered on"),
]  # fmt: skip
ScoreInterval = Annotated[
    Literal["day", "week", "month"] | None,
    Query(description="A time series: scores per day, week (from Monday) or month (UTC); "
          "at most 400 periods"),
]  # fmt: skip
