"""Rebuilding a service from its topics gives back the state it had (issue 9, item 2).

A varied history goes through lifecycle's consumers as it arrives live, the clock at
each event's time and a sweep after each; then its folded tables are cleared and the
same records folded again by ``shared.rebuild`` (events in event-time order, the sweep
at their times, the clock replaying them). Every row of every folded table is compared
but for the instants rows were written (``WRITTEN_AT``); scores computed as of a clock
are compared once both states are rescored at one instant.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Table

from services.lifecycle import app as lifecycle_app
from services.lifecycle.rebuild import FOLDED
from services.lifecycle.rescore import rescore_due
from services.lifecycle.settings import LifecycleSettings
from services.rebuilding import plan
from shared.bus import Record
from shared.clock import FrozenClock
from shared.events import CloudEvent
from shared.events.activity import (
    AccountClosed,
    CustomerRegistered,
    EngagementRecorded,
    OrderRefunded,
)
from shared.rebuild import ReplayClock, refold
from shared.runtime import Runtime
from shared.uow import Database
from tests.handlers.bench import NOW, Bench, event
from tests.handlers.test_lifecycle import ACTIVITY, DAY, SIGNALS, bought, complaint

# When a row was written (and a history row's surrogate key): the instant of a rebuild.
# The risk score last announced is the one computed at the instant a batch settled,
# which a rebuild folding a chunk at a time does not repeat; the score itself is compared.
WRITTEN_AT = {"updated_at", "risk_at", "seen_at", "id", "risk_announced_score"}
END = NOW + 30 * DAY


def _history() -> list[tuple[str, CloudEvent]]:
    """Leads, buyers who become loyal, a refund in full, a blocking complaint, a closed
    account, a customer who goes silent and comes back, one who churns."""
    regular, regret, gone, back, closer, lead = (uuid.uuid4() for _ in range(6))
    start = NOW - 500 * DAY
    events: list[tuple[str, CloudEvent]] = [
        (ACTIVITY, event(CustomerRegistered(channel="web"), lead, start)),
        (ACTIVITY, event(EngagementRecorded(kind="visit", channel="web"), lead, start + DAY)),
        (ACTIVITY, bought(regret, "r-1", start + 2 * DAY)),
        (
            ACTIVITY,
            event(OrderRefunded(order_id="r-1", amount_minor=1000), regret, start + 5 * DAY),
        ),
        (ACTIVITY, bought(gone, "g-1", start + 3 * DAY)),
        (ACTIVITY, bought(back, "b-1", start + 10 * DAY)),
        (ACTIVITY, bought(back, "b-2", start + 250 * DAY)),
        (ACTIVITY, bought(closer, "c-1", start + 20 * DAY)),
        (ACTIVITY, event(AccountClosed(), closer, start + 40 * DAY)),
    ]
    events += [
        (ACTIVITY, bought(regular, f"o-{k}", start + (300 + 20 * k) * DAY)) for k in range(6)
    ]
    events += [
        (SIGNALS, complaint(regular, "critical", start + 430 * DAY)),
        (SIGNALS, complaint(regular, "critical", start + 440 * DAY, opened=False)),
    ]
    return sorted(events, key=lambda item: item[1].time)


async def _snapshot(bench: Bench, tables: tuple[Table, ...]) -> dict[str, list[dict[str, Any]]]:
    found = {}
    for table in tables:
        rows = [
            {k: v for k, v in r.items() if k not in WRITTEN_AT} for r in await bench.rows(table)
        ]
        found[table.name] = sorted(rows, key=repr)
    return found


async def _rescore(bench: Bench, at: datetime) -> None:
    settings = bench.runtime.settings
    assert isinstance(settings, LifecycleSettings)
    await rescore_due(bench.runtime.db, settings.machine, FrozenClock(at))


async def test_lifecycle_rebuilt_from_its_topics_is_the_lifecycle_it_was(bench_of):
    lifecycle = await bench_of("lifecycle")
    fed: dict[str, list[Record]] = {ACTIVITY: [], SIGNALS: []}
    for group, one in _history():
        consumer = lifecycle.consumers[group]
        record = lifecycle._record(consumer, one)
        fed[group].append(record)
        lifecycle.clock.move_to(one.time)
        await consumer.process([record])
        await lifecycle_app.sweep(lifecycle.runtime)  # type: ignore[arg-type]
    lifecycle.clock.move_to(END)
    await lifecycle_app.sweep(lifecycle.runtime)  # type: ignore[arg-type]
    await _rescore(lifecycle, END + 2 * DAY)
    before = await _snapshot(lifecycle, FOLDED)

    clock = ReplayClock(FrozenClock(END))
    runtime: Runtime[Any, Any] = Runtime(
        lifecycle.runtime.settings,
        clock,
        Database(lifecycle.engine, lifecycle.service.outbox, clock),
        lifecycle.bus,
        resources=lifecycle.runtime.resources,  # the tenants' rules, as the service opens them
    )
    work = plan("lifecycle", runtime, FOLDED, lifecycle_app.sweep)
    outbox_before = len(await lifecycle.published())
    applied = await refold(work, fed, progress=lambda line: None)
    assert len(await lifecycle.published()) == outbox_before  # nothing announced again
    await _rescore(lifecycle, END + 2 * DAY)
    after = await _snapshot(lifecycle, FOLDED)

    assert applied == sum(len(r) for r in fed.values())
    assert {t: len(rows) for t, rows in after.items()} == {
        t: len(rows) for t, rows in before.items()
    }
    for table in before:
        assert after[table] == before[table], table
    assert [s for s in before["stage_history"] if s["to_stage"] == "churned"]
