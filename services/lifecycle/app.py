"""The lifecycle service: stages, their history, churn risk."""

from __future__ import annotations

from services.lifecycle import api, handlers
from services.lifecycle.tables import inbox, outbox
from shared import topics
from shared.app import Runtime, ServiceDefinition
from shared.consumer import Subscription

ACTIVITY_TYPES = frozenset(
    f"crm.activity.{name}.v1"
    for name in (
        "customer_registered",
        "engagement_recorded",
        "purchase_completed",
        "order_refunded",
        "account_closed",
    )
)


def subscriptions(runtime: Runtime) -> list[Subscription]:
    clock = runtime.clock
    return [
        Subscription(
            group="lifecycle-activity",
            topics=(topics.ACTIVITY,),
            types=ACTIVITY_TYPES,
            handler=lambda uow, batch: handlers.apply_activity(uow, batch, clock),
        )
    ]


SERVICE = ServiceDefinition(
    name="lifecycle",
    title="CRM lifecycle service",
    outbox=outbox,
    inbox=inbox,
    routers=[api.router],
    subscriptions=subscriptions,
)
