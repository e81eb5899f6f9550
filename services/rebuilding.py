"""One service's rebuild from the topics, as ``python -m services.<name>.rebuild`` runs it
(``shared.rebuild`` says how; each service names the tables it folds and its sweep).

The service runs here without its server, relay or jobs: its consumers, on a clock
that replays the events' times, and its sweep. The Kafka positions are read before
anything is cleared and set after everything is folded: should the rebuild stop
half-way, the service must not start on half a state, and running the command again
starts over from a clean slate.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table

from services import definition
from shared import rebuild_topics
from shared.bus import Record
from shared.bus.memory import MemoryBus
from shared.clock import SystemClock
from shared.consumer import Consumer
from shared.db import create_engine
from shared.rebuild import Key, Progress, RebuildRefused, Refold, ReplayClock, refold
from shared.runtime import Runtime
from shared.settings import ServiceSettings
from shared.uow import Database

Sweep = Callable[[Runtime[Any, Any]], Awaitable[object]]
# When each customer's next due work falls (``Refold.due``), asked of the runtime.
DueOf = Callable[[Runtime[Any, Any], set[Key]], Awaitable[dict[Key, datetime]]]


def consumers_of(name: str, runtime: Runtime[Any, Any]) -> dict[str, Consumer]:
    """The service's consumers, as its app wires them, over ``runtime``, and those
    only a rebuild runs (``ServiceDefinition.replayed``)."""
    service, settings = definition(name), runtime.settings
    return {
        s.group: Consumer(
            s,
            service=name,
            bus=runtime.bus,
            db=runtime.db,
            inbox=service.inbox,
            max_attempts=settings.consumer_max_attempts,
            batch_size=settings.consumer_batch_size,
        )
        for s in [*service.subscriptions(runtime), *service.replayed(runtime)]
    }


def replayed_groups(name: str, runtime: Runtime[Any, Any]) -> set[str]:
    """The groups only a rebuild runs: no service takes their offsets."""
    return {s.group for s in definition(name).replayed(runtime)}


def plan(
    name: str,
    runtime: Runtime[Any, Any],
    cleared: Sequence[Table],
    sweep: Sweep,
    due: DueOf | None = None,
) -> Refold:
    """What ``refold`` needs for service ``name`` on ``runtime`` (whose clock is a
    ``ReplayClock``); ``due``: see ``Refold``."""
    assert isinstance(runtime.clock, ReplayClock)
    service = definition(name)
    return Refold(
        runtime.db,
        consumers_of(name, runtime),
        cleared,
        service.outbox,
        service.inbox,
        lambda: sweep(runtime),
        runtime.clock,
        None if due is None else lambda keys: due(runtime, keys),
    )


async def rebuild(
    name: str,
    cleared: Sequence[Table],
    sweep: Sweep,
    progress: Progress = print,
    settings: ServiceSettings | None = None,
    due: DueOf | None = None,
) -> int:
    """Fold service ``name``'s state again from its topics; the events applied.
    ``settings``: the service's, where they are not the environment's (a benchmark)."""
    service = definition(name)
    settings = settings or service.settings(service=name)
    clock = ReplayClock(SystemClock())
    engine = create_engine(settings.db_url)
    runtime: Runtime[Any, Any] = Runtime(
        settings, clock, Database(engine, service.outbox, clock), MemoryBus(), resources=None
    )
    try:
        async with contextlib.AsyncExitStack() as opened:
            if service.resources is not None:  # what its consumers reach (tenants' rules)
                runtime.resources = await opened.enter_async_context(service.resources(runtime))
            return await _rebuild(name, runtime, plan(name, runtime, cleared, sweep, due), progress)
    finally:
        await engine.dispose()


async def _rebuild(name: str, runtime: Runtime[Any, Any], work: Refold, progress: Progress) -> int:
    settings = runtime.settings
    await rebuild_topics.refuse_if_running(settings, list(work.consumers))
    records: dict[str, Sequence[Record]] = {}
    ends: dict[str, rebuild_topics.Ends] = {}
    for group, consumer in work.consumers.items():
        records[group], ends[group] = await rebuild_topics.read(
            settings, consumer.subscription, progress
        )
    applied = await refold(work, records, progress)
    for group, positions in ends.items():
        if group not in replayed_groups(name, runtime):
            await rebuild_topics.commit(settings, group, positions)
    return applied


def main(name: str, cleared: Sequence[Table], sweep: Sweep, due: DueOf | None = None) -> None:
    started = time.perf_counter()
    try:
        applied = asyncio.run(rebuild(name, cleared, sweep, due=due))
    except RebuildRefused as refused:
        raise SystemExit(f"refused: {refused}") from None
    seconds = time.perf_counter() - started
    print(f"{name}: {applied:,} events folded again in {seconds:.1f} s; start the service")
