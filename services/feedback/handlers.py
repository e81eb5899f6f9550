"""Feedback's consumers: filed complaints open with their SLA, survey answers are kept
(closing the invitation they answer, a detractor's opening a recovery case),
purchases and stage entries schedule invitations (and each order's channel is kept for
channel analytics), partners' resolutions close complaints (``resolutions``), and what
feedback must know of its audience is folded: each customer's lifecycle stage, value
class, tier (satisfaction is reported by them) and consent for surveys.

Each step translates the batch's events into the domain's rows, lets the domain
decide, and hands the result to the store and the announcements. Set-based: one
read and one write per kind of row for the whole batch, whatever its size. Ids
derive from the consumed events, so a replayed event writes and announces nothing new.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from services.feedback import (
    announcements,
    answers,
    merges,
    preferences,
    resolutions,
    scheduling,
    segments,
    store,
)
from services.feedback.domain import audience, complaints, invitations
from services.feedback.domain.audience import Dated
from services.feedback.domain.complaints import Complaint
from services.feedback.domain.config import FeedbackConfig
from services.feedback.domain.invitations import Occasion
from services.feedback.domain.surveys import Response
from services.feedback.store.audience import ConsentKey
from services.feedback.tables import customer_merge
from shared.events import activity
from shared.events.activity import ComplaintFiled, PurchaseCompleted, SurveyResponded
from shared.events.envelope import derived_id
from shared.events.lifecycle import StageChanged, ValueClassChanged
from shared.events.loyalty import TierChanged
from shared.events.payload import Payload
from shared.events.profile import ConsentChanged
from shared.merges import on_survivors
from shared.parking import Parking
from shared.subscription import Received, only
from shared.uow import UnitOfWork

# The batch's events with their sealed texts opened (``shared.keyring.open_batch``).
Opener = Callable[[Sequence[Received[Any]]], Awaitable[list[Received[Any]]]]
# What each consumer group applies, as ``record_feedback`` sorts it.
FROM_ACTIVITY: tuple[type[Payload], ...] = (
    ComplaintFiled,
    activity.ComplaintResolved,  # v1: old events, the resolution in the clear
    activity.ComplaintResolvedV2,  # v2 (a v1 subclass, so ``only`` finds both): sealed
    SurveyResponded,
    PurchaseCompleted,
)
FROM_LIFECYCLE: tuple[type[Payload], ...] = (StageChanged, ValueClassChanged)
FROM_PROFILE: tuple[type[Payload], ...] = (ConsentChanged, *merges.MERGES, *segments.FOLLOWED)
FROM_LOYALTY: tuple[type[Payload], ...] = (TierChanged,)


async def record_feedback(
    uow: UnitOfWork,
    batch: Sequence[Received[Payload]],
    config: FeedbackConfig,
    parking: Parking,
    opened: Opener,
) -> None:
    """Open a complaint (with its SLA), keep a survey answer, resolve a complaint,
    schedule survey invitations, or fold a stage, a consent decision or a segment's
    membership, per event; apply
    profile's merges first, and an event about a merged-away customer to its survivor.
    The batch comes with its sealed texts opened; a parked resolution was kept as it came
    (sealed), so it is opened with ``opened`` when taken."""
    await merges.apply(uow, [r for r in batch if isinstance(r.payload, merges.MERGES)])
    await segments.fold(uow, batch)  # on the ids they name: see ``segments``
    kept: tuple[type[Payload], ...] = (*merges.MERGES, *segments.FOLLOWED)
    batch = await on_survivors(
        uow.conn, customer_merge, [r for r in batch if not isinstance(r.payload, kept)]
    )
    filings = only(batch, ComplaintFiled)
    await open_complaints(uow, filings, config)
    await record_answers(uow, only(batch, SurveyResponded), config)
    purchases = only(batch, PurchaseCompleted)
    await schedule_invitations(uow, purchases, config)
    await keep_channel_orders(uow, purchases)
    await fold_stages(uow, only(batch, StageChanged), config)
    await fold_classes(uow, only(batch, ValueClassChanged), only(batch, TierChanged))
    await fold_consents(uow, only(batch, ConsentChanged))
    touching = (PurchaseCompleted, SurveyResponded, ConsentChanged)
    await preferences.settle(
        uow, {r.customer: r.event for r in batch if isinstance(r.payload, touching)}
    )
    # After the filings, so a complaint filed and resolved within one batch is found,
    # and so is one whose resolution came first and was parked.
    awaited = {(*r.customer, resolutions.awaited(r.payload.complaint_ref)) for r in filings}
    taken = await opened(await parking.take(uow.conn, awaited))
    early = await on_survivors(uow.conn, customer_merge, taken)
    resolved = [*early, *only(batch, activity.ComplaintResolved)]
    await resolutions.resolve_from_events(uow, resolved, config.invitations, parking)
    await merges.claim_arrivals(uow, batch)


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


async def record_answers(
    uow: UnitOfWork, received: Sequence[Received[SurveyResponded]], config: FeedbackConfig
) -> None:
    """Keep each partner's answer once, close the invitation it answers, announce it,
    and open a recovery case for a detractor's."""
    if not received:
        return
    responses = {_response(r): r.event for r in received}  # each with its cause
    wanted = {(r.tenant_id, r.customer_id, r.survey) for r in responses}
    sent = await store.sent_invitations(uow.conn, wanted)
    await store.save_invitations(uow.conn, invitations.answered(sent, responses.keys()))
    await answers.keep(uow, responses, config)


async def schedule_invitations(
    uow: UnitOfWork, purchases: Sequence[Received[PurchaseCompleted]], config: FeedbackConfig
) -> None:
    """Schedule the invitations these purchases earn (the tenant's surveys decide); the
    sweep sends each when due. An invitation's id derives from its purchase."""
    occasions = {
        Occasion(r.customer, "purchase", r.payload.order_id, r.event.time): r.event.id
        for r in purchases
    }
    await scheduling.schedule(uow, occasions, config.invitations)


async def fold_stages(
    uow: UnitOfWork, moves: Sequence[Received[StageChanged]], config: FeedbackConfig
) -> None:
    """Keep each customer's newest stage (a churned customer is not invited), and
    schedule the surveys that follow the entry into it."""
    if not moves:
        return
    incoming = [(r.customer, Dated(str(r.payload.to_stage), r.payload.at)) for r in moves]
    await _fold(uow, "stage", incoming)
    occasions = {
        Occasion(r.customer, "stage_entered", str(r.payload.to_stage), r.payload.at): r.event.id
        for r in moves
    }
    await scheduling.schedule(uow, occasions, config.invitations)


async def fold_classes(
    uow: UnitOfWork,
    valued: Sequence[Received[ValueClassChanged]],
    tiered: Sequence[Received[TierChanged]],
) -> None:
    """Keep each customer's newest value class and tier, which satisfaction groups by."""
    classes = [(r.customer, Dated(r.payload.to_class, r.payload.at)) for r in valued]
    await _fold(uow, "value_class", classes)
    await _fold(uow, "tier", [(r.customer, Dated(r.payload.to_tier, r.payload.at)) for r in tiered])


async def _fold(
    uow: UnitOfWork, fact: str, incoming: Sequence[tuple[store.Key, Dated[Any]]]
) -> None:
    """Fold ``fact`` (a respondent's column) from these dated values: the newest wins."""
    if not incoming:
        return
    await store.add_respondents(uow.conn, {key for key, _ in incoming})
    recorded = await store.folded(uow.conn, fact, {key for key, _ in incoming})
    await store.save_folded(uow.conn, fact, audience.newest(recorded, incoming))


async def keep_channel_orders(
    uow: UnitOfWork, purchases: Sequence[Received[PurchaseCompleted]]
) -> None:
    """Keep each order's channel and amount once, for channel analytics."""
    orders = [
        store.ChannelOrder(
            *r.customer,
            r.payload.order_id,
            r.payload.channel,
            r.payload.amount_minor,
            r.payload.currency,
            r.event.time,
        )
        for r in purchases
    ]
    if orders:
        await store.add_channel_orders(uow.conn, orders)


async def fold_consents(uow: UnitOfWork, decisions: Sequence[Received[ConsentChanged]]) -> None:
    """Keep each customer's newest consent decision per channel and purpose."""
    if not decisions:
        return
    incoming = [(_consent_key(r), Dated(r.payload.granted, r.payload.at)) for r in decisions]
    recorded = await store.consent_decisions(uow.conn, {key for key, _ in incoming})
    await store.save_consents(uow.conn, audience.newest(recorded, incoming))


def _consent_key(received: Received[ConsentChanged]) -> ConsentKey:
    tenant_id, customer_id = received.customer
    return tenant_id, customer_id, received.payload.channel, received.payload.purpose


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
        channel=answer.channel,
    )
