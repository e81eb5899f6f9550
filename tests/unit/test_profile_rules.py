"""Profile rules: how events fold into the customer 360, and how a survivor's 360 counts
the customers merged into it. (Identity resolution: test_profile_resolution.py.)"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.profile.domain import combine, fold, new_view
from shared.events.activity import CustomerRegistered, OrderRefunded, PurchaseCompleted
from shared.events.feedback import ComplaintOpened, ComplaintResolved, SurveyAnswered
from shared.events.lifecycle import ChurnRiskChanged, RiskReason, StageCause, StageChanged
from shared.events.loyalty import PointsEarned, TierChanged

TENANT = "tenant-1"
AT = datetime(2026, 11, 20, 10, 15, tzinfo=UTC)
LATER = AT + timedelta(days=3)
ALICE = uuid.UUID("00000000-0000-0000-0000-00000000000a")
BOB = uuid.UUID("00000000-0000-0000-0000-00000000000b")


def _view() -> dict[str, Any]:
    return new_view(TENANT, ALICE, AT)


def _purchase(amount_minor: int = 10000, currency: str = "EUR") -> PurchaseCompleted:
    return PurchaseCompleted(
        order_id="O-1", amount_minor=amount_minor, currency=currency, channel="web"
    )


def test_new_view_is_a_member_with_nothing_yet():
    view = _view()

    assert (view["tier"], view["points_balance"], view["orders"], view["stage"]) == (
        "member",
        0,
        0,
        None,
    )
    assert view["updated_at"] == AT


def test_purchase_counts_the_order_revenue_currency_and_last_purchase():
    view = _view()

    assert fold(view, _purchase(10000), LATER)
    assert fold(view, _purchase(2500), AT)

    assert (view["orders"], view["revenue_minor"], view["currency"]) == (2, 12500, "EUR")
    assert view["last_purchase_at"] == LATER


def test_purchase_in_another_currency_counts_the_order_but_not_the_revenue():
    view = _view()
    fold(view, _purchase(10000, "EUR"), AT)

    fold(view, _purchase(99999, "JPY"), LATER)

    assert (view["orders"], view["revenue_minor"], view["currency"]) == (2, 10000, "EUR")


@pytest.mark.parametrize(("refund", "left"), [(4000, 6000), (10000, 0), (25000, 0)])
def test_refund_lowers_revenue_but_never_below_zero(refund, left):
    """Kept signed, so the order of refunds and purchases cannot matter; the 360 shows
    at least 0 (``views``)."""
    view = _view()
    fold(view, _purchase(10000), AT)

    assert fold(view, OrderRefunded(order_id="O-1", amount_minor=refund), LATER)

    assert view["revenue_minor"] == 10000 - refund
    assert max(0, view["revenue_minor"]) == left
    assert view["orders"] == 1


def test_refund_in_another_currency_leaves_revenue_alone():
    view = _view()
    fold(view, _purchase(10000, "EUR"), AT)

    fold(view, OrderRefunded(order_id="O-1", amount_minor=500, currency="USD"), LATER)

    assert view["revenue_minor"] == 10000


def test_stage_change_sets_stage_and_since():
    view = _view()
    change = StageChanged.model_validate(
        {
            "from": "lead",
            "to": "new_customer",
            "at": LATER,
            "cause": StageCause(kind="event", ref="e"),
        }
    )

    assert fold(view, change, LATER)
    assert (view["stage"], view["stage_since"]) == ("new_customer", LATER)


def test_churn_risk_sets_score_level_and_reasons_as_plain_dicts():
    view = _view()
    reason = RiskReason(code="overdue_vs_usual_gap", weight=0.4, detail="late")

    fold(view, ChurnRiskChanged(score=72, level="high", reasons=[reason], at=LATER), LATER)

    assert (view["churn_score"], view["churn_level"]) == (72, "high")
    assert view["churn_reasons"] == [
        {"code": "overdue_vs_usual_gap", "weight": 0.4, "detail": "late"}
    ]


def test_points_earned_sets_balance_pending_and_tier():
    view = _view()
    earned = PointsEarned(
        entry_id="e-1",
        points=1299,
        order_id="O-1",
        rule="base",
        balance_after=300,
        pending_after=1299,
        tier="silver",
        at=LATER,
    )

    fold(view, earned, LATER)

    assert (view["points_balance"], view["points_pending"], view["tier"]) == (300, 1299, "silver")


def test_tier_change_sets_the_tier():
    view = _view()

    fold(view, TierChanged(from_tier="member", to_tier="gold", cause="spend", at=LATER), LATER)

    assert view["tier"] == "gold"


def test_complaint_opened_sets_the_open_complaint_count():
    view = _view()
    opened = ComplaintOpened(
        complaint_id="c-1",
        complaint_ref="T-1",
        severity="high",
        category="delivery",
        opened_at=AT,
        due_at=LATER,
        open_complaints=2,
    )

    fold(view, opened, AT)

    assert view["open_complaints"] == 2


def test_nps_answer_sets_last_nps():
    view = _view()

    assert fold(view, SurveyAnswered(survey="nps", score=3, category="detractor", at=AT), AT)
    assert view["last_nps"] == 3


@pytest.mark.parametrize("survey", ["csat", "ces"])
def test_other_survey_answers_do_not_touch_last_nps(survey):
    view = _view()

    assert not fold(view, SurveyAnswered(survey=survey, score=4, category=None, at=AT), AT)
    assert view == _view()


def test_unrelated_payload_leaves_the_view_unchanged_and_says_so():
    view = _view()

    assert not fold(view, CustomerRegistered(channel="web"), AT)
    assert view == _view()


def test_complaint_resolved_sets_the_open_complaint_count_it_carries():
    view = _view()
    view["open_complaints"] = 2
    resolved = ComplaintResolved(
        complaint_id="c-1",
        complaint_ref="T-1",
        severity="high",
        opened_at=AT,
        resolved_at=LATER,
        within_sla=False,
        compensation_points=0,
        open_complaints=1,
    )

    assert fold(view, resolved, LATER)
    assert view["open_complaints"] == 1


def _bought(customer_id: uuid.UUID, amount_minor: int, at: datetime, currency: str = "EUR"):
    view = new_view(TENANT, customer_id, AT)
    fold(view, _purchase(amount_minor, currency), at)
    return view


def test_a_survivor_counts_the_purchases_of_the_customers_merged_into_it():
    survivor = _bought(ALICE, 10000, AT)
    survivor["stage"], survivor["tier"] = "active", "gold"
    merged = _bought(BOB, 2500, LATER)
    merged["stage"], merged["tier"] = "new_customer", "member"

    joined = combine(survivor, [merged])

    assert (joined["orders"], joined["revenue_minor"], joined["currency"]) == (2, 12500, "EUR")
    assert joined["last_purchase_at"] == LATER
    assert (joined["customer_id"], joined["stage"], joined["tier"]) == (ALICE, "active", "gold")


def test_a_survivor_without_purchases_takes_the_merged_currency():
    joined = combine(new_view(TENANT, ALICE, AT), [_bought(BOB, 2500, LATER, "CNY")])

    assert (joined["orders"], joined["revenue_minor"], joined["currency"]) == (1, 2500, "CNY")


def test_revenue_in_another_currency_than_the_survivors_is_not_added():
    joined = combine(_bought(ALICE, 10000, AT), [_bought(BOB, 99999, LATER, "JPY")])

    assert (joined["orders"], joined["revenue_minor"], joined["currency"]) == (2, 10000, "EUR")


def test_a_customer_nobody_merged_into_is_its_own_360():
    view = _bought(ALICE, 10000, AT)

    assert combine(view, []) == view
