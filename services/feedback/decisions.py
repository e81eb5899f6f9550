"""What only a rebuild of feedback folds (``services.feedback.rebuild``): the decisions
made at feedback's own API, from the events they were announced with on crm.feedback.

- ``complaint_updated``: the desk moved or assigned a complaint (a reopening too);
- ``complaint_resolved`` with ``resolved_by`` "desk": the desk resolved it (a partner's
  resolution comes from crm.activity, and its announcement here is a consequence);
- ``survey_answered`` of an invitation, caused by no event: a customer's answer posted
  with its token (a partner's answer comes from crm.activity).

Each is applied by the code the route runs, in its own savepoint, at the time it was
made, with its text opened under the customer's key (an erased customer's key is gone:
the decision folds again without its text). One that no longer applies (its complaint
or invitation erased since) is skipped: the rest of the history still folds.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import structlog

from services.feedback import answers, desk, resolutions
from services.feedback.domain.complaints import IllegalStep
from services.feedback.domain.config import FeedbackConfig
from services.feedback.domain.surveys import OffScale
from shared.events.feedback import ComplaintResolved, ComplaintUpdated, SurveyAnswered
from shared.events.payload import Payload
from shared.sealing import Personal
from shared.subscription import Received
from shared.uow import UnitOfWork

log = structlog.get_logger()
APPLIES: tuple[type[Payload], ...] = (ComplaintUpdated, ComplaintResolved, SurveyAnswered)
# Those whose texts travel sealed under the customer's key (``services.feedback.sealing``):
# the subscription opens them before ``refold``.
SEALED: tuple[type[Personal], ...] = (ComplaintResolved, SurveyAnswered)
DESK = "desk"
SKIPPED = (
    desk.UnknownComplaint,
    resolutions.UnknownComplaint,
    resolutions.AlreadyResolved,
    answers.UnknownInvitation,
    answers.NotOpen,
    IllegalStep,
    OffScale,
)


async def refold(uow: UnitOfWork, batch: Sequence[Received[Any]], config: FeedbackConfig) -> None:
    """Apply the batch's desk changes, desk resolutions and token answers of one tenant,
    in event time; the other events of crm.feedback are feedback's own consequences."""
    for received in sorted(batch, key=lambda r: (r.event.time, str(r.event.id))):
        try:
            async with uow.conn.begin_nested():
                await _apply(uow, received, config)
        except SKIPPED as gone:
            log.info("rebuild skipped a decision", event_id=str(received.event.id), why=str(gone))


async def _apply(uow: UnitOfWork, received: Received[Any], config: FeedbackConfig) -> None:
    event, payload = received.event, received.payload
    tenant, customer = received.customer
    match payload:
        case ComplaintUpdated(complaint_id=complaint, status=status, assignee=assignee):
            moved = None if status == "escalated" else status  # an assignment kept it
            change = desk.Change(tenant, customer, uuid.UUID(complaint), moved, assignee, None)
            await desk.apply_change(uow, change, config, event.time)
        case ComplaintResolved(resolved_by=by) if by == DESK and event.causationid is None:
            asked = resolutions.ResolveAtDesk(
                tenant,
                customer,
                uuid.UUID(payload.complaint_id),
                payload.resolution or "",
                payload.compensation_points,
                payload.resolver,
            )
            await resolutions.resolve_in(uow, asked, config.invitations, payload.resolved_at)
        case SurveyAnswered(invitation_id=str(invitation)) if event.causationid is None:
            asked_of = answers.Answered(tenant, customer, uuid.UUID(invitation))
            score, comment = payload.score, payload.comment
            await answers.answer_in(uow, asked_of, score, comment, payload.at, config)
