"""Lifecycle's application functions: fold a batch of activity into customer states,
record the transitions, and announce them. Set-based: one read, one write per table."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_

from services.lifecycle import domain
from services.lifecycle.tables import customer_state, stage_history
from shared.clock import Clock
from shared.consumer import Received
from shared.db import upsert
from shared.events import CloudEvent
from shared.events.activity import (
    AccountClosed,
    CustomerRegistered,
    EngagementRecorded,
    OrderRefunded,
    PurchaseCompleted,
)
from shared.events.envelope import caused_event
from shared.events.lifecycle import StageCause, StageChanged
from shared.events.payload import Payload
from shared.uow import UnitOfWork

SOURCE = "/crm/lifecycle"
Key = tuple[str, uuid.UUID]


async def apply_activity(uow: UnitOfWork, batch: Sequence[Received], clock: Clock) -> None:
    """Move stages and statistics for every activity in the batch, in order."""
    states = await _states(uow, {_key(r) for r in batch})
    history: list[dict[str, Any]] = []
    for received in batch:
        key = _key(received)
        state, transition = _apply(
            states.get(key, domain.CustomerState()), received.payload, received.event.time
        )
        states[key] = state
        if transition:
            history.append(_history_row(key, transition, received.event))
            uow.publish(_stage_changed(transition, received.event))
    now = clock.now()
    rows = [
        {"tenant_id": t, "customer_id": c, **asdict(s), "updated_at": now}
        for (t, c), s in states.items()
        if s.stage is not None
    ]
    await upsert(uow.conn, customer_state, rows, key=("tenant_id", "customer_id"))
    if history:
        await uow.conn.execute(stage_history.insert(), history)


def _apply(
    state: domain.CustomerState, payload: Payload, at: datetime
) -> tuple[domain.CustomerState, domain.Transition | None]:
    match payload:
        case CustomerRegistered():
            return domain.move(state, "registered", at)
        case EngagementRecorded():
            return domain.move(state, "engaged", at)
        case PurchaseCompleted(amount_minor=amount):
            state = domain.record_purchase(state, amount, at)
            return domain.move(state, domain.purchase_trigger(state), at)
        case OrderRefunded(amount_minor=amount):
            return domain.record_refund(state, amount), None
        case AccountClosed():
            return domain.move(state, "closed", at)
    return state, None


def _key(received: Received) -> Key:
    return received.event.tenantid, uuid.UUID(received.event.subject or "")


async def _states(uow: UnitOfWork, keys: set[Key]) -> dict[Key, domain.CustomerState]:
    fields = [c for c in customer_state.c if c.name in domain.CustomerState.__dataclass_fields__]
    rows = await uow.conn.execute(
        select(customer_state.c.tenant_id, customer_state.c.customer_id, *fields).where(
            tuple_(customer_state.c.tenant_id, customer_state.c.customer_id).in_(keys)
        )
    )
    return {
        (r.tenant_id, r.customer_id): domain.CustomerState(
            **{f.name: r._mapping[f.name] for f in fields}
        )
        for r in rows
    }


def _history_row(key: Key, transition: domain.Transition, cause: CloudEvent) -> dict[str, Any]:
    return {
        "tenant_id": key[0],
        "customer_id": key[1],
        "from_stage": transition.from_stage,
        "to_stage": transition.to_stage,
        "at": transition.at,
        "cause_kind": "event",
        "cause_ref": str(cause.id),
    }


def _stage_changed(transition: domain.Transition, cause: CloudEvent) -> CloudEvent:
    return caused_event(
        StageChanged(
            from_stage=transition.from_stage,
            to_stage=transition.to_stage,
            at=transition.at,
            cause=StageCause(kind="event", ref=str(cause.id)),
            reactivation=transition.reactivation,
        ),
        cause,
        source=SOURCE,
        purpose="stage_changed",
        time=transition.at,
    )
