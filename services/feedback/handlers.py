"""Feedback's application functions: record complaints, their resolution and survey
answers from activity, and schedule survey invitations after purchases."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import structlog
from sqlalchemy import bindparam, func, select, tuple_, update

from services.feedback import domain, invitations
from services.feedback.domain.config import FeedbackConfig
from services.feedback.tables import complaint, survey_response
from shared.consumer import Received
from shared.db import insert_ignoring_conflicts, insert_new
from shared.events import CloudEvent, activity, feedback
from shared.events.activity import ComplaintFiled, PurchaseCompleted, SurveyResponded
from shared.events.envelope import caused_event, derived_id
from shared.events.feedback import ComplaintOpened, SurveyAnswered
from shared.uow import UnitOfWork

SOURCE = "/crm/feedback"
log = structlog.get_logger()


async def record_feedback(
    uow: UnitOfWork, batch: Sequence[Received], config: FeedbackConfig
) -> None:
    """Open a complaint (with its SLA), store a survey answer, resolve a complaint or
    schedule a survey invitation for each event."""
    causes = {
        derived_id(r.event.id, "complaint"): r.event
        for r in batch
        if isinstance(r.payload, ComplaintFiled)
    }
    complaints = [_complaint_row(r, config) for r in batch if isinstance(r.payload, ComplaintFiled)]
    answers = [r for r in batch if isinstance(r.payload, SurveyResponded)]
    if complaints:
        new_ids = await insert_new(uow.conn, complaint, complaints, returning="complaint_id")
        rows = [c for c in complaints if c["complaint_id"] in new_ids]
        counts = await _open_counts(uow, {(c["tenant_id"], c["customer_id"]) for c in rows})
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
    await invitations.schedule_invitations(
        uow, [r for r in batch if isinstance(r.payload, PurchaseCompleted)], config.invitations
    )
    # After the filings, so a complaint filed and resolved within one batch is found.
    await resolve_complaints(
        uow, [r for r in batch if isinstance(r.payload, activity.ComplaintResolved)]
    )


async def resolve_complaints(uow: UnitOfWork, resolutions: Sequence[Received]) -> None:
    """Close the open complaints these events resolve and announce each with the
    customer's open count after it; one locked read and one update for the batch.

    A resolution whose complaint is unknown (never filed, filed for another customer,
    or not arrived yet: partner systems are not ordered with each other), already
    resolved, or opened after the resolution's date is logged and dropped, never
    retried: retrying would stall the consumer behind an event that may never apply."""
    if not resolutions:
        return
    ordered = sorted(resolutions, key=lambda r: r.event.time)
    found = await _complaints_by_ref(uow, {_ref_key(r) for r in ordered})
    closed: list[tuple[dict[str, Any], Received]] = []
    for received in ordered:
        row = found.get(_ref_key(received))
        if row is None or row["customer_id"] != _customer(received):
            log.warning("resolution of an unknown complaint dropped", **_about(received))
        elif not domain.resolvable(row["status"], row["opened_at"], received.event.time):
            log.info("resolution of a resolved or later complaint dropped", **_about(received))
        else:
            row.update(status="resolved", resolved_at=received.event.time)
            closed.append((row, received))
    if not closed:
        return
    await uow.conn.execute(
        update(complaint)
        .where(complaint.c.complaint_id == bindparam("id"))
        .values(status="resolved", resolved_at=bindparam("at"), escalate_at=None),
        [{"id": row["complaint_id"], "at": row["resolved_at"]} for row, _ in closed],
    )
    counts = await _open_counts(uow, {(r["tenant_id"], r["customer_id"]) for r, _ in closed})
    uow.publish(*(_complaint_resolved(row, counts.get(_owner(row), 0), r) for row, r in closed))


def _customer(received: Received) -> uuid.UUID:
    return uuid.UUID(received.event.subject or "")


def _complaint_row(received: Received, config: FeedbackConfig) -> dict[str, Any]:
    filed: ComplaintFiled = received.payload  # type: ignore[assignment]
    due_at = domain.sla_due(config.sla, filed.severity, received.event.time)
    return {
        "complaint_id": derived_id(received.event.id, "complaint"),
        "tenant_id": received.event.tenantid,
        "customer_id": _customer(received),
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
    }


async def _open_counts(uow: UnitOfWork, keys: set[tuple[str, uuid.UUID]]) -> dict[Any, int]:
    rows = await uow.conn.execute(
        select(complaint.c.tenant_id, complaint.c.customer_id, func.count())
        .where(
            tuple_(complaint.c.tenant_id, complaint.c.customer_id).in_(keys),
            complaint.c.status.in_(domain.OPEN_STATUSES),
        )
        .group_by(complaint.c.tenant_id, complaint.c.customer_id)
    )
    return {(t, c): n for t, c, n in rows}


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


def _ref_key(received: Received) -> tuple[str, str]:
    resolved: activity.ComplaintResolved = received.payload  # type: ignore[assignment]
    return received.event.tenantid, resolved.complaint_ref


def _owner(row: dict[str, Any]) -> tuple[str, uuid.UUID]:
    return row["tenant_id"], row["customer_id"]


def _about(received: Received) -> dict[str, str]:
    tenant, ref = _ref_key(received)
    return {"tenant_id": tenant, "complaint_ref": ref, "event_id": str(received.event.id)}


async def _complaints_by_ref(
    uow: UnitOfWork, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The complaints filed under these refs, locked until the batch commits."""
    rows = await uow.conn.execute(
        select(complaint)
        .where(tuple_(complaint.c.tenant_id, complaint.c.complaint_ref).in_(keys))
        .with_for_update()
    )
    return {(r.tenant_id, r.complaint_ref): dict(r._mapping) for r in rows}


def _complaint_resolved(row: dict[str, Any], open_count: int, cause: Received) -> CloudEvent:
    resolved: activity.ComplaintResolved = cause.payload  # type: ignore[assignment]
    return caused_event(
        feedback.ComplaintResolved(
            complaint_id=str(row["complaint_id"]),
            complaint_ref=row["complaint_ref"],
            severity=row["severity"],
            opened_at=row["opened_at"],
            resolved_at=row["resolved_at"],
            within_sla=domain.within_sla(row["due_at"], row["resolved_at"]),
            compensation_points=resolved.compensation_points,
            open_complaints=open_count,
        ),
        cause.event,
        source=SOURCE,
        purpose="complaint_resolved",
    )


def _response_row(received: Received) -> dict[str, Any]:
    answer: SurveyResponded = received.payload  # type: ignore[assignment]
    return {
        "response_id": derived_id(received.event.id, "response"),
        "tenant_id": received.event.tenantid,
        "customer_id": _customer(received),
        "survey": answer.survey,
        "score": answer.score,
        "comment": answer.comment,
        "responded_at": received.event.time,
    }


def _survey_answered(received: Received) -> CloudEvent:
    answer: SurveyResponded = received.payload  # type: ignore[assignment]
    category = domain.nps_category(answer.score) if answer.survey == "nps" else None
    return caused_event(
        SurveyAnswered(
            survey=answer.survey, score=answer.score, category=category, at=received.event.time
        ),
        received.event,
        source=SOURCE,
        purpose="survey_answered",
    )
