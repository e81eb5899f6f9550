"""Survey rules: escalation steps, the invitation throttle and the satisfaction scores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.feedback.domain import Occasion, escalate, plan_invitations, scores
from services.feedback.domain.config import Escalation, Invitations
from services.feedback.domain.definitions import defaults
from services.feedback.domain.statistics import mean_interval, nps_interval, wilson_interval

T0 = datetime(2026, 5, 1, 9, tzinfo=UTC)
POLICY = Escalation(repeat_hours=24, max_level=3)
RULES = Invitations(csat_after_hours=24, throttle_days=30, expires_after_days=14)
ALICE = ("t", "alice")


def test_nothing_is_escalated_before_the_deadline():
    assert escalate(POLICY, T0, 0, T0 - timedelta(seconds=1)) is None


def test_a_breached_complaint_is_escalated_to_level_one_with_its_overdue_time():
    step = escalate(POLICY, T0, 0, T0 + timedelta(hours=2))

    assert step is not None
    assert (step.level, step.overdue_by) == (1, timedelta(hours=2))
    assert step.next_at == T0 + timedelta(hours=24)


def test_each_further_level_falls_due_a_repeat_later_and_the_top_level_is_final():
    assert escalate(POLICY, T0, 1, T0 + timedelta(hours=23)) is None
    second = escalate(POLICY, T0, 1, T0 + timedelta(hours=24))
    assert second is not None and second.level == 2
    assert second.next_at == T0 + timedelta(hours=48)
    third = escalate(POLICY, T0, 2, T0 + timedelta(days=10))
    assert third is not None and (third.level, third.next_at) == (3, None)
    assert escalate(POLICY, T0, 3, T0 + timedelta(days=100)) is None


def test_a_late_sweep_escalates_one_level_at_a_time():
    step = escalate(POLICY, T0, 0, T0 + timedelta(days=5))

    assert step is not None and step.level == 1


def occasion(order: str, at: datetime, who: tuple[str, str] = ALICE) -> Occasion:
    return Occasion(who, "purchase", order, at)


def plan(rules, occasions, latest):
    """Plan with the rule file's default surveys for tenant ``t``."""
    return plan_invitations({"t": defaults(rules)}, occasions, latest)


def test_a_purchase_earns_a_csat_invitation_after_the_delay():
    [planned] = plan(RULES, [occasion("O-1", T0)], {})

    assert (planned.survey, planned.due_at) == ("csat", T0 + timedelta(hours=24))


def test_the_throttle_allows_one_invitation_per_customer_per_period():
    purchases = [
        occasion("O-1", T0),
        occasion("O-2", T0 + timedelta(days=3)),
        occasion("O-3", T0 + timedelta(days=30)),
        occasion("O-4", T0, who=("t", "bob")),
    ]

    planned = plan(RULES, purchases, {})

    assert [p.occasion.ref for p in planned] == ["O-1", "O-4", "O-3"]


def test_an_earlier_invitation_in_the_database_counts_against_the_throttle():
    earlier = {(ALICE, "csat", "purchase"): T0 - timedelta(days=29)}

    assert plan(RULES, [occasion("O-1", T0 - timedelta(days=1))], earlier) == []
    assert len(plan(RULES, [occasion("O-2", T0 + timedelta(days=2))], earlier)) == 1


def test_an_nps_relationship_survey_has_its_own_cadence():
    rules = Invitations(throttle_days=7, nps_every_days=90)
    purchases = [occasion("O-1", T0), occasion("O-2", T0 + timedelta(days=10))]

    planned = plan(rules, purchases, {})

    assert sorted((p.occasion.ref, p.survey) for p in planned) == [
        ("O-1", "csat"),
        ("O-1", "nps"),
        ("O-2", "csat"),
    ]


def test_no_answers_score_null_not_zero():
    assert scores({}) == {
        "nps": {"score": None, "responses": 0, "promoters": 0, "passives": 0, "detractors": 0,
                "interval": None},
        "csat": {"average": None, "satisfied_pct": None, "responses": 0,
                 "average_interval": None, "satisfied_interval": None},
        "ces": {"average": None, "responses": 0, "interval": None},
    }  # fmt: skip


def test_nps_is_percent_promoters_minus_percent_detractors():
    counts = {("nps", 10): 5, ("nps", 9): 1, ("nps", 8): 2, ("nps", 3): 1, ("nps", 0): 1}

    nps = scores(counts)["nps"]

    assert nps == {"score": 40.0, "responses": 10, "promoters": 6, "passives": 2, "detractors": 2,
                   "interval": nps_interval(6, 2, 2)}  # fmt: skip


def test_all_detractors_score_minus_one_hundred():
    assert scores({("nps", 6): 3})["nps"]["score"] == -100.0


def test_csat_average_and_share_satisfied_and_ces_average():
    counts = {("csat", 5): 2, ("csat", 4): 1, ("csat", 1): 1, ("ces", 2): 1, ("ces", 7): 2}

    result = scores(counts)

    assert result["csat"] == {"average": 3.75, "satisfied_pct": 75.0, "responses": 4,
                              "average_interval": mean_interval({5: 2, 4: 1, 1: 1}, 1, 5),
                              "satisfied_interval": wilson_interval(3, 4)}  # fmt: skip
    assert result["ces"] == {"average": 5.33, "responses": 3,
                             "interval": mean_interval({2: 1, 7: 2}, 1, 7)}  # fmt: skip
    assert result["nps"]["score"] is None
