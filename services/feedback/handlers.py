"""Feedback's application functions: record complaints, their resolution and survey
answers from activity, and schedule survey invitations after purchases."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.feedback import domain, invitations, resolutions
from services.feedback.domain.config import FeedbackConfig
from services.feedback.tables import complaint, survey_response
from shared.consumer import Received, only
from shared.db import insert_ignoring_conflicts, insert_new
from shared.events import CloudEvent, activity
from shared.events.activity import ComplaintFiled, PurchaseCompleted, SurveyResponded
from shared.events.envelope import caused_event, derived_id
from shared.events.feedback import ComplaintOpened, SurveyAnswered
from shared.events.payload import Payload
from shared.uow import UnitOfWork

SOURCE = "/crm/feedback"
# What the consumer applies, as ``record_feedback`` sorts it.
APPLIES: tuple[type[Payload], ...] = (
    ComplaintFiled,
    activity.ComplaintResolved,
    SurveyResponded,
    PurchaseCompleted,
)


async def record_feedback(
    uow: UnitOfWork, batch: Sequence[Received[Payload]], config: FeedbackConfig
) -> None:
    """Open a complaint (with its SLA), store a survey answer, resolve a complaint or
    schedule a survey invitation for each event."""
    filings = only(batch, ComplaintFiled)
    causes = {derived_id(r.event.id, "complaint"): r.event for r in filings}
    complaints = [_complaint_row(r, config) for r in filings]
    answers = only(batch, SurveyResponded)
    if complaints:
        new_ids = await insert_new(uow.conn, complaint, complaints, returning="complaint_id")
        rows = [c for c in complaints if c["complaint_id"] in new_ids]
        counts = await resolutions.open_counts(
            uow, {(c["tenant_id"], c["customer_id"]) for c in rows}
        )
        uow.publish(
            *(
                _complaint_opened(
                    c, counts[(c["tenant_id"], c["customer_id"])], causes[c["complaint_id"]]
                )
                for c in rows
            )
        )
    await insert_ignoring_conflicts(uow.conn, survey_response, [_response_row(r) for r in answers])
    await invitations.link_answers(uow, answers)
    uow.publish(*(_survey_answered(r) for r in answers))
    await invitations.schedule_invitations(uow, only(batch, PurchaseCompleted), config.invitations)
    # After the filings, so a complaint filed and resolved within one batch is found.
    await resolutions.resolve_from_events(uow, only(batch, activity.ComplaintResolved))


def _complaint_row(received: Received[ComplaintFiled], config: FeedbackConfig) -> dict[str, Any]:
    filed = received.payload
    due_at = domain.sla_due(config.sla, filed.severity, received.event.time)
    return {
        "complaint_id": derived_id(received.event.id, "complaint"),
        "tenant_id": received.event.tenantid,
        "customer_id": received.customer[1],
        "complaint_ref": filed.complaint_ref,
        "severity": filed.severity,
        "category": filed.category,
        "channel": filed.channel,
        "text": filed.text,
        "status": "open",
        "opened_at": received.event.time,
        "due_at": due_at,
        "escalation_level": 0,
        "escalate_at": domain.escalation_due(config.escalation, due_at, 1),
        "partner": received.event.partner,
    }


def _complaint_opened(row: dict[str, Any], open_count: int, cause: CloudEvent) -> CloudEvent:
    return caused_event(
        ComplaintOpened(
            complaint_id=str(row["complaint_id"]),
            complaint_ref=row["complaint_ref"],
            severity=row["severity"],
            category=row["category"],
            opened_at=row["opened_at"],
            due_at=row["due_at"],
            open_complaints=open_count,
        ),
        cause,
        source=SOURCE,
        purpose="complaint_opened",
    )


def _response_row(received: Received[SurveyResponded]) -> dict[str, Any]:
    answer = received.payload
    return {
        "response_id": derived_id(received.event.id, "response"),
        "tenant_id": received.event.tenantid,
        "customer_id": received.customer[1],
        "survey": answer.survey,
        "score": answer.score,
        "comment": answer.comment,
        "responded_at": received.event.time,
    }


def _survey_answered(received: Received[SurveyResponded]) -> CloudEvent:
    answer = received.payload
    category = domain.nps_category(answer.score) if answer.survey == "nps" else None
    return caused_event(
        SurveyAnswered(
            survey=answer.survey, score=answer.score, category=category, at=received.event.time
        ),
        received.event,
        source=SOURCE,
        purpose="survey_answered",
    )
