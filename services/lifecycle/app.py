"""The lifecycle service: stages, their history, RFM statistics, churn risk."""

from __future__ import annotations

from functools import partial

from services.lifecycle import api, handlers
from services.lifecycle.modelfit import refit_stale
from services.lifecycle.settings import LifecycleSettings
from services.lifecycle.sweep import sweep_and_report
from services.lifecycle.tables import inbox, outbox
from shared import topics
from shared.consumer import Subscription
from shared.jobs import Periodic
from shared.runtime import Job, Runtime, ServiceDefinition

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
            group="lifecycle-signals",
            topics=(topics.FEEDBACK, topics.LOYALTY),
            applies=handlers.SIGNALS,
            handler=lambda uow, batch: handlers.move_customers(uow, batch, machine, clock),
        ),
    ]


def jobs(runtime: LifecycleRuntime) -> list[Job]:
    settings, db, clock = runtime.settings, runtime.db, runtime.clock
    sweep = partial(
        sweep_and_report, db, settings.machine, clock, settings.lifecycle_sweep_batch_size
    )
    refit = partial(refit_stale, db, settings.machine.config, clock)
    return [
        Periodic("lifecycle-sweeper", settings.lifecycle_sweep_seconds, sweep),
        Periodic("lifecycle-model-refit", settings.lifecycle_refit_check_seconds, refit),
    ]


def _settings(runtime: LifecycleRuntime) -> LifecycleSettings:
    return runtime.settings


SERVICE: ServiceDefinition[LifecycleSettings, None] = ServiceDefinition(
    name="lifecycle",
    title="CRM lifecycle service",
    outbox=outbox,
    inbox=inbox,
    routers=[api.router],
    subscriptions=subscriptions,
    jobs=jobs,
    settings=LifecycleSettings,
)
