"""Silence and churn in event time: a partner that sends a year of history in a minute
gets the stage history the customers lived, whether or not a sweep ran between two of
a customer's events (issue 9: the fault suite's paced run went silent between events
that a calm run delivered together, and the next purchase counted as a win-back)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from services.lifecycle import app, views
from services.lifecycle.tables import customer_state
from tests.handlers.bench import NOW, TENANT, Bench
from tests.handlers.test_lifecycle import ACTIVITY, DAY, bought

QUIET = timedelta(seconds=300)  # CRM_LIFECYCLE_WATERMARK_QUIET_SECONDS by default

# A buys every month (never silent between), B comes back after 200 days.
ORDERS = {
    "a": [NOW - 400 * DAY, NOW - 370 * DAY, NOW - 340 * DAY],
    "b": [NOW - 400 * DAY, NOW - 200 * DAY],
}


async def _sweep(bench: Bench) -> None:
    await app.sweep(bench.runtime)  # type: ignore[arg-type]


async def _lived(bench: Bench, customer: uuid.UUID) -> tuple[list[tuple[object, ...]], int]:
    found = await views.customer_lifecycle(bench.engine, TENANT, customer)
    assert found is not None
    moves = [(h.from_stage, h.to_stage, h.at, h.cause.kind) for h in found.history]
    (row,) = await bench.rows(customer_state, customer_id=customer)
    return moves, row["reactivations"]


async def test_a_sweep_between_back_dated_events_changes_no_customers_history(bench_of):
    hurried, together = await bench_of("lifecycle"), await bench_of("lifecycle")
    customers = {name: uuid.uuid4() for name in ORDERS}
    timeline = sorted((at, name, k) for name, times in ORDERS.items() for k, at in enumerate(times))
    for at, name, k in timeline:  # one at a time, a sweep (at the wall clock) after each
        await hurried.consume(ACTIVITY, bought(customers[name], f"{name}-{k}", at))
        await _sweep(hurried)
    await together.consume(
        ACTIVITY, *(bought(customers[name], f"{name}-{k}", at) for at, name, k in timeline)
    )
    await _sweep(together)
    for bench in (hurried, together):  # the partner's events stop: the wall clock rules
        bench.clock.move_to(NOW + QUIET + timedelta(seconds=1))
        await _sweep(bench)

    for name, customer in customers.items():
        assert await _lived(hurried, customer) == await _lived(together, customer), name
    b_moves, b_reactivations = await _lived(together, customers["b"])
    assert b_moves == [
        (None, "new_customer", NOW - 400 * DAY, "event"),
        ("new_customer", "silent", NOW - 310 * DAY, "timer"),
        ("silent", "active", NOW - 200 * DAY, "event"),
        ("active", "silent", NOW - 110 * DAY, "timer"),
    ]
    assert b_reactivations == 1
    a_moves, a_reactivations = await _lived(together, customers["a"])
    assert [(f, t) for f, t, _, _ in a_moves] == [
        (None, "new_customer"),
        ("new_customer", "active"),
        ("active", "silent"),
    ]
    assert a_reactivations == 0


async def test_a_tenant_whose_events_flow_fires_only_the_timers_its_events_have_passed(bench_of):
    lifecycle, early, late = await bench_of("lifecycle"), uuid.uuid4(), uuid.uuid4()
    await lifecycle.consume(
        ACTIVITY, bought(early, "e-1", NOW - 300 * DAY), bought(late, "l-1", NOW - 250 * DAY)
    )
    await _sweep(lifecycle)  # watermark: NOW - 250 days; early's silence (NOW - 210) waits
    assert [s for _, s, _, _ in (await _lived(lifecycle, early))[0]] == ["new_customer"]

    await lifecycle.consume(ACTIVITY, bought(late, "l-2", NOW - 200 * DAY))
    await _sweep(lifecycle)  # the tenant's events have passed NOW - 210 days

    assert [s for _, s, _, _ in (await _lived(lifecycle, early))[0]] == ["new_customer", "silent"]
    assert [s for _, s, _, _ in (await _lived(lifecycle, late))[0]] == [
        "new_customer",
        "active",
    ]
