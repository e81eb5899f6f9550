"""A service's lifespan: the engine, migrations, bus, outbox relay, consumers and jobs,
created at start, supervised while the service runs, and stopped at batch boundaries."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import structlog

from shared import tracing
from shared.bus import Bus
from shared.bus.kafka import KafkaBus
from shared.clock import Clock
from shared.consumer import Consumer
from shared.db import engine_for
from shared.inbox import InboxPruner
from shared.jobs import Periodic
from shared.migrations import migrate
from shared.outbox import OutboxRelay, measure_backlog
from shared.runtime import Job, Runtime, S, ServiceDefinition
from shared.uow import Database

log = structlog.get_logger()

STOP_GRACE_SECONDS = 5.0
OUTBOX_WATCH_SECONDS = 10.0


@contextlib.asynccontextmanager
async def running(
    service: ServiceDefinition[S, Any], settings: S, shared_bus: Bus | None, clock: Clock
) -> AsyncIterator[Runtime[S, Any]]:
    """The service's lifespan: everything it needs, started; on leaving, stopped."""
    engine = engine_for(settings)
    tracing.instrument_engine(engine)
    bus: Bus = shared_bus or KafkaBus(
        settings.kafka_servers, client_id=f"crm-{service.name}", topic_prefix=settings.topic_prefix
    )
    runtime: Runtime[S, Any] | None = None
    stack = contextlib.AsyncExitStack()
    try:
        await migrate(engine, service.name)
        if shared_bus is None:
            await bus.start()
        relay = OutboxRelay(
            engine,
            service.outbox,
            bus,
            service=service.name,
            batch_size=settings.relay_batch_size,
            poll_seconds=settings.relay_poll_seconds,
        )
        db = Database(engine, service.outbox, clock, relay.kick)
        runtime = Runtime(settings, clock, db, bus, resources=None)
        if service.resources:
            runtime.resources = await stack.enter_async_context(service.resources(runtime))
        consumers = [
            Consumer(
                subscription,
                service=service.name,
                bus=bus,
                db=runtime.db,
                inbox=service.inbox,
                max_attempts=settings.consumer_max_attempts,
                batch_size=settings.consumer_batch_size,
            )
            for subscription in service.subscriptions(runtime)
        ]
        pruner = InboxPruner(
            engine, service.inbox, clock, timedelta(days=settings.inbox_retention_days)
        )
        pruning = Periodic("inbox-pruner", 3600, pruner.prune)
        watch = Periodic(
            "outbox-watch",
            OUTBOX_WATCH_SECONDS,
            lambda: measure_backlog(engine, service.outbox, clock, service.name),
        )
        runtime.jobs = [relay, pruning, watch, *consumers, *service.jobs(runtime)]
        runtime.tasks = [asyncio.create_task(_supervise(service.name, j)) for j in runtime.jobs]
        log.info("service started", service=service.name, jobs=[j.name for j in runtime.jobs])
        yield runtime
    finally:
        await _stop(runtime, bus if shared_bus is None else None)
        await stack.aclose()
        await engine.dispose()


async def _stop(runtime: Runtime[Any, Any] | None, owned_bus: Bus | None) -> None:
    """Let every job finish the batch in hand (a cancelled transaction is safe, but its
    events would be redelivered after every deploy), then cancel the stragglers."""
    if runtime and runtime.tasks:
        for job in runtime.jobs:
            job.stop()
        _, stragglers = await asyncio.wait(runtime.tasks, timeout=STOP_GRACE_SECONDS)
        for task in stragglers:
            task.cancel()
        await asyncio.gather(*runtime.tasks, return_exceptions=True)
    if owned_bus:
        await owned_bus.stop()


async def _supervise(service: str, job: Job) -> None:
    """Keep a background job alive: log a crash and start it again; a job that returns
    has been asked to stop."""
    while True:
        try:
            await job.run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background job crashed; restarting", service=service, job=job.name)
            await asyncio.sleep(1)
