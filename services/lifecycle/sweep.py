"""Time-based transitions: due-time rows polled under ``FOR UPDATE SKIP LOCKED``.

Each customer has at most one timer row (silence, then churn), kept up to date by
every event that touches them. The sweeper takes due rows a batch at a time; a
row another replica holds is skipped, not waited for, and the transition, the
history and the timer's next due time commit together, so two replicas never
apply one transition twice. The same code answers ``POST /v1/lifecycle/sweep``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.lifecycle import announcements, store
from services.lifecycle.announcements import HistoryRow
from services.lifecycle.domain.stages import Facts, StageMachine, Transition
from services.lifecycle.domain.timers import TRIGGER_OF, Timer, next_timer
from services.lifecycle.settling import settle
from services.lifecycle.store import Customer
from shared.clock import Clock
from shared.events import CloudEvent
from shared.rulebook import Rulebook
from shared.subscription import CustomerKey
from shared.sweeps import Swept, drain
from shared.uow import Database, UnitOfWork

# A customer moves at most silence → churn in one pass; the bound guards a cycle.
_MAX_MOVES_PER_PASS = 4


async def sweep_due(
    db: Database,
    machines: Rulebook[StageMachine],
    clock: Clock,
    batch_size: int = 500,
    tenant: str | None = None,
    quiet_after: timedelta | None = None,
) -> Swept:
    """Apply every time-based transition due at the clock's now (of one tenant, or all);
    how many customers ``moved``. ``quiet_after``: while a tenant's events arrived within
    it, its timers fire only as its event-time watermark passes them (``watermarks``)."""
    return await drain(lambda: _sweep_batch(db, machines, clock, batch_size, tenant, quiet_after))


async def _sweep_batch(
    db: Database,
    machines: Rulebook[StageMachine],
    clock: Clock,
    limit: int,
    tenant: str | None,
    quiet_after: timedelta | None,
) -> Swept:
    now = clock.now()
    quiet_since = None if quiet_after is None else now - quiet_after
    async with db.unit_of_work() as uow:
        due = await store.due_timers(uow.conn, now, limit, tenant, quiet_since)
        if not due:
            return Swept({"moved": 0})
        await machines.refresh(uow.conn)
        moved = 0
        for owner in sorted({r.tenant_id for r in due}):  # each by its tenant's own machine
            mine = [r for r in due if r.tenant_id == owner]
            until = min(r.until for r in mine)  # one watermark per tenant
            moved += await _sweep_tenant(uow, mine, machines.of(owner), clock, until)
        await uow.commit()
    # A full batch that moved nobody holds only timers no rule takes (now dropped).
    return Swept({"moved": moved}, more=len(due) == limit and bool(moved))


async def _sweep_tenant(
    uow: UnitOfWork, due: list[Any], machine: StageMachine, clock: Clock, until: datetime
) -> int:
    """Fire one tenant's timers of the batch due by ``until`` (the clock's now, or the
    tenant's watermark while its events flow) and settle its customers; how many moved."""
    keys = {(r.tenant_id, r.customer_id) for r in due}
    customers = await store.load_customers(uow.conn, keys, skip_locked=True)
    for key in keys - customers.keys():
        customers[key] = Customer()  # held by a consumer right now, or unknown
    history: list[HistoryRow] = []
    causes: dict[CustomerKey, CloudEvent] = {}
    for row in due:
        key = (row.tenant_id, row.customer_id)
        for transition, timer in fire_due(customers[key], (row.kind, row.due_at), machine, until):
            history.append(announcements.history_row(key, transition, "timer", timer))
            causes[key] = announcements.timer_stage_changed(key, transition, timer)
            uow.publish(causes[key])
    locked = {k: c for k, c in customers.items() if c.state.stage is not None}
    await settle(uow, locked, causes, machine, clock, history, timers_due_by=until)
    return len(causes)


def fire_due(
    customer: Customer, timer: Timer | None, machine: StageMachine, now: datetime
) -> list[tuple[Transition, str]]:
    """Fire the customer's due timers in order; a customer long gone goes silent, then
    churned. Each transition comes with the timer that fired it (silence, then churn), so
    its history row and event name their own cause, not the first timer of the pass."""
    made: list[tuple[Transition, str]] = []
    facts = Facts(tuple(customer.purchases.values()))
    while timer and timer[1] <= now and len(made) < _MAX_MOVES_PER_PASS:
        state = customer.state
        if state.stage is None:
            break
        at = max(timer[1], state.stage_since or timer[1])
        customer.state, transition = machine.move(state, TRIGGER_OF[timer[0]], at, facts)
        if transition is None:
            break
        made.append((transition, timer[0]))
        timer = next_timer(machine, customer.state, facts.rfm)
    return made
