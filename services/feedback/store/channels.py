"""Orders by channel: what channel analytics needs of each purchase (its channel, amount,
currency and time), kept once per order, a batch at a time; and what a customer's
preferred channel is decided from (their orders and answers per channel, the channels
they withdrew) and the one last announced."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import func, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from services.feedback.tables import channel_order, consent, respondent, survey_response
from shared.db import insert_ignoring_conflicts, keys_in, upsert

Key = tuple[str, uuid.UUID]  # (tenant, customer)


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


async def channel_touches(
    conn: AsyncConnection, keys: Collection[Key]
) -> dict[Key, dict[str, int]]:
    """Each customer's orders and answers per channel, over all their history."""
    o, r = channel_order.c, survey_response.c
    touches = union_all(
        select(o.tenant_id, o.customer_id, o.channel).where(
            keys_in(conn, [o.tenant_id, o.customer_id], keys)
        ),
        select(r.tenant_id, r.customer_id, r.channel).where(
            keys_in(conn, [r.tenant_id, r.customer_id], keys), r.channel.is_not(None)
        ),
    ).subquery()
    t = touches.c
    query = select(t.tenant_id, t.customer_id, t.channel, func.count()).group_by(
        t.tenant_id, t.customer_id, t.channel
    )
    found: dict[Key, dict[str, int]] = {}
    for tenant, customer, channel, n in await conn.execute(query):
        found.setdefault((tenant, customer), {})[channel] = n
    return found


async def withdrawn_channels(conn: AsyncConnection, keys: Collection[Key]) -> dict[Key, set[str]]:
    """Each customer's channels with consent decisions, none of them granted."""
    c = consent.c
    query = select(c.tenant_id, c.customer_id, c.channel, c.granted).where(
        keys_in(conn, [c.tenant_id, c.customer_id], keys)
    )
    decided: dict[tuple[str, uuid.UUID, str], bool] = {}
    for tenant, customer, channel, granted in await conn.execute(query):
        decided[(tenant, customer, channel)] = (
            decided.get((tenant, customer, channel), False) or granted
        )
    found: dict[Key, set[str]] = {}
    for (tenant, customer, channel), granted in decided.items():
        if not granted:
            found.setdefault((tenant, customer), set()).add(channel)
    return found


async def announced_preferences(
    conn: AsyncConnection, keys: Collection[Key]
) -> dict[Key, str | None]:
    """Each customer's preferred channel as last announced, their rows locked."""
    r = respondent.c
    query = select(r.tenant_id, r.customer_id, r.preferred_channel).where(
        keys_in(conn, [r.tenant_id, r.customer_id], keys)
    )
    rows = await conn.execute(query.with_for_update())
    return {(tenant, customer): channel for tenant, customer, channel in rows}


async def save_preferences(conn: AsyncConnection, preferred: Mapping[Key, str | None]) -> None:
    """Record these as each customer's announced preferred channel."""
    rows = [
        {"tenant_id": t, "customer_id": c, "preferred_channel": channel}
        for (t, c), channel in preferred.items()
    ]
    await upsert(conn, respondent, rows, key=["tenant_id", "customer_id"])
