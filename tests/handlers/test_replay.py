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

from services.feedback import app as feedback_app
from services.feedback.replay import REPLAY as FEEDBACK
from services.feedback.tables import complaint, survey_invitation
from services.lifecycle import app as lifecycle_app
from services.lifecycle.rebuild import FOLDED
from services.lifecycle.replay import REPLAY as LIFECYCLE
from services.loyalty import app as loyalty_app
from services.loyalty.replay import REPLAY as LOYALTY
from services.loyalty.tables import account, ledger_entry, lot
from services.rebuilding import Sweep
from services.replaying import Candidate, Replayable, replay
from shared.bus import Record
from shared.events import CloudEvent
from shared.subscription import Subscription
from tests.handlers.bench import NOW, TENANT, Bench
from tests.handlers.test_feedback import GROUP as FEEDBACK_ACTIVITY
from tests.handlers.test_feedback import HOUR, filed
from tests.handlers.test_lifecycle import ACTIVITY, DAY, bought
from tests.handlers.test_loyalty import ACTIVITY as LOYALTY_ACTIVITY
from tests.handlers.test_loyalty import bought as loyalty_bought

END = NOW + 30 * DAY
STAGES = lifecycle_app.SERVICE.settings(service="lifecycle").lifecycle_config_file
PROGRAMME = loyalty_app.SERVICE.settings(service="loyalty").loyalty_rules_file
POLICY = feedback_app.SERVICE.settings(service="feedback").feedback_config_file
LEDGER = (account, ledger_entry, lot)


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


async def test_a_doubled_earning_rate_issues_twice_the_points_in_the_same_tiers(bench_of):
    loyalty = await bench_of("loyalty")
    big, small = uuid.uuid4(), uuid.uuid4()
    history = [
        (LOYALTY_ACTIVITY, loyalty_bought(big, "B-1", 100000, END - 20 * DAY)),
        (LOYALTY_ACTIVITY, loyalty_bought(small, "S-1", 50000, END - 10 * DAY)),
    ]
    fed = await _live(loyalty, history, loyalty_app.sweep)
    before, published = await _tables(loyalty, LEDGER), len(await loyalty.published())
    text = PROGRAMME.read_text(encoding="utf-8")
    candidate = text.replace("default_points_per_unit = 1 ", "default_points_per_unit = 2 ")
    assert candidate != text

    diff = await _replayed(LOYALTY, loyalty, fed, Candidate(candidate, TENANT))

    assert diff["rules_changed"] == ["earning.default_points_per_unit 1→2"]
    assert diff["counts"]["points_issued"] == {"total": {"before": 1500, "after": 3000}}
    assert diff["counts"]["customers_per_tier"] == {"member": {"before": 2, "after": 2}}
    assert {c["customer_id"]: c["changes"] for c in diff["sample"]} == {
        str(big): {"points_issued": {"before": 1000, "after": 2000}},
        str(small): {"points_issued": {"before": 500, "after": 1000}},
    }
    assert await _tables(loyalty, LEDGER) == before
    assert len(await loyalty.published()) == published and not loyalty.bus.logs


async def test_a_longer_sla_escalates_no_complaint_a_day_old(bench_of):
    feedback = await bench_of("feedback")
    waiting = uuid.uuid4()
    history = [(FEEDBACK_ACTIVITY, filed(waiting, "T-1", "critical", END - 30 * HOUR, "desk"))]
    fed = await _live(feedback, history, feedback_app.sweep)
    before = await _tables(feedback, (complaint, survey_invitation))
    text = POLICY.read_text(encoding="utf-8")
    candidate = text.replace("critical = 4\n", "critical = 48\n")

    diff = await _replayed(FEEDBACK, feedback, fed, Candidate(candidate, None))

    assert diff["rules_changed"] == ["sla.hours.critical 4→48"]
    escalated = diff["counts"]["escalations"]["total"]
    assert escalated["before"] >= 1 and escalated["after"] == 0
    (moved,) = diff["sample"]
    assert moved["customer_id"] == str(waiting)
    assert moved["why"] == f"escalations {escalated['before']}→0: sla.hours.critical 4→48"
    assert await _tables(feedback, (complaint, survey_invitation)) == before
