"""Value and analytics on the fast tier (SQLite, as the embedded mode runs): a refit and
a rescore value every customer and cut the classes, announcing each class; the
conversion, time in stage, cohorts and win-backs read the same figures as on
PostgreSQL (the median taken in Python where SQLite has no percentile)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.lifecycle import analytics, modelfit, value_views
from services.lifecycle.rescore import rescore_due
from services.lifecycle.settings import LifecycleSettings
from services.lifecycle.sweep import sweep_due
from services.lifecycle.tables import customer_state
from shared.events.activity import CustomerRegistered
from shared.events.lifecycle import ValueClassChanged
from tests.handlers.bench import NOW, TENANT, event
from tests.handlers.test_lifecycle import ACTIVITY, bought

DAY = timedelta(days=1)


async def test_a_refit_and_a_rescore_value_and_class_every_customer(bench_of):
    lifecycle = await bench_of("lifecycle")
    customers = [uuid.uuid4() for _ in range(10)]
    orders = [
        bought(c, f"O-{i}-{k}", NOW - (200 + 5 * i - 30 * k) * DAY, 1000 * (1 + i) + 10 * k)
        for i, c in enumerate(customers)
        for k in range(1 + i % 3)
    ]
    await lifecycle.consume(ACTIVITY, *orders)
    settings = lifecycle.runtime.settings
    assert isinstance(settings, LifecycleSettings)
    machine, db = settings.machine, lifecycle.runtime.db

    lifecycle.clock.move_to(NOW + timedelta(minutes=1))
    model, spending = await modelfit.fit_model(db, machine.config, lifecycle.clock, TENANT, NOW)
    swept = await rescore_due(db, machine, lifecycle.clock, 4, TENANT)

    rows = await lifecycle.rows(customer_state)
    assert swept.counts["rescored"] >= 10 and model.customers == 10
    assert [m.currency for m in spending] == ["CNY"] and spending[0].customers == 6
    assert sorted(r["value_class"] for r in rows) == ["A"] * 2 + ["B"] * 3 + ["C"] * 5
    announced = await lifecycle.payloads(ValueClassChanged)
    assert sorted(p.to_class or "" for p in announced) == sorted(r["value_class"] for r in rows)
    classes = await value_views.value_classes(lifecycle.engine, machine.config, TENANT, NOW)
    assert [(f.name, f.customers) for f in classes.classes] == [("A", 2), ("B", 3), ("C", 5)]


async def test_conversion_cohorts_and_win_backs_on_sqlite(bench_of):
    lifecycle = await bench_of("lifecycle")
    converts, lapsed = uuid.uuid4(), uuid.uuid4()
    await lifecycle.consume(
        ACTIVITY,
        event(CustomerRegistered(channel="web"), converts, NOW - 10 * DAY),
        bought(converts, "O-1", NOW - 7 * DAY),  # three days a prospect
        bought(lapsed, "O-2", datetime(2025, 10, 1, 12, tzinfo=UTC)),
    )
    settings = lifecycle.runtime.settings
    assert isinstance(settings, LifecycleSettings)
    lifecycle.clock.move_to(NOW - 2 * DAY)
    await sweep_due(
        lifecycle.runtime.db, lifecycle.runtime.resources, lifecycle.clock
    )  # lapsed churns
    lifecycle.clock.move_to(NOW)
    await lifecycle.consume(ACTIVITY, bought(lapsed, "O-3", NOW - DAY, 5000))  # won back
    start, end = NOW - 30 * DAY, NOW + DAY

    conversion = await analytics.conversion(lifecycle.engine, TENANT, start, end)
    cohorts = await analytics.cohorts(lifecycle.engine, TENANT, start - 400 * DAY, end, NOW)
    won = await analytics.winbacks(lifecycle.engine, TENANT, start, end, ("silent", "churned"))

    times = {t.stage: (t.stays, t.median_days) for t in conversion.time_in_stage}
    assert times["prospect"] == (1, 3.0)
    prospect = conversion.conversions[0]
    assert (prospect.entered, prospect.converted, prospect.rate) == (1, 1, 1.0)
    assert [(c.month, c.customers, c.active[0], c.active[-1]) for c in cohorts.cohorts] == [
        ("2025-10", 1, 1, 1),
        ("2026-11", 1, 1, 1),
    ]
    assert len(cohorts.cohorts[0].active) == 14  # October 2025 to November 2026
    assert (won.customers, won.winbacks) == (1, 1)
    assert [(r.currency, r.revenue_minor) for r in won.revenue_since] == [("CNY", 5000)]
