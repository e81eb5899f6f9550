"""The sweeper's pass over one customer: the timers it fires, in order, each with its
own cause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.lifecycle import sweep
from services.lifecycle.domain.config import load_config, parse_config
from services.lifecycle.domain.rfm import Purchase, rfm_of
from services.lifecycle.domain.stages import CustomerState, StageMachine
from services.lifecycle.domain.timers import next_timer
from services.lifecycle.settings import DEFAULT_CONFIG
from services.lifecycle.store import Customer

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
MACHINE = StageMachine(load_config(DEFAULT_CONFIG))


def test_a_pass_that_silences_then_churns_records_each_transition_with_its_own_timer():
    bought = NOW - timedelta(days=400)
    customer = Customer(
        state=CustomerState(stage="new_customer", stage_since=bought),
        purchases={"O-1": Purchase("O-1", bought, 1000)},
    )
    timer = next_timer(MACHINE, customer.state, rfm_of(customer.purchases.values()))

    made = sweep.fire_due(customer, timer, MACHINE, NOW)

    assert [(t.from_stage, t.to_stage, cause) for t, cause in made] == [
        ("new_customer", "silent", "silence"),
        ("silent", "churned", "churn"),
    ]
    assert customer.state.stage == "churned"


def _with_rule(extra: str) -> StageMachine:
    return StageMachine(parse_config(DEFAULT_CONFIG.read_text() + extra))


def test_timers_follow_the_stage_file_a_silence_rule_from_lead_makes_leads_go_silent():
    """The stage file decides which stages run timers: nothing in the code names them."""
    engaged = NOW - timedelta(days=100)
    lead = Customer(state=CustomerState(stage="lead", stage_since=engaged))
    assert next_timer(MACHINE, lead.state, rfm_of([])) is None  # the shipped file: no rule

    machine = _with_rule('\n[[transition]]\nfrom = ["lead"]\non = "silence_due"\nto = "silent"\n')
    timer = next_timer(machine, lead.state, rfm_of([]))
    assert timer == ("silence", engaged + timedelta(days=90))  # counted from entering lead

    made = sweep.fire_due(lead, timer, machine, NOW)
    assert [(t.from_stage, t.to_stage, cause) for t, cause in made] == [
        ("lead", "silent", "silence")
    ]


def test_a_stage_with_both_timers_runs_the_earlier():
    machine = _with_rule('\n[[transition]]\nfrom = ["active"]\non = "churn_due"\nto = "churned"\n')
    bought = NOW - timedelta(days=10)
    active = CustomerState(stage="active", stage_since=bought)
    stats = rfm_of([Purchase("O-1", bought, 1000)])

    assert next_timer(machine, active, stats) == ("silence", bought + timedelta(days=90))
