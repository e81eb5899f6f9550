"""Loyalty's application functions: purchases earn points in the ledger.

Set-based over a batch: one insert of the new entries (the unique cause
``(tenant, customer, kind, ref)`` drops an order that was already rewarded,
whatever event carried it; order ids are unique per customer, not across
partners), one sum of the touched balances, one event per entry.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, tuple_

from services.loyalty import domain
from services.loyalty.tables import account, ledger_entry
from shared.clock import Clock
from shared.consumer import Received
from shared.db import insert_ignoring_conflicts, insert_new
from shared.events import CloudEvent
from shared.events.activity import PurchaseCompleted
from shared.events.envelope import caused_event, derived_id
from shared.events.loyalty import PointsEarned
from shared.uow import UnitOfWork

SOURCE = "/crm/loyalty"
Key = tuple[str, uuid.UUID]


async def earn_points(uow: UnitOfWork, batch: Sequence[Received], clock: Clock) -> None:
    """Credit the points each purchase in the batch earns."""
    now = clock.now()
    purchases = [r for r in batch if isinstance(r.payload, PurchaseCompleted)]
    causes = {derived_id(r.event.id, "earn"): r.event for r in purchases}
    candidates = [_earn_entry(r) for r in purchases]
    candidates = [c for c in candidates if c["points"] > 0]
    if not candidates:
        return
    await insert_ignoring_conflicts(
        uow.conn,
        account,
        [
            {
                "tenant_id": c["tenant_id"],
                "customer_id": c["customer_id"],
                "tier": "member",
                "qualifying_spend_minor": 0,
                "currency": None,
                "created_at": now,
                "updated_at": now,
            }
            for c in candidates
        ],
    )
    new_ids = await insert_new(uow.conn, ledger_entry, candidates, returning="entry_id")
    entries = [c for c in candidates if c["entry_id"] in new_ids]
    balances = await _balances(uow, {(e["tenant_id"], e["customer_id"]) for e in entries})
    by_customer: defaultdict[Key, list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        by_customer[(entry["tenant_id"], entry["customer_id"])].append(entry)
    for key, own in by_customer.items():
        after = domain.balances_after(balances[key], [e["points"] for e in own])
        uow.publish(
            *(
                _points_earned(e, balance, causes[e["entry_id"]])
                for e, balance in zip(own, after, strict=True)
            )
        )


def _earn_entry(received: Received) -> dict[str, Any]:
    purchase: PurchaseCompleted = received.payload  # type: ignore[assignment]
    earning = domain.points_for_purchase(purchase.amount_minor, purchase.currency)
    event = received.event
    return {
        "entry_id": derived_id(event.id, "earn"),
        "tenant_id": event.tenantid,
        "customer_id": uuid.UUID(event.subject or ""),
        "kind": "earn",
        "points": earning.points,
        "ref": f"order:{purchase.order_id}",
        "rule": earning.rule,
        "cause_event_id": event.id,
        "at": event.time,
    }


async def _balances(uow: UnitOfWork, keys: set[Key]) -> dict[Key, int]:
    if not keys:
        return {}
    rows = await uow.conn.execute(
        select(
            ledger_entry.c.tenant_id, ledger_entry.c.customer_id, func.sum(ledger_entry.c.points)
        )
        .where(tuple_(ledger_entry.c.tenant_id, ledger_entry.c.customer_id).in_(keys))
        .group_by(ledger_entry.c.tenant_id, ledger_entry.c.customer_id)
    )
    return {(t, c): int(total) for t, c, total in rows}


def _points_earned(entry: dict[str, Any], balance_after: int, cause: CloudEvent) -> CloudEvent:
    return caused_event(
        PointsEarned(
            entry_id=str(entry["entry_id"]),
            points=entry["points"],
            order_id=entry["ref"].removeprefix("order:"),
            rule=entry["rule"],
            balance_after=balance_after,
            pending_after=0,
            tier="member",
            at=entry["at"],
        ),
        cause,
        source=SOURCE,
        purpose="points_earned",
    )
