"""What loyalty erases and exports of a customer.

Loyalty never held a name, a contact or free text: its ledger, lots, account and tier
changes stay (balances and totals a business must be able to account for), under an id
whose identity profile has destroyed. Erasure removes what was only about the person's
future dealings: granted offers, redemption and adjustment keys, and events parked for
them (an adjustment's entry, its reason and deciding key stay in the ledger and the
audit log)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.loyalty.tables import (
    account,
    adjustment,
    ledger_entry,
    lot,
    offer,
    parked,
    redemption,
    tier_change,
)
from shared.erasure import delete_rows, rows_of

ERASED = (offer, redemption, adjustment, parked)
KEPT = (account, ledger_entry, lot, tier_change)


async def erase(
    conn: AsyncConnection, tenant_id: str, customers: list[uuid.UUID]
) -> dict[str, int]:
    """Remove the customers' offers, redemption and adjustment keys and parked events."""
    return {t.name: await delete_rows(conn, t, tenant_id, customers) for t in ERASED}


async def export(
    conn: AsyncConnection, tenant_id: str, customer_id: uuid.UUID
) -> dict[str, list[dict[str, Any]]]:
    """The customer's account, ledger, lots, tier changes, offers, redemptions and
    manual adjustments."""
    held = (*KEPT, offer, redemption, adjustment)
    return {t.name: await rows_of(conn, t, tenant_id, customer_id) for t in held}
