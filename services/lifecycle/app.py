"""The lifecycle service: stages, their history, RFM statistics, churn risk."""

from __future__ import annotations

from collections.abc import Awaitable
from functools import partial

from services.lifecycle import api, handlers, merges
from services.lifecycle.modelfit import refit_stale
from services.lifecycle.rescore import rescore_due
from services.lifecycle.settings import LifecycleSettings
from services.lifecycle.sweep import sweep_due
from services.lifecycle.tables import inbox, outbox
from shared import sweeps, topics
from shared.contracts.lifecycle import StageSweep
from shared.jobs import Periodic
from shared.runtime import Job, Runtime, ServiceDefinition
from shared.subscription import Subscription
from shared.sweeps import Swept

LifecycleRuntime = Runtime[LifecycleSettings, None]


def subscriptions(runtime: LifecycleRuntime) -> list[Subscription]:
    machine, clock = runtime.settings.machine, runtime.clock
    return [
        Subscription(
            group="lifecycle-activity",
            topics=(topics.ACTIVITY,),
            applies=handlers.ACTIVITY,
            handler=lambda uow, batch: handlers.move_customers(uow, batch, machine, clock),
        ),
        Subscription(
            group="lifecycle-profile",
            topics=(topics.PROFILE,),
            applies=merges.MERGES,
            handler=lambda uow, batch: merges.apply(uow, batch, machine, clock),
        ),
        Subscription(
            group="lifecycle-signals",
            topics=(topics.FEEDBACK, topics.LOYALTY),
            applies=handlers.SIGNALS,
            handler=lambda uow, batch: handlers.move_customers(uow, batch, machine, clock),
        ),
    ]


def sweep(runtime: LifecycleRuntime, tenant: str | None = None) -> Awaitable[Swept]:
    """The time-based transitions due now, of ``tenant`` (None: every tenant)."""
    settings = runtime.settings
    batch = settings.lifecycle_sweep_batch_size
    return sweep_due(runtime.db, settings.machine, runtime.clock, batch, tenant)


def jobs(runtime: LifecycleRuntime) -> list[Job]:
    settings = runtime.settings
    refit = partial(refit_stale, runtime.db, settings.machine.config, runtime.clock)
    return [
        sweeps.periodic(
            "lifecycle-sweep", settings.lifecycle_sweep_seconds, lambda: sweep(runtime)
        ),
        Periodic("lifecycle-model-refit", settings.lifecycle_refit_check_seconds, refit),
        sweeps.periodic(
            "lifecycle-rescore",
            settings.lifecycle_rescore_seconds,
            lambda: rescore_due(
                runtime.db, settings.machine, runtime.clock, settings.lifecycle_rescore_batch_size
            ),
        ),
    ]


SERVICE: ServiceDefinition[LifecycleSettings, None] = ServiceDefinition(
    name="lifecycle",
    title="CRM lifecycle service",
    outbox=outbox,
    inbox=inbox,
    routers=[
        api.router,
        sweeps.sweep_router("/lifecycle/sweep", sweep, StageSweep, "the time-based transitions"),
    ],
    subscriptions=subscriptions,
    jobs=jobs,
    settings=LifecycleSettings,
)
