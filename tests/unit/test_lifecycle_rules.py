"""The lifecycle stage machine as configured by default: what moves a customer, what
guards a move, and what can never happen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.lifecycle.domain import folding
from services.lifecycle.domain.config import NO_STAGE, TRIGGERS, load_config
from services.lifecycle.domain.rfm import Purchase
from services.lifecycle.domain.stages import CustomerState, Facts, StageMachine, Transition
from services.lifecycle.settings import DEFAULT_CONFIG

AT = datetime(2026, 11, 20, 10, 15, tzinfo=UTC)
LATER = AT + timedelta(days=30)
MACHINE = StageMachine(load_config(DEFAULT_CONFIG))


def _in(stage: str | None, since: datetime = AT, **signals) -> CustomerState:
    return CustomerState(stage=stage, stage_since=since if stage else None, **signals)  # type: ignore[arg-type]


def _orders(count: int, end: datetime = AT, every_days: int = 7) -> dict[str, Purchase]:
    return {
        f"O{i}": Purchase(f"O{i}", end - timedelta(days=every_days * (count - 1 - i)), 1000)
        for i in range(count)
    }


def _buy(state, orders, at=LATER, order="NEW"):
    return folding.purchased(MACHINE, state, orders, order, 1000, at)


def test_registration_makes_a_prospect():
    state, transition = MACHINE.move(CustomerState(), "registered", AT)

    assert state.stage == "prospect"
    assert transition == Transition(None, "prospect", AT, reactivation=False)


@pytest.mark.parametrize("stage", [None, "prospect"])
def test_engagement_makes_a_lead(stage):
    state, transition = MACHINE.move(_in(stage), "engaged", LATER)

    assert state.stage == "lead"
    assert state.stage_since == LATER
    assert transition is not None
    assert (transition.from_stage, transition.to_stage) == (stage, "lead")


@pytest.mark.parametrize("stage", [None, "prospect", "lead"])
def test_first_purchase_makes_a_new_customer(stage):
    folded = _buy(_in(stage), {})

    assert folded.state.stage == "new_customer"
    assert folded.transition is not None
    assert not folded.transition.reactivation


def test_second_purchase_makes_an_active_customer():
    folded = _buy(_in("new_customer"), _orders(1))

    assert folded.state.stage == "active"
    assert folded.transition is not None
    assert not folded.transition.reactivation
    assert folded.state.reactivations == 0


def test_the_same_order_twice_counts_once_and_moves_nothing():
    first = _buy(_in("lead"), {}, order="O-1")

    again = _buy(first.state, first.purchases, LATER + timedelta(hours=1), order="O-1")

    assert again.state == first.state
    assert again.transition is None
    assert len(again.purchases) == 1


@pytest.mark.parametrize("stage", ["silent", "churned"])
def test_purchase_after_silence_or_churn_is_a_reactivation_to_active(stage):
    folded = _buy(_in(stage), _orders(3))

    assert folded.state.stage == "active"
    assert folded.transition is not None
    assert folded.transition.reactivation
    assert folded.state.reactivations == 1


def test_purchase_by_a_churned_customer_who_never_bought_wins_them_back():
    """A prospect who closed their account and then buys is a paying customer again,
    not one the funnel still counts as churned."""
    registered, _ = MACHINE.move(CustomerState(), "registered", AT)
    churned, _ = MACHINE.move(registered, "closed", AT + timedelta(days=1))

    folded = _buy(churned, {})

    assert folded.state.stage == "active"
    assert folded.transition is not None
    assert folded.transition.reactivation


@pytest.mark.parametrize("stage", ["prospect", "lead", "new_customer", "active", "loyal", "silent"])
def test_closing_the_account_churns_the_customer(stage):
    state, transition = MACHINE.move(_in(stage), "closed", LATER)

    assert state.stage == "churned"
    assert transition is not None
    assert transition.from_stage == stage


def test_the_fifth_order_in_a_year_makes_an_active_customer_loyal():
    folded = _buy(_in("active"), _orders(4, end=LATER - timedelta(days=1)))

    assert folded.state.stage == "loyal"


def test_five_orders_spread_over_more_than_a_year_do_not_make_loyal():
    folded = _buy(_in("active"), _orders(4, end=LATER - timedelta(days=100), every_days=100))

    assert folded.state.stage == "active"


def test_an_open_critical_complaint_blocks_loyalty():
    blocked = _in("active", open_complaints={"critical": 1})

    folded = _buy(blocked, _orders(4, end=LATER - timedelta(days=1)))

    assert folded.state.stage == "active"


def test_a_high_complaint_does_not_block_loyalty_by_default():
    state = _in("active", open_complaints={"high": 1})

    assert _buy(state, _orders(4, end=LATER - timedelta(days=1))).state.stage == "loyal"


def test_a_critical_complaint_ends_loyalty_and_a_minor_one_does_not():
    loyal = _in("loyal")

    critical = folding.complaint_opened(MACHINE, loyal, {}, "critical", LATER)
    minor = folding.complaint_opened(MACHINE, loyal, {}, "low", LATER)

    assert critical.state.stage == "active"
    assert critical.state.open_complaints == {"critical": 1}
    assert minor.state.stage == "loyal"


def test_refunding_the_only_order_in_full_makes_the_new_customer_a_lead_again():
    bought = _buy(_in("lead"), {}, at=AT, order="O-1")

    partial = folding.refunded(MACHINE, bought.state, bought.purchases, "O-1", 400, LATER)
    full = folding.refunded(MACHINE, partial.state, partial.purchases, "O-1", 600, LATER)

    assert partial.state.stage == "new_customer"
    assert full.state.stage == "lead"
    assert full.purchases["O-1"].refunded_minor == 1000


def test_a_refund_that_arrives_before_its_order_is_kept_for_it():
    refunded = folding.refunded(MACHINE, _in("lead"), {}, "O-1", 1000, AT)

    bought = _buy(refunded.state, refunded.purchases, LATER, order="O-1")

    assert bought.state.stage == "lead"
    assert not bought.purchases["O-1"].paid


@pytest.mark.parametrize("stage", ["new_customer", "active", "loyal"])
def test_silence_due_makes_a_buyer_silent(stage):
    state, transition = MACHINE.move(_in(stage), "silence_due", LATER)

    assert state.stage == "silent"
    assert transition is not None and not transition.reactivation


def test_churn_due_makes_a_silent_customer_churned():
    assert MACHINE.move(_in("silent"), "churn_due", LATER)[0].stage == "churned"


@pytest.mark.parametrize(
    ("stage", "trigger"),
    [
        ("active", "registered"),
        ("lead", "registered"),
        ("new_customer", "engaged"),
        ("churned", "engaged"),
        ("churned", "closed"),
        ("lead", "engaged"),
        (None, "closed"),
        ("prospect", "silence_due"),
        ("lead", "silence_due"),
        ("active", "churn_due"),
        ("churned", "silence_due"),
        ("loyal", "refunded"),
    ],
)
def test_a_trigger_without_a_rule_leaves_the_state_unchanged(stage, trigger):
    before = _in(stage)

    state, transition = MACHINE.move(before, trigger, LATER)

    assert state == before
    assert transition is None


@given(
    steps=st.lists(
        st.tuples(st.sampled_from(TRIGGERS), st.integers(min_value=-5, max_value=5)),
        max_size=15,
    )
)
def test_every_transition_made_is_a_rule_of_the_configuration(steps):
    state = CustomerState()
    at = AT
    for trigger, shift in steps:
        at += timedelta(days=shift)  # events also arrive late
        before = state
        state, transition = MACHINE.move(state, trigger, at, Facts(tuple(_orders(5).values())))
        if transition is None:
            assert state == before
        else:
            assert any(
                (before.stage or NO_STAGE) in rule.from_stages
                and rule.on == trigger
                and rule.to == transition.to_stage
                for rule in MACHINE.config.transitions
            )
            assert transition.from_stage == before.stage
            assert state.stage == transition.to_stage
            assert before.stage_since is None or transition.at >= before.stage_since


def test_no_rule_leads_back_to_no_stage():
    assert all(rule.to != NO_STAGE for rule in MACHINE.config.transitions)


def test_nps_detractor_and_tier_downgrade_are_tracked_as_signals():
    state = folding.survey_answered(_in("active"), "detractor")
    state = folding.tier_changed(state, "gold", "silver", ("member", "silver", "gold"))

    assert state.nps_detractor and state.tier_downgraded
    assert not folding.survey_answered(state, "promoter").nps_detractor
    assert not folding.tier_changed(state, "silver", "gold", ("silver", "gold")).tier_downgraded
    assert folding.survey_answered(state, None).nps_detractor  # a CSAT says nothing on NPS


def test_late_registration_does_not_make_a_buyer_a_prospect_again():
    """Events in event-time order: purchase at LATER, registration at AT arriving after."""
    bought = _buy(CustomerState(), {}, LATER)

    state, transition = MACHINE.move(bought.state, "registered", AT)

    assert state.stage == "new_customer"
    assert transition is None


def test_a_late_closure_does_not_churn_a_customer_who_bought_after_it():
    active = _buy(_in("new_customer", since=AT), _orders(1), LATER)

    state, transition = MACHINE.move(active.state, "closed", AT + timedelta(days=1))

    assert state.stage == "active"
    assert transition is None


def test_a_late_purchase_still_moves_forward_in_the_funnel():
    """A lead since LATER whose first purchase (earlier) arrives late is a new customer;
    the move is dated when the current stage began, so history stays in order."""
    folded = _buy(_in("lead", since=LATER), {}, at=AT)

    assert folded.state.stage == "new_customer"
    assert folded.transition is not None and folded.transition.at == LATER


def test_a_late_purchase_does_not_reactivate_a_silence_that_began_after_it():
    silent = _in("silent", since=LATER)

    folded = _buy(silent, _orders(3, end=AT - timedelta(days=10)), at=AT)

    assert folded.state.stage == "silent"
    assert len(folded.purchases) == 4  # the order still counts in the statistics


def test_orders_arriving_in_any_order_give_the_same_statistics():
    orders = [("O1", AT), ("O2", AT + timedelta(days=7)), ("O3", AT + timedelta(days=21))]
    forward, backward = {}, {}
    for order, at in orders:
        forward = dict(_buy(_in("lead"), forward, at, order).purchases)
    for order, at in reversed(orders):
        backward = dict(_buy(_in("lead"), backward, at, order).purchases)

    assert forward == backward


def test_resolving_a_complaint_takes_back_one_of_its_severity_and_never_goes_below_zero():
    two = folding.complaint_opened(MACHINE, _in("active"), {}, "high", AT)
    two = folding.complaint_opened(MACHINE, two.state, {}, "low", AT)

    one = folding.complaint_resolved(two.state, "high")
    none = folding.complaint_resolved(one, "low")
    unknown = folding.complaint_resolved(none, "critical")

    assert one.open_complaints == {"low": 1}
    assert none.open_complaints == {} and unknown.open_complaints == {}
    assert unknown.stage == "active"


def test_a_free_order_is_a_purchase_that_makes_a_new_customer():
    folded = folding.purchased(MACHINE, _in("lead"), {}, "FREE", 0, AT)

    assert folded.state.stage == "new_customer"
    assert folded.purchases["FREE"].paid


def test_a_second_free_order_is_a_repeat_purchase():
    first = folding.purchased(MACHINE, _in("lead"), {}, "F1", 0, AT)

    second = folding.purchased(MACHINE, first.state, first.purchases, "F2", 0, LATER)

    assert second.state.stage == "active"


def test_a_free_order_delivered_twice_counts_once():
    first = folding.purchased(MACHINE, _in("lead"), {}, "F1", 0, AT)

    again = folding.purchased(MACHINE, first.state, first.purchases, "F1", 0, LATER)

    assert again.transition is None and again.purchases == first.purchases


def test_a_refunded_free_order_is_refunded_and_no_longer_a_purchase():
    bought = folding.purchased(MACHINE, _in("lead"), {}, "F1", 0, AT)

    refunded = folding.refunded(MACHINE, bought.state, bought.purchases, "F1", 0, LATER)

    assert refunded.purchases["F1"].state == "refunded"
    assert refunded.state.stage == "lead"


def test_a_refund_before_its_free_order_is_kept_for_it():
    refunded = folding.refunded(MACHINE, _in("lead"), {}, "F1", 0, AT)

    bought = folding.purchased(MACHINE, refunded.state, refunded.purchases, "F1", 0, LATER)

    assert bought.state.stage == "lead"
    assert bought.purchases["F1"].state == "refunded"


def test_a_partial_refund_before_its_order_leaves_the_order_a_purchase():
    refunded = folding.refunded(MACHINE, _in("lead"), {}, "O-1", 400, AT)

    bought = _buy(refunded.state, refunded.purchases, LATER, order="O-1")

    assert bought.state.stage == "new_customer"
    assert bought.purchases["O-1"].refunded_minor == 400 and bought.purchases["O-1"].paid
