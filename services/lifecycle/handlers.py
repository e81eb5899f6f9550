"""Lifecycle's application functions: fold a batch of events into customers, then
settle each touched customer once (statistics, timer, churn risk) and announce what
changed. Set-based: one locked read of the touched customers, one write per table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from services.lifecycle import store
from services.lifecycle.domain import folding, rfm, risk
from services.lifecycle.domain.config import LifecycleConfig
from services.lifecycle.domain.stages import CustomerState, StageMachine, Transition
from services.lifecycle.store import Customer, Key
from services.lifecycle.tables import stage_history
from shared.app import Runtime
from shared.clock import Clock
from shared.consumer import Received
from shared.events import CloudEvent
from shared.events.activity import (
    AccountClosed,
    CustomerRegistered,
    EngagementRecorded,
    OrderRefunded,
    PurchaseCompleted,
)
from shared.events.envelope import caused_event
from shared.events.feedback import ComplaintOpened, ComplaintResolved, SurveyAnswered
from shared.events.lifecycle import ChurnRiskChanged, RiskReason, StageCause, StageChanged
from shared.events.loyalty import TierChanged
from shared.events.payload import Payload
from shared.uow import UnitOfWork

SOURCE = "/crm/lifecycle"
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


@dataclass(frozen=True)
class Lifecycle:
    """What lifecycle's application functions need: the configuration and the clock."""

    config: LifecycleConfig
    machine: StageMachine
    clock: Clock

    @classmethod
    def of(cls, config: LifecycleConfig, clock: Clock) -> Lifecycle:
        return cls(config, StageMachine(config), clock)


def lifecycle_of(runtime: Runtime) -> Lifecycle:
    """The running service's configuration and clock (set up at start)."""
    return cast(Lifecycle, runtime.resources["lifecycle"])


async def apply_events(uow: UnitOfWork, batch: Sequence[Received[Payload]], lc: Lifecycle) -> None:
    """Fold every event of the batch into its customer in event-time order, then settle."""
    ordered = sorted(batch, key=lambda r: (r.customer, r.event.time))
    customers = await store.load_customers(uow.conn, {r.customer for r in ordered})
    history: list[dict[str, Any]] = []
    last_cause: dict[Key, CloudEvent] = {}
    for received in ordered:
        key = received.customer
        customer = customers.setdefault(key, Customer())
        transition = _fold(customer, received, lc)
        last_cause[key] = received.event
        if transition:
            history.append(history_row(key, transition, "event", str(received.event.id)))
            uow.publish(_stage_changed(transition, received.event))
    await settle(uow, customers, last_cause, lc, history)


async def settle(
    uow: UnitOfWork,
    customers: Mapping[Key, Customer],
    causes: Mapping[Key, CloudEvent],
    lc: Lifecycle,
    history: list[dict[str, Any]],
    *,
    timers_due_by: datetime | None = None,
) -> None:
    """Recompute statistics, timers and churn risk of the touched customers; write them
    and the history; announce a churn risk that moved enough.

    ``timers_due_by``: the sweeper has just fired every timer due by then, so one
    still due is one no rule takes; it is dropped rather than polled forever."""
    now = lc.clock.now()
    known = {k: c for k, c in customers.items() if c.state.stage is not None}
    models = await store.current_models(uow.conn, {k[0] for k in known}, lc.config)
    states, timers = [], {}
    for key, customer in known.items():
        stats = rfm.rfm_of(customer.purchases.values())
        model = models[key[0]]
        churn = risk.score(
            customer.state, stats, model.params, model.time_unit, now, lc.config.risk
        )
        cause = causes.get(key)
        if cause and risk.worth_announcing(customer.announced, churn, lc.config.risk):
            customer.announced = (churn.score, churn.level)
            uow.publish(_risk_changed(churn, cause, now))
        timer = next_timer(customer.state, stats, lc.config)
        stale = timer and timers_due_by and timer[1] <= timers_due_by
        timers[key] = None if stale else timer
        states.append(store.state_row(key, customer, stats, churn, now))
    await store.save(uow.conn, customers, states)
    await store.set_timers(uow.conn, timers)
    if history:
        await uow.conn.execute(stage_history.insert(), history)


def next_timer(
    state: CustomerState, stats: rfm.Rfm, config: LifecycleConfig
) -> tuple[str, datetime] | None:
    """The customer's next time-based transition, if their stage has one."""
    if state.stage in ("new_customer", "active", "loyal"):
        due = rfm.silence_due(stats, config.silence)
        return ("silence", due) if due else None
    if state.stage == "silent":
        due = rfm.churn_due(stats, config.silence)
        return ("churn", max(due, state.stage_since or due)) if due else None
    return None


def _fold(customer: Customer, received: Received[Payload], lc: Lifecycle) -> Transition | None:
    """Translate one event into its domain call; the customer takes the result."""
    state, orders, at, machine = customer.state, customer.purchases, received.event.time, lc.machine
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
        case PurchaseCompleted(order_id=order, amount_minor=amount):
            return _take(customer, folding.purchased(machine, state, orders, order, amount, at))
        case OrderRefunded(order_id=order, amount_minor=amount):
            return _take(customer, folding.refunded(machine, state, orders, order, amount, at))
        case ComplaintOpened(severity=severity):
            return _take(customer, folding.complaint_opened(machine, state, orders, severity, at))
        case ComplaintResolved(severity=severity):
            customer.state = folding.complaint_resolved(state, severity)
        case SurveyAnswered(survey=survey, score=score):
            customer.state = folding.survey_answered(state, survey, score)
        case TierChanged(from_tier=before, to_tier=after):
            order_of_tiers = lc.config.risk.tier_order
            customer.state = folding.tier_changed(state, before, after, order_of_tiers)
    return None


def _take(customer: Customer, folded: folding.Folded) -> Transition | None:
    customer.state, customer.purchases = folded.state, dict(folded.purchases)
    if folded.order_id:
        customer.changed_orders.add(folded.order_id)
    return folded.transition


def history_row(key: Key, transition: Transition, kind: str, ref: str) -> dict[str, Any]:
    return {
        "tenant_id": key[0],
        "customer_id": key[1],
        "from_stage": transition.from_stage,
        "to_stage": transition.to_stage,
        "at": transition.at,
        "cause_kind": kind,
        "cause_ref": ref,
    }


def stage_changed_payload(transition: Transition, kind: str, ref: str) -> StageChanged:
    return StageChanged(
        from_stage=transition.from_stage,
        to_stage=transition.to_stage,
        at=transition.at,
        cause=StageCause(kind=kind, ref=ref),
        reactivation=transition.reactivation,
    )


def _stage_changed(transition: Transition, cause: CloudEvent) -> CloudEvent:
    return caused_event(
        stage_changed_payload(transition, "event", str(cause.id)),
        cause,
        source=SOURCE,
        purpose="stage_changed",
        time=transition.at,
    )


def risk_payload(churn: risk.ChurnRisk, at: datetime) -> ChurnRiskChanged:
    reasons = [
        RiskReason(code=r.code, weight=round(r.weight, 2), detail=r.detail) for r in churn.reasons
    ]
    return ChurnRiskChanged(score=churn.score, level=churn.level, reasons=reasons, at=at)


def _risk_changed(churn: risk.ChurnRisk, cause: CloudEvent, now: datetime) -> CloudEvent:
    return caused_event(
        risk_payload(churn, now), cause, source=SOURCE, purpose="churn_risk_changed", time=now
    )
