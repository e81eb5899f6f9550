"""The gateway's own consumer group over the platform's topics: each event a tenant's
enabled subscriptions want becomes a delivery row, due at once.

The consumer only records what to send, in its batch's transaction (idempotent: a
delivery's id derives from the subscription and the event); the sender job
(``sender``) makes the HTTP calls. A slow or dead receiver therefore never holds a
batch, nor the offsets of any other group: the pipeline runs at its own pace.
A subscription receives the events the gateway reads after it was created.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from services.gateway.webhooks import domain, store
from shared.clock import SystemClock
from shared.events import REGISTRY
from shared.subscription import Received, Subscription
from shared.uow import UnitOfWork

GROUP = "gateway-webhooks"


def webhook_fanout(wake_sender: Callable[[], None]) -> Subscription:
    """The subscription of every registered type on the webhooks' topics. Deliveries are
    scheduled by the wall clock, as the sender's (receivers live in real time)."""
    clock = SystemClock()

    async def record_deliveries(uow: UnitOfWork, batch: Sequence[Received[Any]]) -> None:
        wanted = await store.active_subscriptions(uow.conn, {r.event.tenantid for r in batch})
        if not wanted:
            return
        now = clock.now()
        rows = [
            {
                "delivery_id": domain.delivery_id(s.subscription_id, r.event.id),
                "subscription_id": s.subscription_id,
                "event_id": r.event.id,
                "event_type": r.event.type,
                "body": domain.body(r.event),
                "status": "pending",
                "attempts": 0,
                "round_started_at": now,
                "next_attempt_at": now,
                "created_at": now,
            }
            for r in batch
            for s in wanted
            if s.tenant_id == r.event.tenantid and domain.wants(s.event_types, r.event.type)
        ]
        if rows:
            await store.record(uow.conn, rows)
            uow.after_commit(wake_sender)

    payloads = tuple(p for topic in domain.TOPICS for p in REGISTRY.payloads_on(topic))
    # A tenant without a subscription costs a batch one query, not a parse per event.
    return Subscription(
        GROUP, domain.TOPICS, payloads, record_deliveries, tenants=store.tenants_subscribed
    )
