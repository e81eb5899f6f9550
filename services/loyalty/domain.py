"""Loyalty's rules: how many points a purchase earns. Plain Python, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from shared.money import major_units

BASE_RULE = "base:1_point_per_unit"


@dataclass(frozen=True)
class Earning:
    points: int
    rule: str


def points_for_purchase(amount_minor: int, currency: str) -> Earning:
    """One point per whole currency unit spent (129900 CNY minor = 1299.00 → 1299)."""
    return Earning(major_units(amount_minor, currency), BASE_RULE)


def balances_after(final_balance: int, points_in_order: list[int]) -> list[int]:
    """The balance after each of a customer's new entries, given the balance after all."""
    after, running = [], final_balance
    for points in reversed(points_in_order):
        after.append(running)
        running -= points
    return list(reversed(after))
