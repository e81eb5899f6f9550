"""Rebuilding loyalty from its topics gives back the accounts it had (issue 9, item 2).

A varied history goes through loyalty as it arrives live (the clock at each event's
time, the sweep after each): purchases held in a return window and released, refunds
before and after the release (one with no sweep of its own in between: the account
catches up first), one before its purchase (parked), goodwill and
compensation for complaints, a reactivation offer taken up, redemptions and manual
adjustments (credits and debits, between redemptions spending the same lots) at the
API, expiries and a tier review at the end of its period. Then every folded table is
cleared and the same records folded again by ``shared.rebuild``: crm.activity,
crm.feedback and crm.lifecycle through loyalty's consumers, and crm.loyalty (what
loyalty announced, the redemptions and manual adjustments among it) through the group
only a rebuild runs.
Every row of every folded table is compared but for the instants rows were written.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from services.loyalty import adjustments, redemptions
from services.loyalty import app as loyalty_app
from services.loyalty.app import REDEMPTIONS
from services.loyalty.rebuild import FOLDED
from services.loyalty.settings import SHIPPED_RULES
from services.loyalty.tables import adjustment, ledger_entry, redemption, tier_change
from services.rebuilding import plan
from shared import topics
from shared.bus import Record
from shared.clock import FrozenClock
from shared.events import CloudEvent, encode
from shared.events.activity import OrderRefunded
from shared.events.loyalty import PointsAdjusted, PointsRedeemed
from shared.rebuild import ReplayClock, refold
from shared.runtime import Runtime
from shared.uow import Database
from tests.handlers.bench import NOW, TENANT, Bench, event
from tests.handlers.test_loyalty import (
    ACTIVITY,
    FEEDBACK,
    LIFECYCLE,
    bought,
    opened,
    resolved,
    went_silent,
)

DAY, HOUR = timedelta(days=1), timedelta(hours=1)
START = NOW - 900 * DAY
END = NOW + 30 * DAY
# When a row was written: the instant of a rebuild, or a figure computed as of it.
WRITTEN_AT = {"created_at", "updated_at", "qualifying_spend_minor", "id"}
# A decision at the API: "redeem" or "adjust", the customer, the Idempotency-Key, points.
Decision = tuple[str, uuid.UUID, str, int]
Step = tuple[datetime, str | None, CloudEvent | Decision]
BY = "api-key:0c1e4f62-93a5-4d7b-8f20-6a1d9e3b5c74"


def refund(customer: uuid.UUID, order: str, amount: int, at: datetime) -> CloudEvent:
    return event(OrderRefunded(order_id=order, amount_minor=amount), customer, at)


def _history() -> list[Step]:
    """What happens, in time order: (when, consumer group or None for a decision at
    the API, the event or the decision)."""
    gold, regret, silent, early = (uuid.uuid5(uuid.NAMESPACE_URL, n) for n in "grse")
    steps: list[Step] = [
        (START + 10 * DAY, ACTIVITY, bought(gold, "g-1", 2_500_000, START + 10 * DAY)),
        (START + 40 * DAY, None, ("redeem", gold, "redeem-1", 5_000)),
        (START + 45 * DAY, None, ("adjust", gold, "adjust-1", 2_000)),
        (START + 46 * DAY, None, ("adjust", gold, "adjust-2", -6_000)),
        (START + 50 * DAY, ACTIVITY, refund(gold, "g-1", 500_000, START + 50 * DAY)),
        (START + 60 * DAY, FEEDBACK, opened(gold, "c-1", "critical", START + 60 * DAY)),
        (START + 62 * DAY, FEEDBACK, resolved(gold, "c-1", 1_000, START + 62 * DAY)),
        (START + 100 * DAY, None, ("redeem", gold, "redeem-2", 100)),
        (START + 100 * DAY + HOUR, None, ("adjust", gold, "adjust-3", -50)),
        (START + 200 * DAY, ACTIVITY, bought(regret, "r-1", 80_000, START + 200 * DAY)),
        (START + 300 * DAY, ACTIVITY, bought(silent, "s-1", 50_000, START + 300 * DAY)),
        # released at the sweep after the purchase above (live), or before the refund
        (START + 305 * DAY, ACTIVITY, refund(regret, "r-1", 80_000, START + 305 * DAY)),
        (START + 400 * DAY, LIFECYCLE, went_silent(silent, START + 400 * DAY)),
        (START + 410 * DAY, ACTIVITY, bought(silent, "s-2", 120_000, START + 410 * DAY)),
        (START + 500 * DAY, ACTIVITY, refund(early, "e-1", 10_000, START + 500 * DAY)),
        (START + 501 * DAY, ACTIVITY, bought(early, "e-1", 40_000, START + 501 * DAY)),
        (START + 690 * DAY, None, ("adjust", silent, "adjust-4", 700)),
        (START + 700 * DAY, None, ("redeem", silent, "redeem-3", 900)),
    ]
    return sorted(steps, key=lambda step: step[0])


def _rules(folder: Path) -> Path:
    """The shipped programme, with a return window: points held, then released."""
    text = SHIPPED_RULES.read_text(encoding="utf-8")
    path = folder / "rules.toml"
    path.write_text(text.replace("return_window_days = 0", "return_window_days = 14"))
    return path


async def _live(bench: Bench, history: list[Step]) -> None:
    """The history as it arrives: the clock at each step, the sweep after it."""
    for at, group, what in history:
        bench.clock.move_to(at)
        if isinstance(what, CloudEvent):
            assert group is not None
            await bench.consume(group, what)
        else:
            await _decide(bench, what)
        await loyalty_app.sweep(bench.runtime)  # type: ignore[arg-type]
    bench.clock.move_to(END)
    await loyalty_app.sweep(bench.runtime)  # type: ignore[arg-type]


async def _decide(bench: Bench, decision: Decision) -> None:
    """A redemption or a manual adjustment at the API."""
    kind, customer, key, points = decision
    programme = await bench.runtime.resources.current(bench.engine, TENANT)
    if kind == "redeem":
        command = redemptions.Redeem(TENANT, customer, key, points, f"voucher {key}")
        await redemptions.redeem(bench.runtime.db, command, programme)
    else:
        asked = adjustments.Adjust(TENANT, customer, key, points, f"correction {key}", BY)
        await adjustments.adjust(bench.runtime.db, asked, programme)


async def _fed(bench: Bench, history: list[Step]) -> dict[str, list[Record]]:
    """The records each group reads: the partners' and lifecycle's events, and
    everything loyalty announced on crm.loyalty."""
    offsets = itertools.count()
    fed: dict[str, list[Record]] = {group: [] for group in bench.consumers}
    for _, group, what in history:
        if isinstance(what, CloudEvent) and group is not None:
            fed[group].append(_record(what, next(offsets)))
    own = [e for e in await bench.published() if e.topic == topics.LOYALTY]
    fed[REDEMPTIONS] = [_record(e, next(offsets)) for e in own]
    return fed


def _record(one: CloudEvent, offset: int) -> Record:
    return Record(one.topic, 0, offset, one.partitionkey.encode(), encode(one))


async def _snapshot(bench: Bench) -> dict[str, list[dict[str, Any]]]:
    found = {}
    for table in FOLDED:
        rows = [
            {k: v for k, v in r.items() if k not in WRITTEN_AT} for r in await bench.rows(table)
        ]
        found[table.name] = sorted(rows, key=repr)
    return found


async def _rebuild(bench: Bench, fed: dict[str, list[Record]]) -> int:
    clock = ReplayClock(FrozenClock(END))
    runtime: Runtime[Any, Any] = Runtime(
        bench.runtime.settings,
        clock,
        Database(bench.engine, bench.service.outbox, clock),
        bench.bus,
        resources=bench.runtime.resources,
    )
    work = plan("loyalty", runtime, FOLDED, loyalty_app.sweep)
    return await refold(work, fed, progress=lambda line: None)


Check = Callable[[dict[str, list[dict[str, Any]]]], Awaitable[None]]


async def test_loyalty_rebuilt_from_its_topics_is_the_loyalty_it_was(bench_of, tmp_path):
    loyalty = await bench_of("loyalty", loyalty_rules_file=_rules(tmp_path))
    history = _history()
    await _live(loyalty, history)
    before = await _snapshot(loyalty)
    fed = await _fed(loyalty, history)
    outbox_before = len(await loyalty.published())

    applied = await _rebuild(loyalty, fed)
    after = await _snapshot(loyalty)

    partners = sum(len(r) for group, r in fed.items() if group != REDEMPTIONS)
    for table in before:
        assert after[table] == before[table], table
    decided = (PointsRedeemed, PointsAdjusted)  # what the rebuild's own group reads
    assert applied == partners + len(await loyalty.published(*decided))
    kinds = {e["kind"] for e in before[ledger_entry.name]}
    assert kinds == {"earn", "redeem", "reverse", "adjust", "expire"}, kinds
    assert len(before[redemption.name]) == 3
    assert sorted(a["points"] for a in before[adjustment.name]) == [-6_000, -50, 700, 2_000]
    manual = [e for e in before[ledger_entry.name] if e["ref"].startswith("adjustment:")]
    assert len(manual) == 4 and all(e["rule"].startswith("manual:correction") for e in manual)
    assert {a["adjusted_by"] for a in before[adjustment.name]} == {BY}
    assert ("gold", "member") in {(m["from_tier"], m["to_tier"]) for m in before[tier_change.name]}
    assert len(await loyalty.published()) == outbox_before  # nothing announced again
