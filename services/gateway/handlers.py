"""The gateway's application functions: accept partner events durably, once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from services.gateway.ingestion import Sender
from services.gateway.tables import ingestion_receipt
from shared.db import insert_new
from shared.events import CloudEvent
from shared.uow import Database, UnitOfWork


async def accept_events(
    db: Database, sender: Sender, events: Sequence[CloudEvent]
) -> set[uuid.UUID]:
    """Record receipts and outbox rows in one transaction; return the ids that are new.

    Of several events with one id (a partner's id repeated inside a batch), the first is
    the one stored and published; the batch answer calls the others duplicates.

    The receipt and the event commit together, so a ``202`` means the event is
    durable, and a crash before the commit leaves no receipt to turn the
    partner's retry into a false "duplicate".
    """
    first: dict[uuid.UUID, CloudEvent] = {}
    for event in events:  # the first event of an id wins, in the order they came
        first.setdefault(event.id, event)
    unique = list(first.values())
    if not unique:
        return set()
    async with db.unit_of_work() as uow:
        fresh = await record_receipts(uow, sender, unique, db.clock.now())
        await uow.commit()
    return fresh


async def record_receipts(
    uow: UnitOfWork, sender: Sender, events: Sequence[CloudEvent], now: datetime
) -> set[uuid.UUID]:
    """Receipts for ``events`` (distinct ids) and, for the new ones, their outbox rows in
    ``uow``; the ids that are new. An import's chunk commits them with its progress."""
    if not events:
        return set()
    receipts = [
        {
            "tenant_id": sender.tenant_id,
            "partner": sender.partner,
            "partner_event_id": e.data["partner_event_id"],
            "event_id": e.id,
            "type": e.type.split(".")[2],
            "received_at": now,
        }
        for e in events
    ]
    fresh = await insert_new(uow.conn, ingestion_receipt, receipts, returning="event_id")
    uow.publish(*(e for e in events if e.id in fresh))
    return fresh
