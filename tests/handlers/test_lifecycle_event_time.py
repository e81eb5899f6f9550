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


async def test_a_sweep_fires_a_silence_and_the_churn_after_it_only_as_far_as_the_watermark(
    bench_of,
):
    # The fault suite's last two differing customers (issue 9): the watermark let a silence
    # fire, and the same pass fired the churn after it by the wall clock, a year ahead of
    # the tenant's events, before the customer's next purchase arrived.
    lifecycle, lapsing, other = await bench_of("lifecycle"), uuid.uuid4(), uuid.uuid4()
    await lifecycle.consume(
        ACTIVITY, bought(lapsing, "x-1", NOW - 500 * DAY), bought(other, "o-1", NOW - 400 * DAY)
    )
    await _sweep(lifecycle)  # watermark NOW - 400: silence (NOW - 410) due, churn (NOW - 135) not
    assert [s for _, s, _, _ in (await _lived(lifecycle, lapsing))[0]] == [
        "new_customer",
        "silent",
    ]

    await lifecycle.consume(ACTIVITY, bought(lapsing, "x-2", NOW - 300 * DAY))
    moves, reactivations = await _lived(lifecycle, lapsing)
    assert [(f, t, at) for f, t, at, _ in moves] == [
        (None, "new_customer", NOW - 500 * DAY),
        ("new_customer", "silent", NOW - 410 * DAY),
        ("silent", "active", NOW - 300 * DAY),
    ]
    assert reactivations == 1


async def test_a_churn_held_back_by_the_watermark_fires_once_the_tenant_is_quiet(bench_of):
    lifecycle, lapsing, other = await bench_of("lifecycle"), uuid.uuid4(), uuid.uuid4()
    await lifecycle.consume(
        ACTIVITY, bought(lapsing, "x-1", NOW - 500 * DAY), bought(other, "o-1", NOW - 400 * DAY)
    )
    await _sweep(lifecycle)  # silent at NOW - 410; the churn waits (not dropped as stale)
    lifecycle.clock.move_to(NOW + QUIET + timedelta(seconds=1))
    await _sweep(lifecycle)  # the partner's events stopped: the wall clock rules

    moves, _ = await _lived(lifecycle, lapsing)
    assert [(t, at, kind) for _, t, at, kind in moves] == [
        ("new_customer", NOW - 500 * DAY, "event"),
        ("silent", NOW - 410 * DAY, "timer"),
        ("churned", NOW - 135 * DAY, "timer"),
    ]
