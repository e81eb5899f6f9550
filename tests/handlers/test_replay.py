"""A rule change tried on history (issue 9, item 3), on SQLite and the in-memory bus.

A history goes through a service's consumers as it arrives live; then
``services.replaying`` folds the same records into two shadow databases, under the
rules in force and under a candidate, and reports the difference. The live tables
and the outbox are compared before and after: the replay only reads them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table

from services.lifecycle import app as lifecycle_app
from services.lifecycle.rebuild import FOLDED
from services.lifecycle.replay import REPLAY as LIFECYCLE
from services.rebuilding import Sweep
from services.replaying import Candidate, Replayable, replay
from shared.bus import Record
from shared.events import CloudEvent
from shared.subscription import Subscription
from tests.handlers.bench import NOW, TENANT, Bench
from tests.handlers.test_lifecycle import ACTIVITY, DAY, bought

END = NOW + 30 * DAY
STAGES = lifecycle_app.SERVICE.settings(service="lifecycle").lifecycle_config_file


async def _live(
    bench: Bench, history: Sequence[tuple[str, CloudEvent]], sweep: Sweep
) -> dict[str, list[Record]]:
    """Apply ``history`` as it arrives live (a sweep after each event); the records fed,
    by consumer group."""
    fed: dict[str, list[Record]] = {}
    for group, one in history:
        consumer = bench.consumers[group]
        record = bench._record(consumer, one)
        fed.setdefault(group, []).append(record)
        bench.clock.move_to(one.time)
        await consumer.process([record])
        await sweep(bench.runtime)
    bench.clock.move_to(END)
    await sweep(bench.runtime)
    return fed


async def _tables(bench: Bench, tables: Sequence[Table]) -> dict[str, list[str]]:
    return {t.name: sorted(repr(r) for r in await bench.rows(t)) for t in tables}


async def _replayed(
    spec: Replayable, bench: Bench, fed: dict[str, list[Record]], candidate: Candidate
) -> dict[str, Any]:
    async def read(subscription: Subscription) -> Sequence[Record]:
        return fed.get(subscription.group, [])

    return await replay(spec, bench.runtime, candidate, read, progress=lambda line: None)


async def test_a_shorter_silence_moves_the_customers_quiet_since_then(bench_of):
    lifecycle = await bench_of("lifecycle")
    quiet_60, quiet_45, recent, long_gone = (uuid.uuid4() for _ in range(4))
    history = sorted(
        [
            (ACTIVITY, bought(quiet_60, "q-1", END - 60 * DAY)),
            (ACTIVITY, bought(quiet_45, "q-2", END - 45 * DAY)),
            (ACTIVITY, bought(recent, "r-1", END - 10 * DAY)),
            (ACTIVITY, bought(long_gone, "g-1", END - 200 * DAY)),
        ],
        key=lambda item: item[1].time,
    )
    fed = await _live(lifecycle, history, lifecycle_app.sweep)
    before, published = await _tables(lifecycle, FOLDED), len(await lifecycle.published())
    text = STAGES.read_text(encoding="utf-8")
    candidate = text.replace("silent_after_days = 90", "silent_after_days = 30")
    assert candidate != text

    diff = await _replayed(LIFECYCLE, lifecycle, fed, Candidate(candidate, TENANT))

    assert diff["events"] == 4
    assert diff["rules_changed"] == ["silence.silent_after_days 90→30"]
    assert diff["counts"]["customers_per_stage"] == {
        "new_customer": {"before": 3, "after": 1},
        "silent": {"before": 1, "after": 3},
    }
    moved = {c["customer_id"]: c for c in diff["sample"]}
    assert set(moved) == {str(quiet_60), str(quiet_45)}
    assert diff["customers_changed"] == 2 and diff["customers"] == 4
    assert moved[str(quiet_60)]["why"] == (
        "stage new_customer→silent: silence.silent_after_days 90→30"
    )
    assert await _tables(lifecycle, FOLDED) == before  # live state untouched
    assert len(await lifecycle.published()) == published  # nothing announced
    assert not lifecycle.bus.logs  # nothing published on the bus either


async def test_the_same_rules_tried_change_nothing(bench_of):
    lifecycle = await bench_of("lifecycle")
    once = [(ACTIVITY, bought(uuid.uuid4(), "o-1", END - 100 * DAY))]
    fed = await _live(lifecycle, once, lifecycle_app.sweep)
    text = STAGES.read_text(encoding="utf-8")

    diff = await _replayed(LIFECYCLE, lifecycle, fed, Candidate(text, None))

    assert diff["rules_changed"] == [] and diff["customers_changed"] == 0
    assert diff["counts"]["customers_per_stage"] == {"silent": {"before": 1, "after": 1}}
