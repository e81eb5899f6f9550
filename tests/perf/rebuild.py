"""Benchmark: the time each service takes to fold its state again from the topics.

    .venv/bin/python -m tests.perf.rebuild [--customers 100000] [--seed 7]   (after make infra)

Seeds the history of N customers (``tests.perf.history``: 18 months of purchases,
refunds, complaints and their resolutions, survey answers) on fresh topics of their
own, as profile announces it on crm.activity (each partner reference resolved to a
customer id), with each customer's first purchase making them active on
crm.lifecycle, into fresh databases migrated by each service's revisions. Then it
rebuilds each service as an operator would, on those topics and databases:

- lifecycle, loyalty and feedback: ``services.rebuilding.rebuild`` (what ``python -m
  services.<name>.rebuild`` runs), folding every event through the service's consumers
  in event time with its sweep on the way (on an empty state: clearing a full one is
  one DELETE per table, little beside the fold);
- profile: ``services.profile.rebuild`` (the 360 cleared, ``profile-view`` rewound),
  then ``profile-view``'s events folded by its consumer, as the restarted service
  would (here in-process, through the same refold, without a sweep).

Prints the events, sweeps and seconds of each. The lead runs the 100,000-customer figure on a
quiet machine; run it small (``--customers 2000``) to check it works. Topics and
databases are dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from services import definition
from services.feedback import app as feedback_app
from services.feedback.rebuild import FOLDED as FEEDBACK
from services.feedback.rebuild import due as feedback_due
from services.lifecycle import app as lifecycle_app
from services.lifecycle.rebuild import FOLDED as LIFECYCLE
from services.loyalty import app as loyalty_app
from services.loyalty.rebuild import FOLDED as LOYALTY
from services.profile import rebuild as profile_rebuild
from services.profile.app import VIEW_GROUP
from services.rebuilding import DueOf, Sweep, consumers_of, rebuild
from shared import rebuild_topics
from shared.bus import Message
from shared.bus.kafka import KafkaBus
from shared.bus.memory import MemoryBus
from shared.clock import SystemClock
from shared.db import create_engine
from shared.events import CloudEvent, encode, new_event
from shared.events.activity import ACTIVITIES
from shared.events.lifecycle import StageCause, StageChanged
from shared.migrations import migrate
from shared.rebuild import Refold, ReplayClock, refold
from shared.runtime import Runtime
from shared.settings import ServiceSettings
from shared.uow import Database
from tests.integration.services import Infra, create_database, drop_database
from tests.perf.history import generate
from tests.perf.loyalty_consumer import _create_topics, _delete_topics

SERVICES: dict[str, tuple[Sequence[Any], Sweep, DueOf | None]] = {
    "lifecycle": (LIFECYCLE, lifecycle_app.sweep, None),
    "loyalty": (LOYALTY, loyalty_app.sweep, None),
    "feedback": (FEEDBACK, feedback_app.sweep, feedback_due),
}
TENANT = "default"


def seeded(customers: int, seed: int) -> list[CloudEvent]:
    """The history of ``customers`` customers as the platform's topics hold it."""
    history = generate(customers, datetime.now(UTC), seed)
    events, active = [], set()
    for partner_event in history.events:
        ref = partner_event["customer"]
        customer = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ref['source']}:{ref['external_id']}"))
        payload = ACTIVITIES[partner_event["type"]].model_validate(partner_event["data"])
        at = datetime.fromisoformat(partner_event["occurred_at"])
        events.append(_about(payload, customer, at, ref["source"]))
        if partner_event["type"] == "purchase.completed" and customer not in active:
            active.add(customer)
            cause = StageCause(kind="event", ref=str(events[-1].id))
            moved = StageChanged(**{"from": "lead", "to": "active"}, at=at, cause=cause)
            events.append(_about(moved, customer, at, None))
    return events


def _about(payload: Any, customer: str, at: datetime, partner: str | None) -> CloudEvent:
    source = f"/partners/{partner}" if partner else "/crm/lifecycle"
    return new_event(
        payload, source=source, tenant_id=TENANT, key=customer, subject=customer, time=at,
        partner=partner,
    )  # fmt: skip


async def publish(infra: Infra, events: list[CloudEvent]) -> None:
    bus = KafkaBus(infra.settings.kafka_servers, "perf-rebuild", topic_prefix=infra.prefix)
    await bus.start()
    try:
        messages = [Message(e.topic, e.partitionkey.encode(), encode(e)) for e in events]
        for at in range(0, len(messages), 2000):
            await bus.publish(messages[at : at + 2000])
    finally:
        await bus.stop()


def settings_of(infra: Infra, name: str) -> ServiceSettings:
    service = definition(name)
    settings: ServiceSettings = service.settings(
        service=name, database_url=infra.database_url(name), topic_prefix=infra.prefix
    )
    return settings


async def migrated(infra: Infra, name: str) -> None:
    await create_database(infra, name)
    engine = create_engine(infra.database_url(name))
    try:
        await migrate(engine, name)
    finally:
        await engine.dispose()


async def timed_service(infra: Infra, name: str) -> tuple[int, float]:
    """Rebuild ``name``: its events and seconds."""
    cleared, sweep, due = SERVICES[name]
    settings = settings_of(infra, name)
    swept = [0]

    def counted(runtime: Any) -> Any:
        swept[0] += 1
        return sweep(runtime)

    started = time.perf_counter()
    applied = await rebuild(name, cleared, counted, _quiet(name), settings, due)
    seconds = time.perf_counter() - started
    print(f"  {name}: {swept[0]:,} sweeps", flush=True)
    return applied, seconds


async def timed_profile(infra: Infra) -> tuple[int, float]:
    """Clear the 360 and rewind ``profile-view``, then fold its events again."""
    settings = settings_of(infra, "profile")
    started = time.perf_counter()
    await profile_rebuild.rebuild(settings)
    clock = ReplayClock(SystemClock())
    engine = create_engine(settings.db_url)
    service = definition("profile")
    runtime: Runtime[Any, Any] = Runtime(
        settings, clock, Database(engine, service.outbox, clock), MemoryBus(), resources=None
    )
    try:
        async with contextlib.AsyncExitStack() as opened:
            if service.resources is not None:
                runtime.resources = await opened.enter_async_context(service.resources(runtime))
            return await _fold_view(runtime, started)
    finally:
        await engine.dispose()


async def _fold_view(runtime: Runtime[Any, Any], started: float) -> tuple[int, float]:
    settings, service, clock = runtime.settings, definition("profile"), runtime.clock
    assert isinstance(clock, ReplayClock)
    view = consumers_of("profile", runtime)[VIEW_GROUP]
    records, _ = await rebuild_topics.read(settings, view.subscription, lambda line: None)
    work = Refold(runtime.db, {VIEW_GROUP: view}, (), service.outbox, service.inbox, _idle, clock)
    applied = await refold(work, {VIEW_GROUP: records}, _quiet("profile"))
    return applied, time.perf_counter() - started


async def _idle() -> None:
    """Profile's 360 has no time-based work to replay."""


def _quiet(name: str) -> Any:
    """Progress every 10 %, not every chunk."""
    last = [-10]

    def show(line: str) -> None:
        share = int(line.rsplit("(", 1)[-1].split(" ")[0]) if line.endswith("%)") else None
        if share is not None and share >= last[0] + 10:
            last[0] = share
            print(f"  {name}: {line}", flush=True)

    return show


async def main(customers: int, seed: int) -> None:
    run = uuid.uuid4().hex[:8]
    infra = Infra(ServiceSettings(), f"perfrb{run}.", f"perfrb{run}")
    names = [*SERVICES, "profile"]
    events = seeded(customers, seed)
    print(f"{customers:,} customers: {len(events):,} events", flush=True)
    await _create_topics(infra.prefix)
    try:
        for name in names:
            await migrated(infra, name)
        await publish(infra, events)
        for name in SERVICES:
            applied, seconds = await timed_service(infra, name)
            print(f"{name}: {applied:,} events folded again in {seconds:.1f} s", flush=True)
        applied, seconds = await timed_profile(infra)
        print(f"profile: {applied:,} events folded again in {seconds:.1f} s", flush=True)
    finally:
        for name in names:
            await drop_database(infra, name)
        await _delete_topics(infra.settings.kafka_servers, infra.prefix)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.customers, arguments.seed))
