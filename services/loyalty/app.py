"""The loyalty service: the points ledger and tiers."""

from __future__ import annotations

from services.loyalty import api, handlers
from services.loyalty.tables import inbox, outbox
from shared import topics
from shared.app import Runtime, ServiceDefinition
from shared.consumer import Subscription


def subscriptions(runtime: Runtime) -> list[Subscription]:
    clock = runtime.clock
    return [
        Subscription(
            group="loyalty-activity",
            topics=(topics.ACTIVITY,),
            types=frozenset({"crm.activity.purchase_completed.v1"}),
            handler=lambda uow, batch: handlers.earn_points(uow, batch, clock),
        )
    ]


SERVICE = ServiceDefinition(
    name="loyalty",
    title="CRM loyalty service",
    outbox=outbox,
    inbox=inbox,
    routers=[api.router],
    subscriptions=subscriptions,
)
