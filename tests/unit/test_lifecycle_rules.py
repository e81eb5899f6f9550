"""The lifecycle stage machine: what moves a customer from one stage to another."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.lifecycle.domain import (
    TRANSITIONS,
    CustomerState,
    Transition,
    move,
    purchase_trigger,
    record_purchase,
    record_refund,
)

AT = datetime(2026, 11, 20, 10, 15, tzinfo=UTC)
LATER = AT + timedelta(days=30)


def _in(stage: str | None, orders: int = 0) -> CustomerState:
    return CustomerState(stage=stage, stage_since=AT if stage else None, orders=orders)  # type: ignore[arg-type]


def _purchase(state: CustomerState, at: datetime = LATER, amount_minor: int = 1000):
    """A purchase as lifecycle applies it: count it, then move on its trigger."""
    state = record_purchase(state, amount_minor, at)
    return move(state, purchase_trigger(state), at)


def test_registration_makes_a_prospect():
    state, transition = move(CustomerState(), "registered", AT)

    assert state.stage == "prospect"
    assert transition == Transition(None, "prospect", AT, reactivation=False)


@pytest.mark.parametrize("stage", [None, "prospect"])
def test_engagement_makes_a_lead(stage):
    state, transition = move(_in(stage), "engaged", LATER)

    assert state.stage == "lead"
    assert state.stage_since == LATER
    assert transition is not None
    assert (transition.from_stage, transition.to_stage) == (stage, "lead")


@pytest.mark.parametrize("stage", [None, "prospect", "lead"])
def test_first_purchase_makes_a_new_customer(stage):
    state, transition = _purchase(_in(stage))

    assert state.stage == "new_customer"
    assert transition is not None
    assert not transition.reactivation


def test_second_purchase_makes_an_active_customer():
    new_customer, _ = _purchase(CustomerState())

    state, transition = _purchase(new_customer, LATER + timedelta(days=1))

    assert state.stage == "active"
    assert transition is not None
    assert not transition.reactivation
    assert state.reactivations == 0


@pytest.mark.parametrize("stage", ["silent", "churned"])
def test_purchase_after_silence_or_churn_is_a_reactivation_to_active(stage):
    state, transition = _purchase(_in(stage, orders=3))

    assert state.stage == "active"
    assert transition is not None
    assert transition.reactivation
    assert state.reactivations == 1


def test_purchase_by_a_churned_customer_who_never_bought_wins_them_back():
    """A prospect who closed their account and then buys is a paying customer again,
    not one the funnel still counts as churned."""
    registered, _ = move(CustomerState(), "registered", AT)
    churned, _ = move(registered, "closed", AT + timedelta(days=1))

    state, transition = _purchase(churned)

    assert state.stage == "active"
    assert transition is not None
    assert transition.reactivation


@pytest.mark.parametrize("stage", ["prospect", "lead", "new_customer", "active", "loyal", "silent"])
def test_closing_the_account_churns_the_customer(stage):
    state, transition = move(_in(stage, orders=1), "closed", LATER)

    assert state.stage == "churned"
    assert transition is not None
    assert transition.from_stage == stage


@pytest.mark.parametrize(
    ("stage", "trigger"),
    [
        ("active", "registered"),
        ("lead", "registered"),
        ("new_customer", "engaged"),
        ("churned", "engaged"),
        ("churned", "closed"),
        ("loyal", "repeat_purchase"),
        ("active", "repeat_purchase"),
        ("lead", "engaged"),
        (None, "closed"),
    ],
)
def test_a_trigger_not_in_the_table_leaves_the_state_unchanged(stage, trigger):
    before = _in(stage, orders=2)

    state, transition = move(before, trigger, LATER)

    assert state == before
    assert transition is None


@given(
    triggers=st.lists(
        st.sampled_from(["registered", "engaged", "first_purchase", "repeat_purchase", "closed"]),
        max_size=12,
    )
)
def test_every_transition_made_is_a_row_of_the_table(triggers):
    state = CustomerState()
    for step, trigger in enumerate(triggers):
        before = state.stage
        state, transition = move(state, trigger, AT + timedelta(days=step))
        if transition is None:
            assert state.stage == before
        else:
            assert TRANSITIONS[(before, trigger)] == state.stage == transition.to_stage
            assert state.stage_since == transition.at


def test_record_purchase_counts_orders_and_revenue():
    state = record_purchase(record_purchase(CustomerState(), 1000, AT), 2500, LATER)

    assert (state.orders, state.revenue_minor) == (2, 3500)
    assert (state.first_purchase_at, state.last_purchase_at) == (AT, LATER)


def test_record_purchase_keeps_first_and_last_dates_when_orders_arrive_out_of_order():
    state = record_purchase(record_purchase(CustomerState(), 1000, LATER), 1000, AT)

    assert (state.first_purchase_at, state.last_purchase_at) == (AT, LATER)


def test_record_purchase_does_not_move_the_stage():
    assert record_purchase(_in("lead"), 1000, AT).stage == "lead"


@pytest.mark.parametrize(("refund", "left"), [(400, 600), (1000, 0), (5000, 0)])
def test_record_refund_lowers_revenue_but_never_below_zero(refund, left):
    state = replace(CustomerState(), orders=1, revenue_minor=1000)

    after = record_refund(state, refund)

    assert after.revenue_minor == left
    assert after.orders == 1


@pytest.mark.parametrize(("orders", "trigger"), [(1, "first_purchase"), (2, "repeat_purchase")])
def test_purchase_trigger_depends_on_the_orders_counted(orders, trigger):
    assert purchase_trigger(CustomerState(orders=orders)) == trigger
