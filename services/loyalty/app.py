"""The loyalty service: the points ledger, tiers, redemptions, expiry and offers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Any

from services.loyalty import adjustments, api, handlers, merges, privacy
from services.loyalty.domain.rules import Programme, parse_programme
from services.loyalty.settings import LoyaltySettings
from services.loyalty.sweep import sweep_due
from services.loyalty.tables import inbox, outbox, parked, tenant_rules
from services.replay_jobs import replays_router
from shared import sweeps, topics
from shared.contracts.loyalty import LoyaltySweep
from shared.erasure import erasure_subscription, export_router
from shared.events.loyalty import PointsAdjusted, PointsRedeemed
from shared.parking import Parking, expiry_job, parking_of
from shared.rulebook import Rulebook
from shared.rules_api import rules_router
from shared.runtime import Job, Runtime, ServiceDefinition
from shared.subscription import BatchHandler, Received, Subscription, by_tenant
from shared.sweeps import Swept
from shared.uow import UnitOfWork

LoyaltyRuntime = Runtime[LoyaltySettings, Rulebook[Programme]]
# A rebuild's group only (no service runs it): redemptions and manual adjustments.
REDEMPTIONS = "loyalty-redemptions"

CONSUMED = {
    "loyalty-activity": (topics.ACTIVITY, handlers.FROM_ACTIVITY),
    "loyalty-feedback": (topics.FEEDBACK, handlers.FROM_FEEDBACK),
    "loyalty-lifecycle": (topics.LIFECYCLE, handlers.FROM_LIFECYCLE),
}


@contextlib.asynccontextmanager
async def programmes(runtime: Runtime[LoyaltySettings, None]) -> AsyncIterator[Rulebook[Programme]]:
    """Each tenant's programme: its own (set through the API), else the installation's."""
    settings = runtime.settings
    text = settings.loyalty_rules_file.read_text(encoding="utf-8")
    book = Rulebook(tenant_rules, settings.programme, text, parse_programme)
    async with runtime.db.engine.connect() as conn:
        await book.refresh(conn)
    yield book


def parking(runtime: LoyaltyRuntime) -> Parking:
    """Refunds that came before their purchase."""
    return parking_of(parked, "loyalty", runtime)


def _handler(runtime: LoyaltyRuntime) -> BatchHandler:
    book, clock, early = runtime.resources, runtime.clock, parking(runtime)

    async def handle(uow: UnitOfWork, batch: Sequence[Received[Any]]) -> None:
        await book.refresh(uow.conn)  # once per batch: a rule change reaches every replica
        for tenant, events in by_tenant(batch).items():
            await handlers.update_accounts(uow, events, book.of(tenant), clock, early)

    return handle


def _merges(runtime: LoyaltyRuntime) -> BatchHandler:
    """Merges and their undo, each tenant's accounts by its own programme."""
    book, clock = runtime.resources, runtime.clock

    async def handle(uow: UnitOfWork, batch: Sequence[Received[Any]]) -> None:
        await book.refresh(uow.conn)
        for tenant, events in by_tenant(batch).items():
            await merges.apply(uow, events, book.of(tenant), clock.now())

    return handle


def subscriptions(runtime: LoyaltyRuntime) -> list[Subscription]:
    handler = _handler(runtime)
    return [
        *(
            Subscription(group=group, topics=(topic,), applies=payloads, handler=handler)
            for group, (topic, payloads) in CONSUMED.items()
        ),
        Subscription(
            group="loyalty-profile",
            topics=(topics.PROFILE,),
            applies=merges.FROM_PROFILE,
            handler=_merges(runtime),
        ),
        erasure_subscription("loyalty", privacy.erase, runtime.clock),
    ]


def replayed(runtime: LoyaltyRuntime) -> list[Subscription]:
    """What only a rebuild folds (``services.loyalty.rebuild``): the redemptions and
    manual adjustments made at the API, from their own ``points_redeemed`` and
    ``points_adjusted`` events on crm.loyalty."""
    book, clock = runtime.resources, runtime.clock

    async def handle(uow: UnitOfWork, batch: Sequence[Received[Any]]) -> None:
        await book.refresh(uow.conn)
        for tenant, events in by_tenant(batch).items():
            await adjustments.refold_decided(uow, events, book.of(tenant), clock.now())

    decided = (PointsRedeemed, PointsAdjusted)
    return [
        Subscription(group=REDEMPTIONS, topics=(topics.LOYALTY,), applies=decided, handler=handle)
    ]


def sweep(runtime: LoyaltyRuntime, tenant: str | None = None) -> Awaitable[Swept]:
    """The expiries, releases and tier reviews due now, of ``tenant`` (None: every tenant)."""
    settings = runtime.settings
    return sweep_due(runtime.db, runtime.resources, settings.loyalty_sweep_batch, tenant)


def jobs(runtime: LoyaltyRuntime) -> list[Job]:
    every = runtime.settings.loyalty_sweep_seconds
    return [
        sweeps.periodic("loyalty-sweep", every, lambda: sweep(runtime)),
        expiry_job(parking(runtime), runtime),
    ]


def _rulebook(runtime: Runtime[Any, Any]) -> Rulebook[Any]:
    book: Rulebook[Any] = runtime.resources
    return book


SERVICE: ServiceDefinition[LoyaltySettings, Rulebook[Programme]] = ServiceDefinition(
    name="loyalty",
    title="CRM loyalty service",
    outbox=outbox,
    inbox=inbox,
    routers=[
        api.router,
        export_router("loyalty", privacy.export),
        sweeps.sweep_router(
            "/loyalty/sweep", sweep, LoyaltySweep, "the expiries, releases and tier reviews"
        ),
        rules_router("loyalty", _rulebook),
        replays_router("loyalty", "loyalty"),
    ],
    subscriptions=subscriptions,
    replayed=replayed,
    jobs=jobs,
    resources=programmes,
    settings=LoyaltySettings,
)
