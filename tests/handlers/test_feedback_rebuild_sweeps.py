"""A rebuild of feedback sweeps where a customer's due work needs it, not once an hour of
history (the hourly tick made a rebuild of 100,000 customers sweep ~13,000 times, each
over a chunk of a few events: 775 s against 157-185 s for loyalty and lifecycle).

The sweep does each piece at its due time however late it runs, so the rebuild need only
run it before a customer's event that follows their due work: the first history (quiet
days between customers' purchases) folds in one chunk with two sweeps where the hourly
tick swept before every purchase; the second has a customer's due invitation fall due
before her complaint in a later chunk, and it goes out first, as it did live.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from services.feedback import app as feedback_app
from services.feedback.rebuild import FOLDED, due
from services.feedback.tables import survey_invitation
from services.rebuilding import plan
from shared.clock import FrozenClock
from shared.rebuild import ReplayClock, refold
from shared.runtime import Runtime
from shared.uow import Database
from tests.handlers.bench import Bench
from tests.handlers.test_feedback import bought, filed
from tests.handlers.test_feedback_rebuild import (
    ACTIVITY,
    DAY,
    END,
    HOUR,
    KEY,
    START,
    Step,
    _fed,
    _live,
    _snapshot,
)

QUIET = 40


def _customer(name: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"sweeps:{name}")


async def _rebuilt(bench: Bench, history: list[Step]) -> list[datetime]:
    """Fold ``history`` again as the rebuild does; the times its sweeps ran at."""
    fed = await _fed(bench, history)
    clock = ReplayClock(FrozenClock(END))
    runtime: Runtime[Any, Any] = Runtime(
        bench.runtime.settings,
        clock,
        Database(bench.engine, bench.service.outbox, clock),
        bench.bus,
        resources=bench.runtime.resources,
    )
    swept: list[datetime] = []

    async def sweep(on: Any) -> object:
        swept.append(on.clock.now())
        return await feedback_app.sweep(on)

    await refold(plan("feedback", runtime, FOLDED, sweep, due), fed, lambda _: None)
    return swept


async def test_quiet_days_between_customers_cost_no_sweeps(bench_of):
    feedback = await bench_of("feedback", survey_token_key=KEY)
    history: list[Step] = [
        (START + n * DAY, ACTIVITY, bought(_customer(f"c{n}"), f"O-{n}", START + n * DAY))
        for n in range(QUIET)
    ]
    await _live(feedback, history)
    before = await _snapshot(feedback)

    swept = await _rebuilt(feedback, history)

    assert swept == [START, END]  # the hourly tick: one before each purchase and the end
    assert await _snapshot(feedback) == before
    rows = before[survey_invitation.name]
    assert len(rows) == QUIET and {r["status"] for r in rows} == {"expired"}
    assert all(r["invited_at"] == r["due_at"] for r in rows)


async def test_a_customers_due_invitation_goes_out_before_her_next_event(bench_of):
    feedback = await bench_of("feedback", survey_token_key=KEY)
    ann, bo = _customer("ann"), _customer("bo")
    history: list[Step] = [
        (START, ACTIVITY, bought(ann, "A-1", START)),  # her CSAT falls due a day later
        (START + 12 * HOUR, ACTIVITY, bought(bo, "B-1", START + 12 * HOUR)),
        (START + 13 * HOUR, ACTIVITY, bought(bo, "B-2", START + 13 * HOUR)),  # a new chunk
        (START + 2 * DAY, ACTIVITY, filed(ann, "T-1", "low", START + 2 * DAY, "tickets")),
    ]
    await _live(feedback, history)
    before = await _snapshot(feedback)

    swept = await _rebuilt(feedback, history)

    assert await _snapshot(feedback) == before  # without the sweep before T-1: suppressed
    assert swept == [START, START + 13 * HOUR, START + 2 * DAY, END]
    [invited] = [r for r in before[survey_invitation.name] if r["order_id"] == "A-1"]
    assert (invited["invited_at"], invited["suppressed"]) == (START + DAY, None)
