"""What each thing a customer does means for lifecycle: the trigger it fires, the orders
and service signals it changes. Plain functions over plain values; the handler
translates events into these calls."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from services.lifecycle.domain.rfm import Purchase, rfm_of
from services.lifecycle.domain.stages import (
    CustomerState,
    Facts,
    StageMachine,
    Transition,
    purchase_trigger,
)


@dataclass(frozen=True)
class Folded:
    """A customer after one event: state, orders, the transition made and the order touched."""

    state: CustomerState
    purchases: Mapping[str, Purchase]
    transition: Transition | None = None
    order_id: str | None = None


def purchased(
    machine: StageMachine,
    state: CustomerState,
    purchases: Mapping[str, Purchase],
    order_id: str,
    amount_minor: int,
    at: datetime,
    currency: str | None = None,
) -> Folded:
    """An order, paid or free: count it once (a replay under another event id changes
    nothing), apply a refund that arrived before it, then fire first or repeat purchase
    unless that refund took all of it."""
    known = purchases.get(order_id)
    if known is not None and known.known:
        return Folded(state, purchases)
    order = Purchase(order_id, at, amount_minor, currency=currency)
    if known is not None:
        order = order.refund(known.refunded_minor)
    before = rfm_of(purchases.values())
    after = {**purchases, order_id: order}
    if not order.paid:
        return Folded(state, after, None, order_id)
    facts = Facts(tuple(after.values()))
    moved, transition = machine.move(state, purchase_trigger(before), at, facts)
    return Folded(moved, after, transition, order_id)


def refunded(
    machine: StageMachine,
    state: CustomerState,
    purchases: Mapping[str, Purchase],
    order_id: str,
    amount_minor: int,
    at: datetime,
) -> Folded:
    """Part or all of an order refunded; an order not seen yet keeps the refund for later."""
    order = purchases.get(order_id) or Purchase(order_id, at, 0, state="awaiting")
    after = {**purchases, order_id: order.refund(amount_minor)}
    moved, transition = machine.move(state, "refunded", at, Facts(tuple(after.values())))
    return Folded(moved, after, transition, order_id)


def complaint_opened(
    machine: StageMachine,
    state: CustomerState,
    purchases: Mapping[str, Purchase],
    severity: str,
    at: datetime,
) -> Folded:
    """One more open complaint of ``severity``; a blocking one may end loyalty."""
    counts = dict(state.open_complaints)
    counts[severity] = counts.get(severity, 0) + 1
    state = replace(state, open_complaints=counts)
    moved, transition = machine.move(
        state, "complaint_opened", at, Facts(tuple(purchases.values()))
    )
    return Folded(moved, purchases, transition)


def complaint_resolved(state: CustomerState, severity: str) -> CustomerState:
    """One fewer open complaint of ``severity``, never below zero (a complaint opened
    before this service kept counts has nothing to take back)."""
    counts = dict(state.open_complaints)
    counts[severity] = max(0, counts.get(severity, 0) - 1)
    return replace(state, open_complaints={s: n for s, n in counts.items() if n > 0})


def survey_answered(state: CustomerState, nps_category: str | None) -> CustomerState:
    """The latest NPS answer decides whether the customer is a detractor; feedback, which
    owns the survey scales, names the category (None for answers that are not NPS)."""
    if nps_category is None:
        return state
    return replace(state, nps_detractor=nps_category == "detractor")


def tier_changed(
    state: CustomerState, from_tier: str | None, to_tier: str, order: tuple[str, ...]
) -> CustomerState:
    """A move down the tier ladder is a churn signal; a move up clears it."""
    if from_tier is None or from_tier not in order or to_tier not in order:
        return state
    return replace(state, tier_downgraded=order.index(to_tier) < order.index(from_tier))
