"""What lifecycle erases and exports of a customer.

Erasure removes the customer's stage, its history and its timers (so no sweep moves an
erased customer again); the purchases stay under the now anonymous id, as amounts and
times the population's models learn from (they never held a name or a contact)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.lifecycle.tables import (
    customer_state,
    lifecycle_purchase,
    lifecycle_timer,
    stage_history,
)
from shared.erasure import delete_rows, rows_of

ERASED = (customer_state, stage_history, lifecycle_timer)


async def erase(
    conn: AsyncConnection, tenant_id: str, customers: list[uuid.UUID]
) -> dict[str, int]:
    """Remove the customers' stage, history and timers."""
    return {t.name: await delete_rows(conn, t, tenant_id, customers) for t in ERASED}


async def export(
    conn: AsyncConnection, tenant_id: str, customer_id: uuid.UUID
) -> dict[str, list[dict[str, Any]]]:
    """The customer's stage and scores, stage history, purchases and timers."""
    held = (*ERASED, lifecycle_purchase)
    return {t.name: await rows_of(conn, t, tenant_id, customer_id) for t in held}
