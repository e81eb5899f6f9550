"""Events feedback publishes on ``crm.feedback``."""

from __future__ import annotations

from datetime import timedelta

from pydantic import AwareDatetime, Field

from shared.events.activity import Severity, SurveyKind
from shared.events.bounds import Id, Name
from shared.events.payload import Payload


class ComplaintOpened(Payload):
    """A complaint was recorded and its SLA clock started."""

    complaint_id: Id
    complaint_ref: Name
    severity: Severity
    category: Name
    opened_at: AwareDatetime
    due_at: AwareDatetime
    open_complaints: int


class ComplaintResolved(Payload):
    """A complaint was resolved; ``open_complaints`` is the customer's count after it."""

    complaint_id: Id
    complaint_ref: Name
    severity: Severity
    opened_at: AwareDatetime
    resolved_at: AwareDatetime
    within_sla: bool
    compensation_points: int = Field(description="Points the resolver asked for (loyalty caps)")
    open_complaints: int
    resolved_by: str | None = Field(
        default=None,
        description="'desk' (the service desk route) or 'partner:<name>' (the filing "
        "partner's complaint.resolved); absent on resolutions announced before it existed",
    )


class SurveyAnswered(Payload):
    """A survey answer was recorded; ``category`` is the NPS bucket for NPS answers."""

    survey: SurveyKind
    score: int
    category: Name | None
    at: AwareDatetime


class SurveyInvited(Payload):
    """The customer was invited to a survey; an answer before ``expires_at`` counts for it."""

    invitation_id: Id
    survey: SurveyKind
    order_id: Name | None = Field(None, description="The purchase that occasioned it, if any")
    invited_at: AwareDatetime
    expires_at: AwareDatetime


class ComplaintEscalated(Payload):
    """A complaint passed its SLA deadline unresolved and was escalated to ``level``."""

    complaint_id: Id
    complaint_ref: Name
    severity: Severity
    level: int
    due_at: AwareDatetime
    escalated_at: AwareDatetime
    overdue_by: timedelta = Field(description="How long past due_at, an ISO 8601 duration")
