"""The satisfaction figures' 95 % intervals on known counts, computed by hand (and, for
Wilson and Student t, textbook values), and the channel and complaint figures'
definitions."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from services.feedback.domain import scores
from services.feedback.domain.channels import ChannelCounts, Revenue, figures
from services.feedback.domain.complaint_figures import Filed
from services.feedback.domain.complaint_figures import figures as complaint_figures
from services.feedback.domain.statistics import (
    Interval,
    mean_interval,
    nps_interval,
    t_quantile,
    wilson_interval,
)


def test_the_nps_interval_is_the_adjusted_wald_one():
    # 5 promoters, 3 passives, 2 detractors: z²/4 = 0.9604 added to P and D, n' = 11.9207;
    # p' = 0.50000, d' = 0.24834, NPS' = 0.25166, var = (p' + d' − NPS'²)/n' = 0.057464,
    # ±1.96·0.23972 = ±0.46984 → [−21.82, 72.15].
    assert nps_interval(5, 3, 2) == Interval(-21.82, 72.15)


def test_an_all_promoter_nps_at_small_n_keeps_a_wide_interval():
    # The plain Wald interval would be [100, 100]: a certainty one answer cannot give.
    one = nps_interval(1, 0, 0)
    assert one is not None and one.high == 100 and one.low < 0
    many = nps_interval(1000, 0, 0)
    assert many is not None and many.low > 99


def test_the_nps_interval_narrows_as_root_n():
    small, large = nps_interval(50, 30, 20), nps_interval(5000, 3000, 2000)
    assert small is not None and large is not None
    ratio = (small.high - small.low) / (large.high - large.low)
    assert ratio == pytest.approx(10, rel=0.02)


def test_no_answers_have_no_interval():
    assert nps_interval(0, 0, 0) is None
    assert wilson_interval(0, 0) is None
    assert mean_interval({4: 1}, 1, 5) is None


def test_a_share_has_the_wilson_interval():
    # 8 satisfied of 10: the textbook Wilson 95 % interval is [49.02 %, 94.33 %].
    assert wilson_interval(8, 10) == Interval(49.02, 94.33)
    assert wilson_interval(0, 10) == Interval(0, 27.75)


def test_an_average_has_the_student_t_interval():
    # 1, 2, 3, 4, 5: mean 3, s = √2.5, t(0.975, 4) = 2.776445 → 3 ± 1.9633.
    assert mean_interval({1: 1, 2: 1, 3: 1, 4: 1, 5: 1}, 1, 5) == Interval(1.04, 4.96)
    # Clipped to the scale: ten answers of 7 and one of 6 cannot average above 7.
    found = mean_interval({7: 10, 6: 1}, 1, 7)
    assert found is not None and found.high == 7


def test_every_score_carries_its_interval():
    found = scores({("nps", 10): 5, ("nps", 7): 3, ("nps", 0): 2, ("csat", 5): 8, ("csat", 2): 2})
    assert found["nps"]["score"] == 30.0
    assert found["nps"]["interval"] == Interval(-21.82, 72.15)
    assert found["csat"]["satisfied_interval"] == Interval(49.02, 94.33)
    assert found["ces"]["interval"] is None


def test_channel_figures_follow_their_definitions():
    web = ChannelCounts(
        customers=4,
        revenue=[Revenue("EUR", 3, 1000), Revenue("CNY", 1, 99)],
        complaints=1,
        complaining_customers=1,
        nps_counts={10: 2, 3: 1},
        preferred_by=3,
    )
    store = ChannelCounts(customers=1, revenue=[Revenue("EUR", 1, 500)], preferred_by=1)
    phone = ChannelCounts(complaints=2)

    phone_figures, store_figures, web_figures = figures(
        {"web": web, "store": store, "phone": phone}
    )

    assert web_figures["orders"] == 4
    assert web_figures["revenue"] == [
        {"currency": "CNY", "orders": 1, "revenue_minor": 99, "average_order_minor": 99},
        # 1000 / 3 = 333.33 → 333
        {"currency": "EUR", "orders": 3, "revenue_minor": 1000, "average_order_minor": 333},
    ]
    assert web_figures["complaint_rate"] == 0.25
    assert web_figures["nps"]["score"] == pytest.approx(100 / 3, abs=0.05)
    assert (web_figures["preferred_by"], web_figures["preferred_share"]) == (3, 0.75)
    assert phone_figures["complaint_rate"] is None and phone_figures["complaints"] == 2
    assert store_figures["preferred_share"] == 0.25


def test_the_average_order_rounds_half_up():
    assert Revenue("EUR", 2, 3).average_order_minor == 2
    assert Revenue("EUR", 4, 2).average_order_minor == 1
    assert Revenue("EUR", 3, 2).average_order_minor == math.floor(2 / 3 + 0.5)


def test_complaint_figures_count_the_sla_and_the_median_resolution():
    t0 = datetime(2026, 10, 1, tzinfo=UTC)
    due = t0 + timedelta(hours=24)
    filed = [
        Filed("billing", t0, due, t0 + timedelta(hours=2)),  # met
        Filed("billing", t0, due, t0 + timedelta(hours=30)),  # missed, resolved late
        Filed("billing", t0, due, None),  # missed: open past due at now
        Filed("billing", t0, due, t0 + timedelta(hours=5)),  # met
        Filed("delivery", t0, t0 + timedelta(days=9), None),  # undecided: open, not yet due
    ]

    billing, delivery = complaint_figures(filed, now=t0 + timedelta(days=2))

    assert (billing.opened, billing.resolved, billing.sla_met, billing.sla_missed) == (4, 3, 2, 2)
    assert billing.sla_attainment_pct == 50.0
    assert billing.sla_interval == wilson_interval(2, 4)
    assert billing.median_resolution_hours == 5.0  # of 2, 5 and 30 hours
    assert (delivery.sla_met, delivery.sla_missed, delivery.sla_attainment_pct) == (0, 0, None)
    assert delivery.median_resolution_hours is None


def test_the_t_quantile_matches_scipy_without_importing_it():
    from scipy.stats import t as student_t

    for degrees in [*range(1, 200), 500, 1000, 100_000]:
        assert t_quantile(degrees) == pytest.approx(student_t.ppf(0.975, degrees), abs=1e-5)
