"""Webhooks' repository: subscriptions, the deliveries recorded for them, and the due
deliveries a sender takes under ``FOR UPDATE SKIP LOCKED``. Flushes, never commits."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.gateway.tables import webhook_delivery as delivery
from services.gateway.tables import webhook_subscription as subscription
from services.gateway.webhooks.domain import Settled, Status
from shared.db import insert_ignoring_conflicts


@dataclass(frozen=True)
class Subscription:
    subscription_id: uuid.UUID
    tenant_id: str
    url: str
    event_types: list[str]
    description: str
    created_at: datetime
    created_by: str
    disabled_at: datetime | None
    disabled_reason: str | None
    last_success_at: datetime | None


@dataclass(frozen=True)
class Delivery:
    delivery_id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: Status
    attempts: int
    round_started_at: datetime
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class Due:
    """A delivery taken for an attempt: where it goes and what it sends."""

    delivery_id: uuid.UUID
    subscription_id: uuid.UUID
    url: str
    event_id: uuid.UUID
    body: bytes
    attempts: int  # this attempt's number in the round
    round_started_at: datetime


_SUBSCRIPTION = [subscription.c[f] for f in Subscription.__dataclass_fields__]
_DELIVERY = [delivery.c[f] for f in Delivery.__dataclass_fields__]


def _subscription(row: Any) -> Subscription:
    return Subscription(**row._mapping)


def _delivery(row: Any) -> Delivery:
    return Delivery(**row._mapping)


async def add_subscription(conn: AsyncConnection, new: Subscription) -> None:
    await conn.execute(subscription.insert().values(**new.__dict__))


async def count_subscriptions(conn: AsyncConnection, tenant_id: str) -> int:
    query = select(func.count()).where(subscription.c.tenant_id == tenant_id)
    return int(await conn.scalar(query) or 0)


async def subscriptions(
    conn: AsyncConnection, tenant_id: str, limit: int, after: tuple[datetime, uuid.UUID] | None
) -> list[Subscription]:
    """A tenant's subscriptions, oldest first, from just after the (created, id) cursor."""
    query = select(*_SUBSCRIPTION).where(subscription.c.tenant_id == tenant_id)
    if after is not None:
        at, last = after
        query = query.where(
            or_(
                subscription.c.created_at > at,
                (subscription.c.created_at == at) & (subscription.c.subscription_id > last),
            )
        )
    query = query.order_by(subscription.c.created_at, subscription.c.subscription_id).limit(limit)
    return [_subscription(row) for row in await conn.execute(query)]


async def find_subscription(
    conn: AsyncConnection, tenant_id: str, subscription_id: uuid.UUID
) -> Subscription | None:
    """The tenant's subscription of that id; another tenant's does not exist."""
    query = select(*_SUBSCRIPTION).where(
        subscription.c.subscription_id == subscription_id, subscription.c.tenant_id == tenant_id
    )
    row = (await conn.execute(query)).first()
    return None if row is None else _subscription(row)


async def remove_subscription(
    conn: AsyncConnection, tenant_id: str, subscription_id: uuid.UUID
) -> bool:
    """Delete the subscription and its deliveries (pending ones are never sent)."""
    found = await find_subscription(conn, tenant_id, subscription_id)
    if found is None:
        return False
    await conn.execute(delete(delivery).where(delivery.c.subscription_id == subscription_id))
    await conn.execute(
        delete(subscription).where(subscription.c.subscription_id == subscription_id)
    )
    return True


async def set_disabled(
    conn: AsyncConnection, subscription_id: uuid.UUID, at: datetime | None, reason: str | None
) -> None:
    """Disable a subscription (``at`` and why), or enable it again (``None``)."""
    await conn.execute(
        update(subscription)
        .where(subscription.c.subscription_id == subscription_id)
        .values(disabled_at=at, disabled_reason=reason)
    )


async def active_subscriptions(
    conn: AsyncConnection, tenants: Collection[str]
) -> list[Subscription]:
    """The enabled subscriptions of these tenants (what a consumed batch may fan out to)."""
    query = select(*_SUBSCRIPTION).where(
        subscription.c.tenant_id.in_(sorted(tenants)), subscription.c.disabled_at.is_(None)
    )
    return [_subscription(row) for row in await conn.execute(query)]


async def tenants_subscribed(conn: AsyncConnection) -> list[str]:
    """The tenants with an enabled subscription: the only ones whose events fan out."""
    c = subscription.c
    query = select(c.tenant_id).where(c.disabled_at.is_(None)).distinct()
    return list(await conn.scalars(query))


async def record(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """New deliveries; one recorded before (a redelivered event) is left as it is."""
    await insert_ignoring_conflicts(conn, delivery, rows)


async def take_due(
    conn: AsyncConnection, now: datetime, limit: int, lease_until: datetime
) -> list[Due]:
    """Up to ``limit`` due deliveries of enabled subscriptions, locked past other
    replicas (``SKIP LOCKED``) and leased until ``lease_until``: should this process
    die in the attempt, they fall due again then."""
    query = (
        select(
            delivery.c.delivery_id,
            delivery.c.subscription_id,
            subscription.c.url,
            delivery.c.event_id,
            delivery.c.body,
            delivery.c.attempts,
            delivery.c.round_started_at,
        )
        .join(subscription, subscription.c.subscription_id == delivery.c.subscription_id)
        .where(delivery.c.next_attempt_at <= now, subscription.c.disabled_at.is_(None))
        .order_by(delivery.c.next_attempt_at)
        .limit(limit)
        .with_for_update(of=delivery, skip_locked=True)
    )
    rows = (await conn.execute(query)).all()
    if not rows:
        return []
    await conn.execute(
        update(delivery)
        .where(delivery.c.delivery_id.in_([r.delivery_id for r in rows]))
        .values(attempts=delivery.c.attempts + 1, next_attempt_at=lease_until, last_attempt_at=now)
    )
    return [Due(**(dict(row._mapping) | {"attempts": row.attempts + 1})) for row in rows]


async def pending(conn: AsyncConnection) -> int:
    """Deliveries not settled yet (due, leased or waiting for a retry): the partial index's rows."""
    query = select(func.count()).select_from(delivery).where(delivery.c.next_attempt_at.isnot(None))
    return int(await conn.scalar(query) or 0)


async def tenant_of(conn: AsyncConnection, subscription_id: uuid.UUID) -> str:
    query = select(subscription.c.tenant_id).where(
        subscription.c.subscription_id == subscription_id
    )
    return str(await conn.scalar(query))


async def last_success(conn: AsyncConnection, subscription_id: uuid.UUID) -> datetime | None:
    query = select(subscription.c.last_success_at).where(
        subscription.c.subscription_id == subscription_id
    )
    return await conn.scalar(query)


async def settle(
    conn: AsyncConnection,
    due: Due,
    settled: Settled,
    now: datetime,
    status_code: int | None,
    error: str | None,
) -> None:
    """Write an attempt's outcome; a success is also the subscription's latest."""
    await conn.execute(
        update(delivery)
        .where(delivery.c.delivery_id == due.delivery_id)
        .values(
            status=settled.status,
            next_attempt_at=settled.next_attempt_at,
            last_status_code=status_code,
            last_error=error,
            delivered_at=now if settled.status == "delivered" else None,
        )
    )
    if settled.status == "delivered":
        # At most once a second: every delivery of a busy subscription would otherwise
        # queue on this one row's lock.
        await conn.execute(
            update(subscription)
            .where(
                subscription.c.subscription_id == due.subscription_id,
                or_(
                    subscription.c.last_success_at.is_(None),
                    subscription.c.last_success_at < now - timedelta(seconds=1),
                ),
            )
            .values(last_success_at=now)
        )


async def deliveries(
    conn: AsyncConnection,
    subscription_id: uuid.UUID,
    status: Status | None,
    limit: int,
    before: tuple[datetime, uuid.UUID] | None,
) -> list[Delivery]:
    """A subscription's deliveries, newest first, from just before the cursor."""
    query = select(*_DELIVERY).where(delivery.c.subscription_id == subscription_id)
    if status is not None:
        query = query.where(delivery.c.status == status)
    if before is not None:
        at, last = before
        query = query.where(
            or_(
                delivery.c.created_at < at,
                (delivery.c.created_at == at) & (delivery.c.delivery_id < last),
            )
        )
    order = (delivery.c.created_at.desc(), delivery.c.delivery_id.desc())
    return [_delivery(row) for row in await conn.execute(query.order_by(*order).limit(limit))]


async def find_delivery(
    conn: AsyncConnection, subscription_id: uuid.UUID, delivery_id: uuid.UUID
) -> Delivery | None:
    query = (
        select(*_DELIVERY)
        .where(delivery.c.subscription_id == subscription_id, delivery.c.delivery_id == delivery_id)
        .with_for_update()
    )
    row = (await conn.execute(query)).first()
    return None if row is None else _delivery(row)


async def restart(conn: AsyncConnection, delivery_id: uuid.UUID, now: datetime) -> None:
    """A new round for a delivery: due now, its attempts counted from zero."""
    await conn.execute(
        update(delivery)
        .where(delivery.c.delivery_id == delivery_id)
        .values(
            status="pending",
            attempts=0,
            round_started_at=now,
            next_attempt_at=now,
            delivered_at=None,
        )
    )


async def prune(conn: AsyncConnection, before: datetime) -> int:
    """Forget settled deliveries last touched before ``before``; how many."""
    settled = delivery.c.status.in_(["delivered", "failed"])
    result = await conn.execute(
        delete(delivery).where(settled, delivery.c.last_attempt_at < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)
