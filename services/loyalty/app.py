"""The loyalty service: the points ledger, tiers, redemptions, expiry and offers."""

from __future__ import annotations

from functools import partial
from typing import cast

from services.loyalty import api, handlers
from services.loyalty.settings import LoyaltySettings
from services.loyalty.sweeper import sweep_and_report
from services.loyalty.tables import inbox, outbox
from shared import topics
from shared.app import Job, Runtime, ServiceDefinition
from shared.consumer import BatchHandler, Subscription
from shared.jobs import Periodic

CONSUMED = {
    "loyalty-activity": (topics.ACTIVITY, handlers.FROM_ACTIVITY),
    "loyalty-feedback": (topics.FEEDBACK, handlers.FROM_FEEDBACK),
    "loyalty-lifecycle": (topics.LIFECYCLE, handlers.FROM_LIFECYCLE),
}


def _handler(runtime: Runtime) -> BatchHandler:
    programme, clock = cast(LoyaltySettings, runtime.settings).programme, runtime.clock
    return lambda uow, batch: handlers.update_accounts(uow, batch, programme, clock)


def subscriptions(runtime: Runtime) -> list[Subscription]:
    handler = _handler(runtime)
    return [
        Subscription(group=group, topics=(topic,), applies=payloads, handler=handler)
        for group, (topic, payloads) in CONSUMED.items()
    ]


def jobs(runtime: Runtime) -> list[Job]:
    settings = cast(LoyaltySettings, runtime.settings)
    sweep = partial(sweep_and_report, runtime.db, settings.programme, settings.loyalty_sweep_batch)
    return [Periodic("loyalty-sweep", settings.loyalty_sweep_seconds, sweep)]


SERVICE = ServiceDefinition(
    name="loyalty",
    title="CRM loyalty service",
    outbox=outbox,
    inbox=inbox,
    routers=[api.router],
    subscriptions=subscriptions,
    jobs=jobs,
    settings=LoyaltySettings,
)
