"""Events feedback publishes on ``crm.feedback``."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from shared.events.activity import Severity, SurveyKind
from shared.events.bounds import Id, Name, Note
from shared.events.payload import Payload
from shared.events.profile import ConsentChannel
from shared.sealing import Personal

# What occasioned an invitation: a purchase, a complaint's resolution (the CES follow-up),
# the period of a relationship survey, or the customer's entry into a lifecycle stage.
OccasionKind = Literal["purchase", "complaint_resolved", "periodic", "stage_entered"]


class ComplaintOpened(Payload):
    """A complaint was recorded and its SLA clock started."""

    complaint_id: Id
    complaint_ref: Name
    severity: Severity
    category: Name
    opened_at: AwareDatetime
    due_at: AwareDatetime
    open_complaints: int
    reopened: bool = Field(
        default=False,
        description="True when the service desk reopened a resolved complaint: it counts as "
        "open again and its SLA clock restarted (due_at); the complaint_id is the same",
    )


class ComplaintResolved(Payload, Personal):
    """A complaint was resolved; ``open_complaints`` is the customer's count after it.
    The desk's ``resolution`` (free text) travels sealed under the customer's key."""

    PERSONAL = ("resolution",)

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
    resolution: Note | None = Field(
        default=None,
        description="What the service desk wrote it resolved it with (desk resolutions); a "
        "rebuild of feedback folds the desk's resolution again from this event",
    )
    resolver: Name | None = Field(
        default=None, description="The API key that resolved it at the desk, if recorded"
    )


class SurveyAnswered(Payload, Personal):
    """A survey answer was recorded; ``category`` is the NPS bucket for NPS answers.
    The customer's ``comment`` (free text) travels sealed under the customer's key."""

    PERSONAL = ("comment",)

    survey: SurveyKind
    score: int
    category: Name | None
    at: AwareDatetime
    invitation_id: Id | None = Field(
        default=None, description="The invitation it answers, when it answers one"
    )
    detractor: bool | None = Field(
        default=None,
        description="Whether the score passes the detractor threshold of its survey "
        "(feedback.toml [detractors]); a detractor opens a recovery case",
    )
    comment: Note | None = Field(
        default=None,
        description="The customer's comment, on answers posted with an answer token (a "
        "rebuild of feedback folds those again from this event; a partner's answer is on "
        "crm.activity)",
    )


class SurveyInvited(Payload):
    """The customer was invited to a survey; an answer before ``expires_at`` counts for it.

    What a sender needs to reach the customer: the channel (one the customer consented
    to), the question in every language the survey has, and the ``answer_token`` the
    customer's answer is posted with (``POST /v1/survey-responses``), valid for one answer
    until ``expires_at``."""

    invitation_id: Id
    survey: SurveyKind
    order_id: Name | None = Field(None, description="The purchase that occasioned it, if any")
    invited_at: AwareDatetime
    expires_at: AwareDatetime
    channel: ConsentChannel | None = Field(default=None, description="Where to ask the customer")
    occasion: OccasionKind | None = Field(default=None, description="What occasioned it")
    questions: dict[Annotated[str, Field(max_length=35)], Annotated[str, Field(max_length=500)]] = (
        Field(default_factory=dict, max_length=20, description="The question, by language tag")
    )
    answer_token: Annotated[str, Field(max_length=600)] | None = Field(
        default=None, description="Posted with the answer; one answer, until expires_at"
    )


class InvitationExpired(Payload):
    """An invitation nobody answered before it expired; its token answers nothing now."""

    invitation_id: Id
    survey: SurveyKind
    channel: ConsentChannel | None = None
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
    category: Name | None = Field(default=None, description="The complaint's category")
    assignee: Name | None = Field(
        default=None, description="The desk agent working it, if any (unassigned: the lead's)"
    )


class ComplaintUpdated(Payload):
    """The service desk moved a complaint along its status machine or (re)assigned it;
    ``status`` and ``assignee`` are the complaint's after the change. Announced so a
    rebuild of feedback folds the desk's work again (a reopening is also announced as
    ``complaint_opened`` with ``reopened``)."""

    complaint_id: Id
    complaint_ref: Name
    status: Literal["open", "escalated", "in_progress", "waiting_on_customer", "closed"]
    assignee: Name | None = Field(default=None, description="The desk agent working it")
    at: AwareDatetime


class PreferredChannelChanged(Payload):
    """The channel where the customer buys and answers most (among those they have not
    withdrawn) changed; ``channel`` None: no such channel any more."""

    channel: Name | None
    previous: Name | None = None
    at: AwareDatetime
