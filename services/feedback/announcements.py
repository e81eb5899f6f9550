"""What feedback tells the platform on ``crm.feedback``: complaints opened (or reopened),
resolved and escalated, surveys answered, invitations sent and lapsed, each built from
the domain's rows.

An event's id derives from what caused it: the consumed event when there is one,
else the complaint, invitation or response and the step it took (a desk resolution,
the n-th reopening, an escalation level, a sending), each of which happens once. So a
replay, or a sweep retried after a crash, announces under the same ids and downstream
inboxes drop the repeat.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from services.feedback import sealing
from services.feedback.domain.complaints import Complaint, Escalated, Resolution, within_sla
from services.feedback.domain.definitions import SurveyDefinition
from services.feedback.domain.invitations import Invitation
from services.feedback.domain.surveys import Response
from shared.events import CloudEvent, new_event
from shared.events.envelope import caused_event, derived_id
from shared.events.feedback import (
    ComplaintEscalated,
    ComplaintOpened,
    ComplaintResolved,
    ComplaintUpdated,
    InvitationExpired,
    PreferredChannelChanged,
    SurveyAnswered,
    SurveyInvited,
)
from shared.events.payload import Payload
from shared.sealing import SubjectKey

SOURCE = "/crm/feedback"


def complaint_opened(
    complaint: Complaint, open_count: int, cause: CloudEvent | None, at: datetime | None = None
) -> CloudEvent:
    """A complaint filed (caused by its filing, or a detractor's answer), or reopened by
    the desk at ``at`` (its n-th reopening), with the customer's open count after it."""
    payload = ComplaintOpened(
        complaint_id=str(complaint.complaint_id),
        complaint_ref=complaint.complaint_ref,
        severity=complaint.severity,
        category=complaint.category,
        opened_at=complaint.opened_at,
        due_at=complaint.due_at,
        open_complaints=open_count,
        reopened=complaint.reopened > 0,
    )
    if cause is not None:
        return caused_event(payload, cause, source=SOURCE, purpose="complaint_opened")
    step = f"reopened:{complaint.reopened}" if complaint.reopened else "opened"
    event_id = derived_id(complaint.complaint_id, step)
    when = at or complaint.opened_at
    return _about(complaint.tenant_id, complaint.customer_id, payload, when, event_id)


def complaint_resolved(
    complaint: Complaint,
    resolution: Resolution,
    open_count: int,
    cause: CloudEvent | None,
    key: SubjectKey | None = None,
) -> CloudEvent:
    """A resolution, with the customer's open count after it: caused by the partner's
    event, or (the desk) derived from the complaint and how often it was reopened, since
    each opening is resolved once only. The desk's text is sealed under ``key``, the
    customer's (``sealing``); without one it is left out."""
    payload = ComplaintResolved(
        complaint_id=str(complaint.complaint_id),
        complaint_ref=complaint.complaint_ref,
        severity=complaint.severity,
        opened_at=complaint.opened_at,
        resolved_at=resolution.at,
        within_sla=within_sla(complaint.due_at, resolution.at),
        compensation_points=resolution.points,
        open_complaints=open_count,
        resolved_by=resolution.by,
        resolution=resolution.text if cause is None else None,  # the partner's: on crm.activity
        resolver=resolution.resolver,
    )
    payload = sealing.sealed(payload, key)
    if cause is not None:
        return caused_event(payload, cause, source=SOURCE, purpose="complaint_resolved")
    step = f"resolved:{complaint.reopened}" if complaint.reopened else "resolved"
    event_id = derived_id(complaint.complaint_id, step)
    return _about(complaint.tenant_id, complaint.customer_id, payload, resolution.at, event_id)


def complaint_updated(complaint: Complaint, at: datetime) -> CloudEvent:
    """A change the desk made at ``at``: once per complaint, status, assignee and time."""
    payload = ComplaintUpdated(
        complaint_id=str(complaint.complaint_id),
        complaint_ref=complaint.complaint_ref,
        status=complaint.status,  # a desk change never resolves: its own route does
        assignee=complaint.assignee,
        at=at,
    )
    step = f"updated:{complaint.status}:{complaint.assignee}:{at.isoformat()}"
    event_id = derived_id(complaint.complaint_id, step)
    return _about(complaint.tenant_id, complaint.customer_id, payload, at, event_id)


def complaint_escalated(complaint: Complaint, step: Escalated, now: datetime) -> CloudEvent:
    """An escalation the sweep made: one per complaint and level."""
    payload = ComplaintEscalated(
        complaint_id=str(complaint.complaint_id),
        complaint_ref=complaint.complaint_ref,
        severity=complaint.severity,
        level=step.level,
        due_at=complaint.due_at,
        escalated_at=now,
        overdue_by=step.overdue_by,
        category=complaint.category,
        assignee=complaint.assignee,
    )
    reopened = f":{complaint.reopened}" if complaint.reopened else ""
    event_id = derived_id(complaint.complaint_id, f"escalated:{step.level}{reopened}")
    return _about(complaint.tenant_id, complaint.customer_id, payload, now, event_id)


def survey_answered(
    response: Response, detractor: bool, cause: CloudEvent | None, key: SubjectKey | None = None
) -> CloudEvent:
    """An answer, with its NPS bucket when it is an NPS answer: caused by a partner's
    event, or derived from the response an answer token recorded. The customer's comment
    is sealed under ``key``, the customer's (``sealing``); without one it is left out."""
    payload = SurveyAnswered(
        survey=response.survey,
        score=response.score,
        category=response.category,
        at=response.responded_at,
        invitation_id=str(response.invitation_id) if response.invitation_id else None,
        detractor=detractor,
        comment=response.comment if cause is None else None,  # a partner's: on crm.activity
    )
    payload = sealing.sealed(payload, key)
    if cause is not None:
        return caused_event(payload, cause, source=SOURCE, purpose="survey_answered")
    event_id = derived_id(response.response_id, "survey_answered")
    tenant, customer, at = response.tenant_id, response.customer_id, response.responded_at
    return _about(tenant, customer, payload, at, event_id)


def preferred_channel_changed(
    channel: str | None, previous: str | None, cause: CloudEvent | Response
) -> CloudEvent:
    """The customer's preferred channel, re-decided after ``cause`` touched them: a
    consumed event, or an answer given with a token."""
    if isinstance(cause, CloudEvent):
        payload = PreferredChannelChanged(channel=channel, previous=previous, at=cause.time)
        return caused_event(payload, cause, source=SOURCE, purpose="preferred_channel")
    at = cause.responded_at
    payload = PreferredChannelChanged(channel=channel, previous=previous, at=at)
    event_id = derived_id(cause.response_id, "preferred_channel")
    return _about(cause.tenant_id, cause.customer_id, payload, at, event_id)


def survey_invited(
    invitation: Invitation, definition: SurveyDefinition, token: str | None
) -> CloudEvent:
    """An invitation the sweep sent, with what its sender needs: once per invitation."""
    invited_at, expires_at = invitation.invited_at, invitation.expires_at
    if invited_at is None or expires_at is None:
        raise ValueError(f"invitation {invitation.invitation_id} is not sent")
    payload = SurveyInvited(
        invitation_id=str(invitation.invitation_id),
        survey=invitation.survey,
        order_id=invitation.order_id,
        invited_at=invited_at,
        expires_at=expires_at,
        channel=invitation.channel,
        occasion=invitation.occasion,
        questions=dict(definition.questions),
        answer_token=token,
    )
    event_id = derived_id(invitation.invitation_id, "survey_invited")
    return _about(invitation.tenant_id, invitation.customer_id, payload, invited_at, event_id)


def invitation_expired(invitation: Invitation) -> CloudEvent:
    """An invitation that lapsed unanswered: once per invitation."""
    invited_at, expires_at = invitation.invited_at, invitation.expires_at
    if invited_at is None or expires_at is None:
        raise ValueError(f"invitation {invitation.invitation_id} was never sent")
    payload = InvitationExpired(
        invitation_id=str(invitation.invitation_id),
        survey=invitation.survey,
        channel=invitation.channel,
        invited_at=invited_at,
        expires_at=expires_at,
    )
    event_id = derived_id(invitation.invitation_id, "invitation_expired")
    return _about(invitation.tenant_id, invitation.customer_id, payload, expires_at, event_id)


def _about(
    tenant_id: str, customer_id: uuid.UUID, payload: Payload, at: datetime, event_id: uuid.UUID
) -> CloudEvent:
    """An event about one customer that no consumed event caused."""
    customer = str(customer_id)
    return new_event(
        payload,
        source=SOURCE,
        tenant_id=tenant_id,
        key=customer,
        subject=customer,
        time=at,
        event_id=event_id,
    )
