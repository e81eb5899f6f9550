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


class Complaint(BaseModel):
    complaint_id: uuid.UUID
    complaint_ref: str
    severity: Severity
    category: str
    channel: str
    status: Literal["open", "escalated", "resolved"]
    opened_at: datetime
    due_at: datetime
    resolved_at: datetime | None
    escalation_level: int = Field(ge=0)
    escalated_at: datetime | None
    resolved_by: str | None = Field(
        None, description="'desk', or 'partner:<name>' for the filing partner's event"
    )


class ComplaintPage(BaseModel):
    complaints: list[Complaint]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page")


class Nps(BaseModel):
    score: float | None = Field(ge=-100, le=100)
    responses: int
    promoters: int
    passives: int
    detractors: int


class Csat(BaseModel):
    average: float | None = Field(ge=1, le=5)
    satisfied_pct: float | None = Field(ge=0, le=100)
    responses: int


class Ces(BaseModel):
    average: float | None = Field(ge=1, le=7)
    responses: int


class Scores(BaseModel):
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    nps: Nps
    csat: Csat
    ces: Ces


class ResolutionRequest(BaseModel):
    """How the service desk resolved a complaint, and the points it grants for it (loyalty
    cuts them to its caps)."""

    model_config = ConfigDict(extra="forbid")

    resolution: Text = Field(min_length=1, max_length=10_000, examples=["Replacement shipped"])
    compensation_points: Annotated[StrictInt, Field(ge=0, le=MAX_COMPENSATION), WHOLE] = Field(
        default=0,
        description="Goodwill points for the trouble; above 0 needs the loyalty:compensate scope",
    )


class FeedbackSweep(BaseModel):
    invited: int = Field(ge=0)
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


class SurveyInvitation(BaseModel):
    """An invitation sent and still open: the customer may answer it until ``expires_at``."""

    invitation_id: uuid.UUID
    survey: Literal["nps", "csat", "ces"]
    order_id: str | None = Field(description="The order it asks about, if any")
    invited_at: datetime
    expires_at: datetime


class InvitationList(BaseModel):
    invitations: list[SurveyInvitation] = Field(description="Newest first, at most 20")
