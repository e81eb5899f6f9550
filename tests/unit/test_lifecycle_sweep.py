"""The sweeper's pass over one customer: the timers it fires, in order, each with its
own cause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.lifecycle import sweep
from services.lifecycle.domain.config import load_config
from services.lifecycle.domain.rfm import Purchase, rfm_of
from services.lifecycle.domain.stages import CustomerState
from services.lifecycle.handlers import Lifecycle, next_timer
from services.lifecycle.settings import DEFAULT_CONFIG
from services.lifecycle.store import Customer
from shared.clock import FrozenClock

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
LC = Lifecycle.of(load_config(DEFAULT_CONFIG), FrozenClock(NOW))


def test_a_pass_that_silences_then_churns_records_each_transition_with_its_own_timer():
    bought = NOW - timedelta(days=400)
    customer = Customer(
        state=CustomerState(stage="new_customer", stage_since=bought),
        purchases={"O-1": Purchase("O-1", bought, 1000)},
    )
    timer = next_timer(customer.state, rfm_of(customer.purchases.values()), LC.config)

    made = sweep._fire(customer, timer, LC, NOW)

    assert [(t.from_stage, t.to_stage, cause) for t, cause in made] == [
        ("new_customer", "silent", "silence"),
        ("silent", "churned", "churn"),
    ]
    assert customer.state.stage == "churned"
