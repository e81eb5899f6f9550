"""The lifecycle service: stages, their history, RFM statistics, churn risk."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from functools import partial
from typing import cast

from services.lifecycle import api, handlers
from services.lifecycle.domain.config import load_config
from services.lifecycle.handlers import Lifecycle, lifecycle_of
from services.lifecycle.modelfit import refit_stale
from services.lifecycle.settings import LifecycleSettings
from services.lifecycle.sweep import sweep_and_report
from services.lifecycle.tables import inbox, outbox
from shared import topics
from shared.app import Job, Runtime, ServiceDefinition
from shared.consumer import Subscription
from shared.jobs import Periodic


@contextlib.asynccontextmanager
async def resources(runtime: Runtime) -> AsyncIterator[None]:
    """Read and validate the configuration at start: a bad one stops the service."""
    settings = cast(LifecycleSettings, runtime.settings)
    config = load_config(settings.lifecycle_config_file)
    runtime.resources["lifecycle"] = Lifecycle.of(config, runtime.clock)
    yield


def subscriptions(runtime: Runtime) -> list[Subscription]:
    lc = lifecycle_of(runtime)
    return [
        Subscription(
            group="lifecycle-activity",
            topics=(topics.ACTIVITY,),
            applies=handlers.ACTIVITY,
            handler=lambda uow, batch: handlers.apply_events(uow, batch, lc),
        ),
        Subscription(
            group="lifecycle-signals",
            topics=(topics.FEEDBACK, topics.LOYALTY),
            applies=handlers.SIGNALS,
            handler=lambda uow, batch: handlers.apply_events(uow, batch, lc),
        ),
    ]


def jobs(runtime: Runtime) -> list[Job]:
    settings = cast(LifecycleSettings, runtime.settings)
    lc = lifecycle_of(runtime)
    sweep = partial(sweep_and_report, runtime.db, lc, settings.lifecycle_sweep_batch_size)
    refit = partial(refit_stale, runtime.db, lc)
    return [
        Periodic("lifecycle-sweeper", settings.lifecycle_sweep_seconds, sweep),
        Periodic("lifecycle-model-refit", settings.lifecycle_refit_check_seconds, refit),
    ]


SERVICE = ServiceDefinition(
    name="lifecycle",
    title="CRM lifecycle service",
    outbox=outbox,
    inbox=inbox,
    routers=[api.router],
    subscriptions=subscriptions,
    jobs=jobs,
    resources=resources,
    settings=LifecycleSettings,
)
