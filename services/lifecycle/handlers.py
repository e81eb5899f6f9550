"""Lifecycle's consumers: fold a batch of events into its customers in event-time order,
announce the stage changes, then settle each touched customer once (``settling``).
Set-based: one locked read of the touched customers, one write per table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from services.lifecycle import announcements, merges, store, watermarks
from services.lifecycle.announcements import HistoryRow, history_row
from services.lifecycle.domain import folding, timers
from services.lifecycle.domain.rfm import rfm_of
from services.lifecycle.domain.stages import StageMachine, Transition
from services.lifecycle.settling import settle
from services.lifecycle.store import Customer
from services.lifecycle.sweep import fire_due
from services.lifecycle.tables import customer_merge
from shared.clock import Clock
from shared.events import CloudEvent
from shared.events.activity import (
    AccountClosed,
    CustomerRegistered,
    EngagementRecorded,
    OrderRefunded,
    PurchaseCompleted,
)
from shared.events.feedback import ComplaintOpened, ComplaintResolved, SurveyAnswered
from shared.events.loyalty import TierChanged
from shared.events.payload import Payload
from shared.merges import on_survivors
from shared.subscription import CustomerKey, Received
from shared.uow import UnitOfWork

# What the two consumers apply, as ``_fold`` matches it.
ACTIVITY: tuple[type[Payload], ...] = (
    CustomerRegistered,
    EngagementRecorded,
    PurchaseCompleted,
    OrderRefunded,
    AccountClosed,
)
SIGNALS: tuple[type[Payload], ...] = (
    ComplaintOpened,
    ComplaintResolved,
    SurveyAnswered,
    TierChanged,
)


async def move_customers(
    uow: UnitOfWork, batch: Sequence[Received[Payload]], machine: StageMachine, clock: Clock
) -> None:
    """Fold every event of the batch into its customer in event-time order, then settle;
    an event about a merged-away customer is its survivor's."""
    batch = await on_survivors(uow.conn, customer_merge, batch)
    ordered = sorted(batch, key=lambda r: (r.customer, r.event.time))
    customers = await store.load_customers(uow.conn, {r.customer for r in ordered})
    arrived = merges.arrivals(ordered, customers)
    history: list[HistoryRow] = []
    last_cause: dict[CustomerKey, CloudEvent] = {}
    now = clock.now()
    for received in ordered:
        key = received.customer
        customer = customers.setdefault(key, Customer())
        if isinstance(received.payload, ACTIVITY):
            _catch_up(uow, key, customer, machine, min(received.event.time, now), history)
        transition = _fold(customer, received, machine)
        last_cause[key] = received.event
        if transition:
            history.append(history_row(key, transition, "event", str(received.event.id)))
            uow.publish(announcements.stage_changed(transition, received.event))
    await settle(uow, customers, last_cause, machine, clock, history)
    await merges.claim_arrivals(uow, arrived)
    await watermarks.advance(uow.conn, _latest_activity(ordered), now)


def _catch_up(
    uow: UnitOfWork,
    key: CustomerKey,
    customer: Customer,
    machine: StageMachine,
    until: datetime,
    history: list[HistoryRow],
) -> None:
    """Fire the customer's timers that fell due before their event at ``until``, at their
    due times: whether a sweep ran between two of a customer's events does not change
    their history (``watermarks``). A partner's own activity only: a signal's time may be
    another service's wall clock."""
    timer = timers.next_timer(machine, customer.state, rfm_of(customer.purchases.values()))
    for transition, kind in fire_due(customer, timer, machine, until):
        history.append(history_row(key, transition, "timer", kind))
        uow.publish(announcements.timer_stage_changed(key, transition, kind))


def _latest_activity(batch: Sequence[Received[Payload]]) -> dict[str, datetime]:
    """Each tenant's latest event time among the partners' activity of the batch."""
    latest: dict[str, datetime] = {}
    for received in batch:
        if isinstance(received.payload, ACTIVITY):
            tenant, at = received.customer[0], received.event.time
            latest[tenant] = max(at, latest.get(tenant, at))
    return latest


def _fold(
    customer: Customer, received: Received[Payload], machine: StageMachine
) -> Transition | None:
    """Translate one event into its domain call; the customer takes the result."""
    state, orders, at = customer.state, customer.purchases, received.event.time
    match received.payload:
        case CustomerRegistered():
            customer.state, transition = machine.move(state, "registered", at)
            return transition
        case EngagementRecorded():
            customer.state, transition = machine.move(state, "engaged", at)
            return transition
        case AccountClosed():
            customer.state, transition = machine.move(state, "closed", at)
            return transition
        case PurchaseCompleted(order_id=order, amount_minor=amount, currency=currency):
            folded = folding.purchased(machine, state, orders, order, amount, at, currency)
            return _take(customer, folded)
        case OrderRefunded(order_id=order, amount_minor=amount):
            return _take(customer, folding.refunded(machine, state, orders, order, amount, at))
        case ComplaintOpened(severity=severity):
            return _take(customer, folding.complaint_opened(machine, state, orders, severity, at))
        case ComplaintResolved(severity=severity):
            customer.state = folding.complaint_resolved(state, severity)
        case SurveyAnswered(category=category):
            customer.state = folding.survey_answered(state, category)
        case TierChanged(from_tier=before, to_tier=after):
            order_of_tiers = machine.config.risk.tier_order
            customer.state = folding.tier_changed(state, before, after, order_of_tiers)
    return None


def _take(customer: Customer, folded: folding.Folded) -> Transition | None:
    customer.state, customer.purchases = folded.state, dict(folded.purchases)
    if folded.order_id:
        customer.changed_orders.add(folded.order_id)
    return folded.transition
