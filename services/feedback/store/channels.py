"""Orders by channel: what channel analytics needs of each purchase (its channel, amount,
currency and time), kept once per order, a batch at a time."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from services.feedback.tables import channel_order
from shared.db import insert_ignoring_conflicts


@dataclass(frozen=True)
class ChannelOrder:
    """One order as channel analytics counts it (gross of refunds)."""

    tenant_id: str
    customer_id: uuid.UUID
    order_id: str
    channel: str
    amount_minor: int
    currency: str
    purchased_at: datetime


async def add_channel_orders(conn: AsyncConnection, orders: Sequence[ChannelOrder]) -> None:
    """Insert the orders; one recorded before (the same order id) is left alone."""
    unique = {(o.tenant_id, o.customer_id, o.order_id): o for o in orders}
    await insert_ignoring_conflicts(conn, channel_order, [asdict(o) for o in unique.values()])
