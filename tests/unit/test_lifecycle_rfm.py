"""RFM statistics and adaptive silence: a weekly buyer is overdue long before a yearly one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.lifecycle.domain.config import Silence
from services.lifecycle.domain.rfm import (
    Purchase,
    churn_due,
    frequency_declining,
    rfm_of,
    silence_due,
)

START = datetime(2025, 1, 6, 12, tzinfo=UTC)
SILENCE = Silence()  # 90 days, or 3 usual gaps once 3 occasions show a rhythm


def _every(days: int, count: int) -> list[Purchase]:
    return [Purchase(f"O{i}", START + timedelta(days=days * i), 1000) for i in range(count)]


def test_statistics_count_orders_revenue_and_gaps():
    rfm = rfm_of(_every(7, 4))

    assert (rfm.orders, rfm.revenue_minor, rfm.occasions) == (4, 4000, 4)
    assert rfm.usual_gap_days == 7
    assert (rfm.first_purchase_at, rfm.last_purchase_at) == (START, START + timedelta(days=21))


def test_purchases_on_one_day_are_one_occasion():
    same_day = [Purchase("A", START, 500), Purchase("B", START + timedelta(hours=3), 700)]

    rfm = rfm_of(same_day)

    assert (rfm.orders, rfm.occasions, rfm.usual_gap_days) == (2, 1, None)


def test_refunds_lower_revenue_and_a_full_refund_removes_the_order():
    orders = [Purchase("A", START, 1000, refunded_minor=1000), Purchase("B", START, 800, 300)]

    rfm = rfm_of(orders)

    assert (rfm.orders, rfm.revenue_minor, rfm.refunded_minor, rfm.refunds) == (1, 500, 1300, 2)


def test_a_weekly_buyer_goes_silent_after_three_weeks():
    rfm = rfm_of(_every(7, 6))

    assert silence_due(rfm, SILENCE) == rfm.last_purchase_at + timedelta(days=21)


def test_a_yearly_buyer_goes_silent_at_the_fixed_threshold_not_three_years():
    rfm = rfm_of(_every(365, 4))

    assert silence_due(rfm, SILENCE) == rfm.last_purchase_at + timedelta(days=90)


def test_two_occasions_are_not_yet_a_rhythm():
    rfm = rfm_of(_every(7, 2))

    assert silence_due(rfm, SILENCE) == rfm.last_purchase_at + timedelta(days=90)


def test_churn_is_due_at_the_fixed_threshold_and_nothing_is_due_without_purchases():
    rfm = rfm_of(_every(7, 6))

    assert churn_due(rfm, SILENCE) == rfm.last_purchase_at + timedelta(days=365)
    assert silence_due(rfm_of([]), SILENCE) is None


def test_a_gap_well_over_the_earlier_rhythm_is_frequency_declining():
    steady = _every(7, 5)
    slowing = [*steady, Purchase("late", steady[-1].at + timedelta(days=30), 1000)]

    assert not frequency_declining(rfm_of(steady), 1.5)
    assert frequency_declining(rfm_of(slowing), 1.5)


def test_how_much_longer_a_gap_must_be_is_the_businesss_choice():
    steady = _every(7, 5)
    slowing = [*steady, Purchase("late", steady[-1].at + timedelta(days=30), 1000)]

    assert not frequency_declining(rfm_of(slowing), 5.0)  # 30 days is not five weeks


def test_a_free_order_counts_for_frequency_and_recency_but_adds_no_revenue():
    orders = [Purchase("A", START, 1000), Purchase("FREE", START + timedelta(days=7), 0)]

    rfm = rfm_of(orders)

    assert (rfm.orders, rfm.occasions, rfm.revenue_minor) == (2, 2, 1000)
    assert rfm.last_purchase_at == START + timedelta(days=7)
    assert silence_due(rfm, SILENCE) == START + timedelta(days=97)


def test_a_customer_whose_only_orders_were_free_has_statistics_and_timers():
    rfm = rfm_of([Purchase("F1", START, 0), Purchase("F2", START + timedelta(days=3), 0)])

    assert (rfm.orders, rfm.first_purchase_at) == (2, START)
    assert churn_due(rfm, SILENCE) == START + timedelta(days=3 + 365)


def test_a_refunded_order_does_not_count_and_a_refund_waiting_for_its_order_is_no_order():
    orders = [
        Purchase("PAID", START, 1000).refund(1000),
        Purchase("FREE", START, 0).refund(0),
        Purchase("EARLY", START, 0, 500, state="awaiting"),
    ]

    rfm = rfm_of(orders)

    assert [p.state for p in orders] == ["refunded", "refunded", "awaiting"]
    assert (rfm.orders, rfm.refunds, rfm.revenue_minor, rfm.last_purchase_at) == (0, 2, 0, None)
