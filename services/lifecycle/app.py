"""The lifecycle service: stages, their history, RFM statistics, churn risk."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Sequence
from datetime import timedelta
from functools import partial
from typing import Any

from services.lifecycle import api, handlers, merges, privacy
from services.lifecycle.domain.config import parse_config
from services.lifecycle.domain.stages import StageMachine
from services.lifecycle.modelfit import refit_stale
from services.lifecycle.rescore import rescore_due
from services.lifecycle.settings import LifecycleSettings
from services.lifecycle.sweep import sweep_due
from services.lifecycle.tables import inbox, lifecycle_purchase, outbox, tenant_rules
from services.replay_jobs import replays_router
from shared import sweeps, topics
from shared.contracts.lifecycle import StageSweep
from shared.erasure import erasure_subscription, export_router
from shared.jobs import Periodic
from shared.retention import Kept, retention_job
from shared.rulebook import Rulebook
from shared.rules_api import rules_router
from shared.runtime import Job, Runtime, ServiceDefinition
from shared.subscription import BatchHandler, Received, Subscription, by_tenant
from shared.sweeps import Swept
from shared.uow import UnitOfWork

LifecycleRuntime = Runtime[LifecycleSettings, Rulebook[StageMachine]]
# Raw activity kept for the tenant's retention (``activity_retention_days``): orders.
RETAINED = [Kept(lifecycle_purchase, lifecycle_purchase.c.purchased_at)]


def machine_of(text: str, origin: str) -> StageMachine:
    """A tenant's stage machine from its rules text, validated as the file is at start."""
    return StageMachine(parse_config(text, f"lifecycle configuration {origin}"))


@contextlib.asynccontextmanager
async def machines(
    runtime: Runtime[LifecycleSettings, None],
) -> AsyncIterator[Rulebook[StageMachine]]:
    """Each tenant's stage machine: its own (set through the API), else the installation's."""
    settings = runtime.settings
    text = settings.lifecycle_config_file.read_text(encoding="utf-8")
    book = Rulebook(tenant_rules, settings.machine, text, machine_of)
    async with runtime.db.engine.connect() as conn:
        await book.refresh(conn)
    yield book


def _handler(runtime: LifecycleRuntime) -> BatchHandler:
    book, clock = runtime.resources, runtime.clock

    async def handle(uow: UnitOfWork, batch: Sequence[Received[Any]]) -> None:
        await book.refresh(uow.conn)  # once per batch: a rule change reaches every replica
        for tenant, events in by_tenant(batch).items():
            await handlers.move_customers(uow, events, book.of(tenant), clock)

    return handle


def _merges(runtime: LifecycleRuntime) -> BatchHandler:
    """Merges and their undo, each tenant's stages re-folded by its own machine."""
    book, clock = runtime.resources, runtime.clock

    async def handle(uow: UnitOfWork, batch: Sequence[Received[Any]]) -> None:
        await book.refresh(uow.conn)
        for tenant, events in by_tenant(batch).items():
            await merges.apply(uow, events, book.of(tenant), clock)

    return handle


def subscriptions(runtime: LifecycleRuntime) -> list[Subscription]:
    handler = _handler(runtime)
    return [
        Subscription(
            group="lifecycle-activity",
            topics=(topics.ACTIVITY,),
            applies=handlers.ACTIVITY,
            handler=handler,
        ),
        Subscription(
            group="lifecycle-profile",
            topics=(topics.PROFILE,),
            applies=merges.MERGES,
            handler=_merges(runtime),
        ),
        Subscription(
            group="lifecycle-signals",
            topics=(topics.FEEDBACK, topics.LOYALTY),
            applies=handlers.SIGNALS,
            handler=handler,
        ),
        erasure_subscription("lifecycle", privacy.erase, runtime.clock),
    ]


def sweep(runtime: LifecycleRuntime, tenant: str | None = None) -> Awaitable[Swept]:
    """The time-based transitions due now, of ``tenant`` (None: every tenant)."""
    settings = runtime.settings
    batch = settings.lifecycle_sweep_batch_size
    quiet = timedelta(seconds=settings.lifecycle_watermark_quiet_seconds)
    return sweep_due(runtime.db, runtime.resources, runtime.clock, batch, tenant, quiet)


def jobs(runtime: LifecycleRuntime) -> list[Job]:
    settings = runtime.settings
    refit = partial(refit_stale, runtime.db, runtime.resources, runtime.clock)
    return [
        sweeps.periodic(
            "lifecycle-sweep", settings.lifecycle_sweep_seconds, lambda: sweep(runtime)
        ),
        Periodic("lifecycle-model-refit", settings.lifecycle_refit_check_seconds, refit),
        sweeps.periodic(
            "lifecycle-rescore",
            settings.lifecycle_rescore_seconds,
            lambda: rescore_due(
                runtime.db,
                runtime.resources,
                runtime.clock,
                settings.lifecycle_rescore_batch_size,
            ),
        ),
        retention_job("lifecycle", runtime.db, settings, RETAINED),
    ]


def _rulebook(runtime: Runtime[Any, Any]) -> Rulebook[Any]:
    book: Rulebook[Any] = runtime.resources
    return book


SERVICE: ServiceDefinition[LifecycleSettings, Rulebook[StageMachine]] = ServiceDefinition(
    name="lifecycle",
    title="CRM lifecycle service",
    outbox=outbox,
    inbox=inbox,
    routers=[
        api.router,
        export_router("lifecycle", privacy.export),
        sweeps.sweep_router("/lifecycle/sweep", sweep, StageSweep, "the time-based transitions"),
        rules_router("lifecycle", _rulebook),
        replays_router("lifecycle", "lifecycle"),
    ],
    subscriptions=subscriptions,
    jobs=jobs,
    resources=machines,
    settings=LifecycleSettings,
)
