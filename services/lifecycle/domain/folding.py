"""What each thing a customer does means for lifecycle: the trigger it fires, the orders
and service signals it changes. Plain functions over plain values; the handler
translates events into these calls."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from services.lifecycle.domain.config import Trigger
from services.lifecycle.domain.rfm import Purchase, rfm_of
from services.lifecycle.domain.stages import (
    FUNNEL,
    CustomerState,
    Facts,
    StageMachine,
    Transition,
    purchase_trigger,
)

# Where a refold may start from and act in: the funnel (and no stage yet).
BEFORE_PURCHASE = (None, "prospect", "lead")
REFOLDED = (None, *FUNNEL)


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
        order = order.refund(known.refunded_minor, known.refunded_at)
    before = rfm_of(purchases.values())
    after = {**purchases, order_id: order}
    if known is not None or _late(state, purchases, at):
        return refold(machine, state, after, order_id)
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
    after = {**purchases, order_id: order.refund(amount_minor, at)}
    if order.known and _late(state, purchases, at):
        return refold(machine, state, after, order_id)
    moved, transition = machine.move(state, "refunded", at, Facts(tuple(after.values())))
    return Folded(moved, after, transition, order_id)


def refold(
    machine: StageMachine, state: CustomerState, purchases: Mapping[str, Purchase], order_id: str
) -> Folded:
    """The stage the customer's orders and full refunds give when folded in event-time
    order, for an order or refund that arrived late (or an order whose refund came
    first): what a partner's delivery order decided is replaced by what happened when.

    Only within the purchase funnel: a silent, churned or closed customer's stage is the
    sweep's or the account's, and a late event never moves them (``StageMachine.move``).
    The stage before the first purchase (prospect, lead) is kept as the start."""
    if state.stage not in REFOLDED:
        return _incremental(machine, state, purchases, order_id)
    start = replace(state, stage=state.stage if state.stage in BEFORE_PURCHASE else None)
    folded = replace(start, stage_since=None)
    seen: dict[str, Purchase] = {}
    for at, refund, order in _timeline(purchases.values()):
        if refund:
            seen[order.order_id] = order
            trigger: Trigger = "refunded"
        else:
            paid = sum(1 for p in seen.values() if p.paid)
            trigger = "repeat_purchase" if paid else "first_purchase"
            seen[order.order_id] = Purchase(
                order.order_id, order.at, order.amount_minor, currency=order.currency
            )
        folded, _ = machine.move(folded, trigger, at, Facts(tuple(seen.values())))
    if folded.stage is None or folded.stage == state.stage or folded.stage_since is None:
        return Folded(state, purchases, None, order_id)
    # Dated no earlier than the current stage began, as every late move is, so the
    # history stays in order.
    at = max(folded.stage_since, state.stage_since or folded.stage_since)
    moved = replace(state, stage=folded.stage, stage_since=at)
    return Folded(moved, purchases, Transition(state.stage, folded.stage, at, False), order_id)


def _incremental(
    machine: StageMachine, state: CustomerState, purchases: Mapping[str, Purchase], order_id: str
) -> Folded:
    """Outside the funnel, the one move the arriving order makes (never back into it
    when it is late: ``StageMachine.move``)."""
    order = purchases[order_id]
    if not order.paid:
        return Folded(state, purchases, None, order_id)
    before = rfm_of(p for p in purchases.values() if p.order_id != order_id)
    facts = Facts(tuple(purchases.values()))
    moved, transition = machine.move(state, purchase_trigger(before), order.at, facts)
    return Folded(moved, purchases, transition, order_id)


def _late(state: CustomerState, purchases: Mapping[str, Purchase], at: datetime) -> bool:
    """Whether something the customer did after ``at`` has been folded already."""
    times = [state.stage_since, *(p.at for p in purchases.values() if p.known)]
    times += [p.refunded_at for p in purchases.values() if p.known]
    return any(t is not None and t > at for t in times)


def _timeline(orders: Iterable[Purchase]) -> list[tuple[datetime, bool, Purchase]]:
    """Each known order's purchase, and its refund in full, in event-time order."""
    known = [p for p in orders if p.known]
    steps = [(p.at, False, p) for p in known]
    steps += [
        (max(p.at, p.refunded_at or p.at), True, p) for p in known if p.state == "refunded"
    ]  # a refund dated before its order (clocks differ) is taken as made with it
    return sorted(steps, key=lambda s: (s[0], s[1], s[2].order_id))


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
