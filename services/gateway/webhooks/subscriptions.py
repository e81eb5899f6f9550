"""Webhooks' application functions: subscribe, unsubscribe, enable again, read the
delivery log and replay a delivery, each in one unit of work of the caller's tenant."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from services.gateway.settings import GatewaySettings
from services.gateway.webhooks import hosts, signature, store
from services.gateway.webhooks.domain import Status
from shared.uow import Database


class NotConfigured(RuntimeError):
    """No master key to derive signing secrets from."""


class TooMany(RuntimeError):
    """The tenant has as many subscriptions as it may."""


class NoSuchWebhook(LookupError):
    """No subscription (or delivery) of that id in the caller's tenant."""


class NotReplayable(RuntimeError):
    """Why a delivery cannot be replayed now."""


@dataclass(frozen=True)
class Subscribe:
    tenant_id: str
    created_by: str
    url: str
    event_types: list[str]
    description: str


async def subscribe(
    db: Database, settings: GatewaySettings, command: Subscribe, now: datetime
) -> tuple[store.Subscription, str]:
    """A new subscription and its signing secret (``hosts.Refused`` for a URL that may
    not be called, ``TooMany``, ``NotConfigured``)."""
    master = settings.signing_master_key
    if master is None:
        raise NotConfigured()
    allowed = settings.webhook_allowed_host_list
    await hosts.target(command.url, allowed, settings.webhook_timeout_seconds)
    new = store.Subscription(
        subscription_id=uuid.uuid4(),
        tenant_id=command.tenant_id,
        url=command.url,
        event_types=sorted(set(command.event_types)),
        description=command.description,
        created_at=now,
        created_by=command.created_by,
        disabled_at=None,
        disabled_reason=None,
        last_success_at=None,
    )
    async with db.unit_of_work() as uow:
        if await store.count_subscriptions(uow.conn, command.tenant_id) >= (
            settings.webhook_max_subscriptions
        ):
            raise TooMany()
        await store.add_subscription(uow.conn, new)
        await uow.commit()
    return new, signature.secret_for(master.get_secret_value(), new.subscription_id)


async def find(db: Database, tenant_id: str, webhook_id: uuid.UUID) -> store.Subscription:
    async with db.engine.connect() as conn:
        found = await store.find_subscription(conn, tenant_id, webhook_id)
    if found is None:
        raise NoSuchWebhook(webhook_id)
    return found


async def unsubscribe(db: Database, tenant_id: str, webhook_id: uuid.UUID) -> None:
    async with db.unit_of_work() as uow:
        if not await store.remove_subscription(uow.conn, tenant_id, webhook_id):
            raise NoSuchWebhook(webhook_id)
        await uow.commit()


async def enable(db: Database, tenant_id: str, webhook_id: uuid.UUID) -> store.Subscription:
    """Deliver to the subscription again (its failed deliveries stay failed: replay them)."""
    async with db.unit_of_work() as uow:
        found = await store.find_subscription(uow.conn, tenant_id, webhook_id)
        if found is None:
            raise NoSuchWebhook(webhook_id)
        await store.set_disabled(uow.conn, webhook_id, None, None)
        await uow.commit()
    return await find(db, tenant_id, webhook_id)


async def deliveries(
    db: Database,
    tenant_id: str,
    webhook_id: uuid.UUID,
    status: Status | None,
    limit: int,
    before: tuple[datetime, uuid.UUID] | None,
) -> list[store.Delivery]:
    await find(db, tenant_id, webhook_id)
    async with db.engine.connect() as conn:
        return await store.deliveries(conn, webhook_id, status, limit, before)


async def replay(
    db: Database, tenant_id: str, webhook_id: uuid.UUID, delivery_id: uuid.UUID, now: datetime
) -> store.Delivery:
    """Send a settled delivery again, from a fresh round, with the same ``webhook-id``."""
    async with db.unit_of_work() as uow:
        found = await store.find_subscription(uow.conn, tenant_id, webhook_id)
        delivery = await store.find_delivery(uow.conn, webhook_id, delivery_id)
        if found is None or delivery is None:
            raise NoSuchWebhook(delivery_id)
        if found.disabled_at is not None:
            raise NotReplayable("The subscription is disabled: enable it first.")
        if delivery.status == "pending":
            raise NotReplayable("The delivery is still pending: it will be attempted again.")
        await store.restart(uow.conn, delivery_id, now)
        await uow.commit()
    async with db.engine.connect() as conn:
        replayed = await store.find_delivery(conn, webhook_id, delivery_id)
    assert replayed is not None  # deleted only with its subscription, in its tenant
    return replayed
