"""Merges and their undo, as profile announces them, applied to stages.

A merge moves the merged customer's orders to the survivor (each remembers whose it
was) and re-folds the survivor's stage from the union of the orders by event time
(``folding.refold``), so the two are one stage and one set of statistics; the merged
customer's state is kept as it was, its row and timer go, and its id lives on as the
survivor's. The undo moves back every order whose origin is the merged customer (or one
merged into it before, or that came through its id meanwhile: ``arrivals``; an order id
both had was renamed at the merge, ``shared.merges``), puts both states back as they
were at the merge and re-folds each from the orders it holds now (what either bought
meanwhile included).
A merge applied or undone before changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, update

from services.lifecycle import announcements, store
from services.lifecycle.announcements import HistoryRow, history_row
from services.lifecycle.domain import folding
from services.lifecycle.domain.stages import StageMachine
from services.lifecycle.settling import settle
from services.lifecycle.store import Customer
from services.lifecycle.tables import (
    customer_merge,
    customer_state,
    lifecycle_purchase,
    lifecycle_timer,
)
from shared import merges as shared
from shared.clock import Clock
from shared.events import CloudEvent
from shared.events.activity import PurchaseCompleted
from shared.events.payload import Payload
from shared.events.profile import CustomersMerged, CustomersUnmerged
from shared.subscription import CustomerKey, Received
from shared.uow import UnitOfWork

MERGES: tuple[type[Payload], ...] = (CustomersMerged, CustomersUnmerged)
MOVED = (lifecycle_purchase,)
KEPT = ("stage", "reactivations", "open_complaints", "nps_detractor", "tier_downgraded",
        "risk_announced_score", "risk_announced_level", "value_announced_class")  # fmt: skip


async def apply(
    uow: UnitOfWork, batch: Sequence[Received[Payload]], machine: StageMachine, clock: Clock
) -> None:
    """Apply the batch's merges and undos in order."""
    for received in batch:
        match received.payload:
            case CustomersMerged() as merged:
                await _merge(uow, received.event, merged, machine, clock)
            case CustomersUnmerged() as undone:
                await _unmerge(uow, received.event, undone, machine, clock)


async def _merge(
    uow: UnitOfWork, event: CloudEvent, merge: CustomersMerged, machine: StageMachine, clock: Clock
) -> None:
    tenant, merge_id = event.tenantid, uuid.UUID(merge.merge_id)
    if await shared.recorded(uow.conn, customer_merge, tenant, merge_id) is not None:
        return
    survivor, merged = uuid.UUID(merge.survivor_id), uuid.UUID(merge.merged_id)
    found = await store.load_customers(uow.conn, {(tenant, survivor), (tenant, merged)})
    kept = {k[1]: _kept(c) for k, c in found.items() if c.state.stage is not None}
    await shared.move_to_survivor(uow.conn, MOVED, tenant, merged, survivor)
    await _forget(uow, tenant, merged)
    await uow.conn.execute(
        customer_merge.insert().values(
            tenant_id=tenant,
            merge_id=merge_id,
            survivor_id=survivor,
            merged_id=merged,
            merged_state=kept.get(merged),
            survivor_state=kept.get(survivor),
            merged_at=clock.now(),
        )
    )
    await _refold(uow, event, {(tenant, survivor): kept.get(survivor)}, machine, clock)


async def _unmerge(
    uow: UnitOfWork,
    event: CloudEvent,
    undo: CustomersUnmerged,
    machine: StageMachine,
    clock: Clock,
) -> None:
    tenant, merge_id = event.tenantid, uuid.UUID(undo.merge_id)
    row = await shared.recorded(uow.conn, customer_merge, tenant, merge_id)
    if row is None or row["undone_at"] is not None:
        return
    survivor, merged = row["survivor_id"], row["merged_id"]
    await store.load_customers(uow.conn, {(tenant, survivor)})  # locks its row
    await shared.move_back(uow.conn, MOVED, tenant, survivor, merged, undo.restored)
    states = {(tenant, survivor): row["survivor_state"], (tenant, merged): row["merged_state"]}
    await _refold(uow, event, states, machine, clock)
    m = customer_merge.c
    await uow.conn.execute(
        update(customer_merge)
        .where(m.tenant_id == tenant, m.merge_id == merge_id)
        .values(undone_at=clock.now())
    )


async def _refold(
    uow: UnitOfWork,
    event: CloudEvent,
    states: dict[CustomerKey, dict[str, Any] | None],
    machine: StageMachine,
    clock: Clock,
) -> None:
    """Each customer from its kept state (if any) and the orders it holds now, its
    stage re-folded by event time; then settled (statistics, risk, timers) as one
    batch's customers are."""
    found = await store.load_customers(uow.conn, set(states))
    customers: dict[CustomerKey, Customer] = {}
    history: list[HistoryRow] = []
    for key, kept in states.items():
        customer = found.get(key, Customer())
        if kept is not None:
            customer = _restored(kept, customer)
        customer.changed_orders = set(customer.purchases)
        if customer.purchases and customer.state.stage is not None:
            order = min(customer.purchases)
            folded = folding.refold(machine, customer.state, customer.purchases, order)
            customer.state = folded.state
            if folded.transition is not None:
                history.append(history_row(key, folded.transition, "event", str(event.id)))
                uow.publish(announcements.stage_changed(folded.transition, event))
        customers[key] = customer
    await settle(uow, customers, {k: event for k in customers}, machine, clock, history)


async def _forget(uow: UnitOfWork, tenant: str, merged: uuid.UUID) -> None:
    """The merged customer's own row and timer (kept in the merge, for an undo)."""
    for table in (customer_state, lifecycle_timer):
        await uow.conn.execute(
            delete(table).where(table.c.tenant_id == tenant, table.c.customer_id == merged)
        )


def arrivals(
    batch: Sequence[Received[Payload]], customers: dict[CustomerKey, Customer]
) -> list[tuple[Received[Payload], str]]:
    """The orders new to a survivor (as loaded, before the batch) that came through a
    merged-away customer's id: that customer's, once they are written."""
    return [
        (r, r.payload.order_id)
        for r in batch
        if r.merged_from is not None
        and isinstance(r.payload, PurchaseCompleted)
        and r.payload.order_id not in customers.get(r.customer, Customer()).purchases
    ]


async def claim_arrivals(uow: UnitOfWork, found: Sequence[tuple[Received[Payload], str]]) -> None:
    """Each arrival's order is the merged customer's: an undo gives it back to it."""
    for received, order_id in found:
        which = lifecycle_purchase.c.order_id == order_id
        await shared.claim(uow.conn, lifecycle_purchase, received, which)


def _kept(customer: Customer) -> dict[str, Any]:
    """What a customer's state is beyond its orders, as JSON."""
    state = customer.state
    announced = customer.announced or (None, None)
    return {
        "stage": state.stage,
        "stage_since": state.stage_since.isoformat() if state.stage_since else None,
        "reactivations": state.reactivations,
        "open_complaints": dict(state.open_complaints),
        "nps_detractor": state.nps_detractor,
        "tier_downgraded": state.tier_downgraded,
        "risk_announced_score": announced[0],
        "risk_announced_level": announced[1],
        "value_announced_class": customer.announced_class,
    }


def _restored(kept: dict[str, Any], now: Customer) -> Customer:
    """The kept state with the orders the customer holds now."""
    since = kept["stage_since"]
    row = {**kept, "stage_since": datetime.fromisoformat(since) if since else None}
    restored = store.customer_of(row)
    restored.purchases = now.purchases
    return restored
