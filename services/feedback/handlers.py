"""Feedback's consumer: filed complaints open with their SLA, survey answers are kept
(closing the invitation they answer), purchases schedule invitations, and partners'
resolutions close complaints (``resolutions``).

Each step translates the batch's events into the domain's rows, lets the domain
decide, and hands the result to the store and the announcements. Set-based: one
read and one write per kind of row for the whole batch, whatever its size. Ids
derive from the consumed events, so a replayed event writes and announces nothing new.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.feedback import announcements, resolutions, store
from services.feedback.domain import complaints, invitations
from services.feedback.domain.complaints import Complaint
from services.feedback.domain.config import FeedbackConfig, Invitations
from services.feedback.domain.surveys import Response
from shared.events import activity
from shared.events.activity import ComplaintFiled, PurchaseCompleted, SurveyResponded
from shared.events.envelope import derived_id
from shared.events.payload import Payload
from shared.parking import Parking
from shared.subscription import Received, only
from shared.uow import UnitOfWork

# What the consumer applies, as ``record_feedback`` sorts it.
APPLIES: tuple[type[Payload], ...] = (
    ComplaintFiled,
    activity.ComplaintResolved,
    SurveyResponded,
    PurchaseCompleted,
)


async def record_feedback(
    uow: UnitOfWork, batch: Sequence[Received[Payload]], config: FeedbackConfig, parking: Parking
) -> None:
    """Open a complaint (with its SLA), store a survey answer, resolve a complaint or
    schedule a survey invitation for each event."""
    filings = only(batch, ComplaintFiled)
    await open_complaints(uow, filings, config)
    await record_answers(uow, only(batch, SurveyResponded))
    await schedule_invitations(uow, only(batch, PurchaseCompleted), config.invitations)
    # After the filings, so a complaint filed and resolved within one batch is found,
    # and so is one whose resolution came first and was parked.
    awaited = {(*r.customer, resolutions.awaited(r.payload.complaint_ref)) for r in filings}
    early = await parking.take(uow.conn, awaited)
    resolved = [*early, *only(batch, activity.ComplaintResolved)]
    await resolutions.resolve_from_events(uow, resolved, parking)


async def open_complaints(
    uow: UnitOfWork, filings: Sequence[Received[ComplaintFiled]], config: FeedbackConfig
) -> None:
    """Open the complaints not filed before, each announced with its customer's open
    count after it."""
    if not filings:
        return
    filed = {_filed(r, config): r.event for r in filings}
    new = await store.add_complaints(uow.conn, list(filed))
    counts = await store.open_counts(uow.conn, {c.customer for c in new})
    uow.publish(*(announcements.complaint_opened(c, counts[c.customer], filed[c]) for c in new))


async def record_answers(uow: UnitOfWork, answers: Sequence[Received[SurveyResponded]]) -> None:
    """Keep each answer once, close the invitation it answers, and announce it."""
    responses = {_response(r): r.event for r in answers}  # each with its cause
    await store.add_responses(uow.conn, list(responses.keys()))
    if responses:
        wanted = {(r.tenant_id, r.customer_id, r.survey) for r in responses}
        sent = await store.sent_invitations(uow.conn, wanted)
        await store.save_invitations(uow.conn, invitations.answered(sent, responses.keys()))
    uow.publish(*(announcements.survey_answered(r, cause) for r, cause in responses.items()))


async def schedule_invitations(
    uow: UnitOfWork, purchases: Sequence[Received[PurchaseCompleted]], rules: Invitations
) -> None:
    """Schedule the invitations these purchases earn (throttled per customer and kind);
    the sweep sends each when due. An invitation's id derives from its purchase."""
    if not purchases:
        return
    # Each purchase as an occasion to invite, with the id of the event that made it.
    occasions = {
        invitations.Occasion(r.customer, r.payload.order_id, r.event.time): r.event.id
        for r in purchases
    }
    latest = await store.latest_invitations(uow.conn, {o.key for o in occasions})
    planned = invitations.plan_invitations(rules, occasions.keys(), latest)
    await store.add_invitations(
        uow.conn,
        [
            invitations.schedule(p, derived_id(occasions[p.occasion], f"invitation:{p.survey}"))
            for p in planned
        ],
    )


def _filed(received: Received[ComplaintFiled], config: FeedbackConfig) -> Complaint:
    """The complaint a filing opens."""
    filed, event = received.payload, received.event
    tenant_id, customer_id = received.customer
    return complaints.open_complaint(
        config,
        complaint_id=derived_id(event.id, "complaint"),
        tenant_id=tenant_id,
        customer_id=customer_id,
        complaint_ref=filed.complaint_ref,
        severity=filed.severity,
        category=filed.category,
        channel=filed.channel,
        text=filed.text,
        opened_at=event.time,
        partner=event.partner,
    )


def _response(received: Received[SurveyResponded]) -> Response:
    """The response an answer records."""
    answer = received.payload
    tenant_id, customer_id = received.customer
    return Response(
        response_id=derived_id(received.event.id, "response"),
        tenant_id=tenant_id,
        customer_id=customer_id,
        survey=answer.survey,
        score=answer.score,
        comment=answer.comment,
        responded_at=received.event.time,
    )
