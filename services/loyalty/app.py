"""The loyalty service: the points ledger, tiers, redemptions, expiry and offers."""

from __future__ import annotations

from functools import partial

from services.loyalty import api, handlers
from services.loyalty.settings import LoyaltySettings
from services.loyalty.sweeper import sweep_and_report
from services.loyalty.tables import inbox, outbox
from shared import topics
from shared.consumer import BatchHandler, Subscription
from shared.jobs import Periodic
from shared.runtime import Job, Runtime, ServiceDefinition

LoyaltyRuntime = Runtime[LoyaltySettings, None]

CONSUMED = {
    "loyalty-activity": (topics.ACTIVITY, handlers.FROM_ACTIVITY),
    "loyalty-feedback": (topics.FEEDBACK, handlers.FROM_FEEDBACK),
    "loyalty-lifecycle": (topics.LIFECYCLE, handlers.FROM_LIFECYCLE),
}


def _handler(runtime: LoyaltyRuntime) -> BatchHandler:
    programme, clock = runtime.settings.programme, runtime.clock
    return lambda uow, batch: handlers.update_accounts(uow, batch, programme, clock)


def subscriptions(runtime: LoyaltyRuntime) -> list[Subscription]:
    handler = _handler(runtime)
    return [
        Subscription(group=group, topics=(topic,), applies=payloads, handler=handler)
        for group, (topic, payloads) in CONSUMED.items()
    ]


def jobs(runtime: LoyaltyRuntime) -> list[Job]:
    settings = runtime.settings
    sweep = partial(sweep_and_report, runtime.db, settings.programme, settings.loyalty_sweep_batch)
    return [Periodic("loyalty-sweep", settings.loyalty_sweep_seconds, sweep)]


SERVICE: ServiceDefinition[LoyaltySettings, None] = ServiceDefinition(
    name="loyalty",
    title="CRM loyalty service",
    outbox=outbox,
    inbox=inbox,
    routers=[api.router],
    subscriptions=subscriptions,
    jobs=jobs,
    settings=LoyaltySettings,
)
