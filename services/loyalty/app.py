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
    "loyalty-activity": (
        topics.ACTIVITY,
        {"crm.activity.purchase_completed.v1", "crm.activity.order_refunded.v1"},
    ),
    "loyalty-feedback": (
        topics.FEEDBACK,
        {"crm.feedback.complaint_opened.v1", "crm.feedback.complaint_resolved.v1"},
    ),
    "loyalty-lifecycle": (topics.LIFECYCLE, {"crm.lifecycle.stage_changed.v1"}),
}


def _handler(runtime: Runtime) -> BatchHandler:
    programme, clock = cast(LoyaltySettings, runtime.settings).programme, runtime.clock
    return lambda uow, batch: handlers.apply_events(uow, batch, programme, clock)


def subscriptions(runtime: Runtime) -> list[Subscription]:
    handler = _handler(runtime)
    return [
        Subscription(group=group, topics=(topic,), types=frozenset(types), handler=handler)
        for group, (topic, types) in CONSUMED.items()
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
