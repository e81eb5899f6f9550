"""The loyalty service: the points ledger, tiers, redemptions, expiry and offers."""

from __future__ import annotations

from collections.abc import Awaitable

from services.loyalty import api, handlers, merges
from services.loyalty.settings import LoyaltySettings
from services.loyalty.sweep import sweep_due
from services.loyalty.tables import inbox, outbox, parked
from shared import sweeps, topics
from shared.contracts.loyalty import LoyaltySweep
from shared.parking import Parking, expiry_job, parking_of
from shared.runtime import Job, Runtime, ServiceDefinition
from shared.subscription import BatchHandler, Subscription
from shared.sweeps import Swept

LoyaltyRuntime = Runtime[LoyaltySettings, None]

CONSUMED = {
    "loyalty-activity": (topics.ACTIVITY, handlers.FROM_ACTIVITY),
    "loyalty-feedback": (topics.FEEDBACK, handlers.FROM_FEEDBACK),
    "loyalty-lifecycle": (topics.LIFECYCLE, handlers.FROM_LIFECYCLE),
}


def parking(runtime: LoyaltyRuntime) -> Parking:
    """Refunds that came before their purchase."""
    return parking_of(parked, "loyalty", runtime)


def _handler(runtime: LoyaltyRuntime) -> BatchHandler:
    programme, clock, early = runtime.settings.programme, runtime.clock, parking(runtime)
    return lambda uow, batch: handlers.update_accounts(uow, batch, programme, clock, early)


def subscriptions(runtime: LoyaltyRuntime) -> list[Subscription]:
    handler = _handler(runtime)
    programme, clock = runtime.settings.programme, runtime.clock
    return [
        *(
            Subscription(group=group, topics=(topic,), applies=payloads, handler=handler)
            for group, (topic, payloads) in CONSUMED.items()
        ),
        Subscription(
            group="loyalty-profile",
            topics=(topics.PROFILE,),
            applies=merges.FROM_PROFILE,
            handler=lambda uow, batch: merges.apply(uow, batch, programme, clock.now()),
        ),
    ]


def sweep(runtime: LoyaltyRuntime, tenant: str | None = None) -> Awaitable[Swept]:
    """The expiries, releases and tier reviews due now, of ``tenant`` (None: every tenant)."""
    settings = runtime.settings
    return sweep_due(runtime.db, settings.programme, settings.loyalty_sweep_batch, tenant)


def jobs(runtime: LoyaltyRuntime) -> list[Job]:
    every = runtime.settings.loyalty_sweep_seconds
    return [
        sweeps.periodic("loyalty-sweep", every, lambda: sweep(runtime)),
        expiry_job(parking(runtime), runtime),
    ]


SERVICE: ServiceDefinition[LoyaltySettings, None] = ServiceDefinition(
    name="loyalty",
    title="CRM loyalty service",
    outbox=outbox,
    inbox=inbox,
    routers=[
        api.router,
        sweeps.sweep_router(
            "/loyalty/sweep", sweep, LoyaltySweep, "the expiries, releases and tier reviews"
        ),
    ],
    subscriptions=subscriptions,
    jobs=jobs,
    settings=LoyaltySettings,
)
