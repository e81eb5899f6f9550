"""Loyalty earning: how many points a purchase earns, and the balances it leaves."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.loyalty.domain import BASE_RULE, balances_after, points_for_purchase


@pytest.mark.parametrize(
    ("amount_minor", "currency", "points"),
    [
        (129900, "CNY", 1299),
        (1299, "JPY", 1299),
        (1299, "KWD", 1),
        (99, "EUR", 0),
        (199, "USD", 1),
        (0, "EUR", 0),
    ],
)
def test_one_point_per_whole_currency_unit(amount_minor, currency, points):
    assert points_for_purchase(amount_minor, currency).points == points


def test_earning_names_the_rule_that_granted_it():
    assert points_for_purchase(129900, "CNY").rule == BASE_RULE


def test_balances_after_gives_the_balance_after_each_entry():
    assert balances_after(100, [10, 20, 30]) == [50, 70, 100]


def test_balances_after_no_entries_is_empty():
    assert balances_after(100, []) == []


@given(
    final_balance=st.integers(min_value=0, max_value=10**9),
    points=st.lists(st.integers(min_value=-500, max_value=5000), max_size=20),
)
def test_balances_after_ends_at_the_final_balance_and_steps_by_each_entry(final_balance, points):
    after = balances_after(final_balance, points)

    assert len(after) == len(points)
    if points:
        assert after[-1] == final_balance
        assert after[0] - points[0] == final_balance - sum(points)
    for previous, current, entry in zip(after, after[1:], points[1:], strict=False):
        assert current - previous == entry
