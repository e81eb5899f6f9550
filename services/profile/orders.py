"""The orders the 360 has folded, so a refund that arrives before its purchase waits
for it (``shared.parking``) instead of taking revenue the purchase has not added yet.

The returns system and the till are different partners, not ordered with each other.
Subtracting a refund first and clamping the revenue at zero lost it for good; so a
refund of an order the 360 has not folded is parked, and folded right after the
purchase when it comes, in the same transaction. Set-based: one read of the known
orders and one insert of the new ones per batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.profile.tables import view_order
from shared.db import insert_ignoring_conflicts, keys_in
from shared.events.activity import OrderRefunded, PurchaseCompleted
from shared.parking import Parking, WaitKey
from shared.subscription import Received


async def in_order_of_purchase(
    conn: AsyncConnection, facts: Sequence[Received[Any]], parking: Parking
) -> list[Received[Any]]:
    """``facts`` with every refund placed after its purchase: a refund of an order not
    folded yet (here or before) is parked, and the parked refunds of this batch's
    purchases are placed right after them."""
    bought = {_awaits(r) for r in facts if isinstance(r.payload, PurchaseCompleted)}
    refunds = {_awaits(r) for r in facts if isinstance(r.payload, OrderRefunded)}
    seen = await _known(conn, refunds - bought)
    held: dict[WaitKey, list[Received[Any]]] = {}
    for early in await parking.take(conn, bought):
        held.setdefault(_awaits(early), []).append(early)
    ordered: list[Received[Any]] = []
    for received in facts:
        if isinstance(received.payload, OrderRefunded) and _awaits(received) not in seen:
            held.setdefault(_awaits(received), []).append(received)
            continue
        ordered.append(received)
        if isinstance(received.payload, PurchaseCompleted):
            seen.add(key := _awaits(received))
            ordered.extend(held.pop(key, []))
    await _record(conn, bought)
    await parking.park(conn, [(r, key[2]) for key, waiting in held.items() for r in waiting])
    return ordered


def _awaits(received: Received[Any]) -> WaitKey:
    """The order a purchase or refund is about, as what a refund waits for."""
    return (*received.customer, f"order:{received.payload.order_id}")


async def _known(conn: AsyncConnection, keys: Iterable[WaitKey]) -> set[WaitKey]:
    wanted = [(t, c, ref.removeprefix("order:")) for t, c, ref in keys]
    if not wanted:
        return set()
    o = view_order.c
    query = select(o.tenant_id, o.customer_id, o.order_id).where(
        keys_in(conn, [o.tenant_id, o.customer_id, o.order_id], wanted)
    )
    return {(t, c, f"order:{order}") for t, c, order in await conn.execute(query)}


async def _record(conn: AsyncConnection, keys: Iterable[WaitKey]) -> None:
    rows = [
        {"tenant_id": t, "customer_id": c, "order_id": ref.removeprefix("order:")[:200]}
        for t, c, ref in sorted(keys)
    ]
    await insert_ignoring_conflicts(conn, view_order, rows)
