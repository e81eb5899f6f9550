"""Settling the customers a batch touched: their statistics, next timer and churn risk,
computed once per customer whatever number of events moved them, then written in
one statement per table. Shared by the consumers and the sweep."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from services.lifecycle import announcements, store
from services.lifecycle.announcements import HistoryRow
from services.lifecycle.domain import rfm, risk, timers
from services.lifecycle.domain.stages import StageMachine
from services.lifecycle.store import Customer
from services.lifecycle.tables import stage_history
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
) -> None:
    """Recompute statistics, timers and churn risk of the touched customers; write them
    and the history; announce a churn risk that moved enough.

    ``timers_due_by``: the sweeper has just fired every timer due by then, so one
    still due is one no rule takes; it is dropped rather than polled forever."""
    now, config = clock.now(), machine.config
    known = {k: c for k, c in customers.items() if c.state.stage is not None}
    models = await store.current_models(uow.conn, {k[0] for k in known}, config)
    states, due = [], {}
    for key, customer in known.items():
        stats = rfm.rfm_of(customer.purchases.values())
        model = models[key[0]]
        churn = risk.score(customer.state, stats, model.params, model.time_unit, now, config.risk)
        cause = causes.get(key)
        if cause and risk.worth_announcing(customer.announced, churn, config.risk):
            customer.announced = (churn.score, churn.level)
            uow.publish(announcements.risk_changed(churn, cause, now))
        timer = timers.next_timer(machine, customer.state, stats)
        stale = timer and timers_due_by and timer[1] <= timers_due_by
        due[key] = None if stale else timer
        states.append(store.state_row(key, customer, stats, churn, now))
    await store.save(uow.conn, customers, states)
    await store.set_timers(uow.conn, due)
    await insert_rows(uow.conn, stage_history, history)
