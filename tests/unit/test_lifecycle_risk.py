"""The churn-risk score: behaviour and service signals, reasons ranked by weight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.lifecycle.domain import folding
from services.lifecycle.domain.bgnbd import Params
from services.lifecycle.domain.config import Risk, load_config
from services.lifecycle.domain.rfm import Purchase, rfm_of
from services.lifecycle.domain.risk import score, worth_announcing
from services.lifecycle.domain.stages import CustomerState, StageMachine
from services.lifecycle.settings import DEFAULT_CONFIG

PARAMS = Params(r=0.243, alpha=30.9, a=0.793, b=2.426)
WEIGHTS = Risk()
MACHINE = StageMachine(load_config(DEFAULT_CONFIG))
START = datetime(2026, 1, 5, 9, tzinfo=UTC)


def _weekly(count: int) -> list[Purchase]:
    return [Purchase(f"O{i}", START + timedelta(days=7 * i), 1000) for i in range(count)]


def _score(state: CustomerState, purchases: list[Purchase], at: datetime):
    return score(state, rfm_of(purchases), PARAMS, "day", at, WEIGHTS)


def test_a_weekly_buyer_who_just_bought_is_low_risk():
    orders = _weekly(8)

    risk = _score(CustomerState(stage="active"), orders, orders[-1].at + timedelta(days=1))

    assert risk.level == "low"
    assert risk.p_alive is not None and risk.p_alive > 0.9


def test_a_weekly_buyer_gone_quiet_for_two_months_is_high_risk_for_being_overdue():
    orders = _weekly(8)

    risk = _score(CustomerState(stage="active"), orders, orders[-1].at + timedelta(days=60))

    assert risk.level in ("medium", "high")
    assert risk.reasons[0].code == "overdue_vs_usual_gap"
    assert "usual gap of 7 days" in risk.reasons[0].detail


def test_a_one_time_buyer_is_judged_against_the_population_rhythm():
    once = [Purchase("O1", START, 1000)]

    soon = _score(CustomerState(stage="new_customer"), once, START + timedelta(days=2))
    late = _score(CustomerState(stage="new_customer"), once, START + timedelta(days=300))

    assert soon.p_alive is not None and late.p_alive is not None
    assert late.p_alive < soon.p_alive < 1.0
    assert late.score > soon.score
    assert late.reasons[0].code == "no_repeat_rhythm"


def test_service_signals_add_ranked_reasons_that_sum_to_the_score():
    orders = _weekly(8)
    unhappy = CustomerState(
        stage="active",
        open_complaints={"critical": 1, "low": 1},
        nps_detractor=True,
        tier_downgraded=True,
    )

    risk = _score(unhappy, orders, orders[-1].at + timedelta(days=1))

    codes = [r.code for r in risk.reasons]
    assert codes[:3] == ["open_complaint", "nps_detractor", "tier_downgrade"]
    assert risk.reasons[0].weight == 28  # critical 25 + low 3
    assert risk.score == round(sum(r.weight for r in risk.reasons))
    assert risk.level == "medium"
    assert all(r.detail for r in risk.reasons)


def test_refunds_and_a_slowing_rhythm_are_reasons():
    orders = [*_weekly(5), Purchase("late", START + timedelta(days=60), 1000, refunded_minor=1)]

    risk = _score(CustomerState(stage="active"), orders, START + timedelta(days=61))

    assert {"refunds", "frequency_declining"} <= {r.code for r in risk.reasons}


def test_the_score_is_capped_at_100():
    state = CustomerState(
        stage="active", open_complaints={"critical": 3}, nps_detractor=True, tier_downgraded=True
    )
    orders = [*_weekly(8), Purchase("R", START, 1000, refunded_minor=10)]

    assert _score(state, orders, START + timedelta(days=400)).score == 100


def test_a_change_is_announced_on_a_new_level_or_a_big_enough_move():
    orders = _weekly(8)
    risk = _score(CustomerState(stage="active"), orders, orders[-1].at)

    assert worth_announcing(None, risk, WEIGHTS)
    assert not worth_announcing((risk.score + 5, risk.level), risk, WEIGHTS)
    assert worth_announcing((risk.score + 10, risk.level), risk, WEIGHTS)
    assert worth_announcing((risk.score, "high"), risk, WEIGHTS)


def test_resolving_the_open_complaint_drops_its_reason_and_lowers_the_score():
    orders = _weekly(8)
    at = orders[-1].at + timedelta(days=1)
    unhappy = folding.complaint_opened(MACHINE, CustomerState(stage="active"), {}, "high", at)

    before = _score(unhappy.state, orders, at)
    after = _score(folding.complaint_resolved(unhappy.state, "high"), orders, at)

    assert "open_complaint" in [r.code for r in before.reasons]
    assert "open_complaint" not in [r.code for r in after.reasons]
    assert before.score - after.score == WEIGHTS.complaint["high"]
    assert worth_announcing((before.score, before.level), after, WEIGHTS)
