"""Settling the customers a batch touched: their statistics, next timer, churn risk and
value, computed once per customer whatever number of events moved them, then written
in one statement per table. Shared by the consumers, the sweep and the rescore job."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from services.lifecycle import announcements, store, valuing
from services.lifecycle.announcements import HistoryRow
from services.lifecycle.domain import rfm, risk, timers
from services.lifecycle.domain.stages import StageMachine
from services.lifecycle.store import Customer
from services.lifecycle.tables import stage_history
from services.lifecycle.valuing import Scored
from shared.clock import Clock
from shared.db import insert_rows
from shared.events import CloudEvent
from shared.subscription import CustomerKey
from shared.uow import UnitOfWork


async def settle(
    uow: UnitOfWork,
    customers: Mapping[CustomerKey, Customer],
    causes: Mapping[CustomerKey, CloudEvent],
    machine: StageMachine,
    clock: Clock,
    history: Sequence[HistoryRow],
    *,
    timers_due_by: datetime | None = None,
    rescoring: bool = False,
) -> None:
    """Recompute statistics, timers, churn risk and value of the touched customers; write
    them and the history; announce a churn risk that moved enough and a value class that
    changed.

    ``timers_due_by``: the sweeper has just fired every timer due by then, so one
    still due is one no rule takes; it is dropped rather than polled forever.
    ``rescoring``: no event moved these customers (time passed, a refit), so what
    changed is announced on its own, not as caused by an event."""
    now, config = clock.now(), machine.config
    known = {k: c for k, c in customers.items() if c.state.stage is not None}
    models = await store.current_models(uow.conn, {k[0] for k in known}, config)
    found = await valuing.valuations(uow.conn, {k[0] for k in known})
    scored, churns, due = [], {}, {}
    for key, customer in known.items():
        stats = rfm.rfm_of(customer.purchases.values())
        model = models[key[0]]
        churn = risk.score(customer.state, stats, model.params, model.time_unit, now, config.risk)
        cause = causes.get(key)
        if (cause or rescoring) and risk.worth_announcing(customer.announced, churn, config.risk):
            customer.announced = (churn.score, churn.level)
            uow.publish(_risk_event(key, churn, cause, now))
        timer = timers.next_timer(machine, customer.state, stats)
        stale = timer and timers_due_by and timer[1] <= timers_due_by
        due[key] = None if stale else timer
        scored.append(Scored(key, customer, stats, churn.p_alive))
        churns[key] = churn
    worths = valuing.worth_columns(scored, models, found, config.value, now)
    states = []
    for item in scored:
        worth = worths.get(item.key, store.NO_WORTH)
        _announce_class(uow, item, worth, causes.get(item.key), rescoring, now)
        states.append(
            store.state_row(item.key, item.customer, item.rfm, churns[item.key], now, worth)
        )
    await store.save(uow.conn, customers, states)
    await store.set_timers(uow.conn, due)
    await insert_rows(uow.conn, stage_history, history)


def _risk_event(
    key: CustomerKey, churn: risk.ChurnScore, cause: CloudEvent | None, now: datetime
) -> CloudEvent:
    if cause is None:
        return announcements.rescored(key, announcements.risk_payload(churn, now))
    return announcements.risk_changed(churn, cause, now)


def _announce_class(
    uow: UnitOfWork,
    item: Scored,
    worth: Mapping[str, object],
    cause: CloudEvent | None,
    rescoring: bool,
    now: datetime,
) -> None:
    """Announce a value class that changed (the first one included)."""
    before, after = item.customer.announced_class, worth["value_class"]
    if before == after or not (cause or rescoring):
        return
    item.customer.announced_class = after if isinstance(after, str) else None
    clv, currency = worth["clv_minor"], worth["value_currency"]
    uow.publish(
        announcements.value_class_changed(
            item.key,
            (before, item.customer.announced_class),
            (
                clv if isinstance(clv, int) else None,
                currency if isinstance(currency, str) else None,
            ),
            cause,
            now,
        )
    )
