"""What feedback tells the platform on ``crm.feedback``: complaints opened, resolved and
escalated, surveys answered and invitations sent, each built from the domain's rows.

An event's id derives from what caused it: the consumed event when there is one,
else the complaint or invitation and the step it took (a desk resolution, an
escalation level, a sending), each of which happens once. So a replay, or a sweep
retried after a crash, announces under the same ids and downstream inboxes drop the
repeat.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from services.feedback.domain.complaints import Complaint, Escalated, Resolution, within_sla
from services.feedback.domain.invitations import Invitation
from services.feedback.domain.surveys import Response
from shared.events import CloudEvent, new_event
from shared.events.envelope import caused_event, derived_id
from shared.events.feedback import (
    ComplaintEscalated,
    ComplaintOpened,
    ComplaintResolved,
    SurveyAnswered,
    SurveyInvited,
)
from shared.events.payload import Payload

SOURCE = "/crm/feedback"


def complaint_opened(complaint: Complaint, open_count: int, cause: CloudEvent) -> CloudEvent:
    """A filed complaint, with the customer's open count after it."""
    payload = ComplaintOpened(
        complaint_id=str(complaint.complaint_id),
        complaint_ref=complaint.complaint_ref,
        severity=complaint.severity,
        category=complaint.category,
        opened_at=complaint.opened_at,
        due_at=complaint.due_at,
        open_complaints=open_count,
    )
    return caused_event(payload, cause, source=SOURCE, purpose="complaint_opened")


def complaint_resolved(
    complaint: Complaint, resolution: Resolution, open_count: int, cause: CloudEvent | None
) -> CloudEvent:
    """A resolution, with the customer's open count after it: caused by the partner's
    event, or (the desk) derived from the complaint, which is resolved once only."""
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
    )
    if cause is not None:
        return caused_event(payload, cause, source=SOURCE, purpose="complaint_resolved")
    event_id = derived_id(complaint.complaint_id, "resolved")
    return _about(complaint.tenant_id, complaint.customer_id, payload, resolution.at, event_id)


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
    )
    event_id = derived_id(complaint.complaint_id, f"escalated:{step.level}")
    return _about(complaint.tenant_id, complaint.customer_id, payload, now, event_id)


def survey_answered(response: Response, cause: CloudEvent) -> CloudEvent:
    """An answer, with its NPS bucket when it is an NPS answer."""
    payload = SurveyAnswered(
        survey=response.survey,
        score=response.score,
        category=response.category,
        at=response.responded_at,
    )
    return caused_event(payload, cause, source=SOURCE, purpose="survey_answered")


def survey_invited(invitation: Invitation) -> CloudEvent:
    """An invitation the sweep sent: once per invitation."""
    invited_at, expires_at = invitation.invited_at, invitation.expires_at
    if invited_at is None or expires_at is None:
        raise ValueError(f"invitation {invitation.invitation_id} is not sent")
    payload = SurveyInvited(
        invitation_id=str(invitation.invitation_id),
        survey=invitation.survey,
        order_id=invitation.order_id,
        invited_at=invited_at,
        expires_at=expires_at,
    )
    event_id = derived_id(invitation.invitation_id, "survey_invited")
    return _about(invitation.tenant_id, invitation.customer_id, payload, invited_at, event_id)


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
