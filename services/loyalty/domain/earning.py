"""How many points a purchase earns, and which rules said so."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from services.loyalty.domain.rules import EarningRules
from shared.money import minor_unit_exponent


@dataclass(frozen=True)
class Item:
    amount_minor: int
    category: str | None = None


@dataclass(frozen=True)
class Purchase:
    amount_minor: int
    currency: str
    channel: str
    at: datetime
    items: tuple[Item, ...] = ()


@dataclass(frozen=True)
class Award:
    points: int
    rule: str


def points_for_purchase(
    rules: EarningRules, purchase: Purchase, tier: str, first_purchase: bool
) -> Award:
    """Base rate per currency unit × tier × channel × campaigns, category multipliers on
    the items they name, rounded down, capped per order; the first purchase adds its
    bonus after the cap. The rule text lists every factor that applied."""
    rate = rules.points_per_unit.get(purchase.currency, rules.default_points_per_unit)
    units = _weighted_units(rules, purchase)
    why = [f"base:{purchase.currency}x{rate}"]
    why += sorted(
        {
            f"category:{i.category}x{rules.category_multipliers[i.category]}"
            for i in purchase.items
            if i.category in rules.category_multipliers
        }
    )
    factor = rate
    for name, multiplier in _multipliers(rules, purchase, tier):
        factor *= multiplier
        why.append(f"{name}x{multiplier}")
    points = int((units * factor).to_integral_value(ROUND_FLOOR))
    if rules.max_points_per_order is not None and points > rules.max_points_per_order:
        points = rules.max_points_per_order
        why.append(f"cap:{points}")
    if first_purchase and rules.first_purchase_bonus:
        points += rules.first_purchase_bonus
        why.append(f"first_purchase:+{rules.first_purchase_bonus}")
    return Award(points, " ".join(why))


def _multipliers(rules: EarningRules, purchase: Purchase, tier: str) -> list[tuple[str, Decimal]]:
    found = []
    if tier in rules.tier_multipliers and rules.tier_multipliers[tier] != 1:
        found.append((f"tier:{tier}", rules.tier_multipliers[tier]))
    if purchase.channel in rules.channel_multipliers:
        found.append((f"channel:{purchase.channel}", rules.channel_multipliers[purchase.channel]))
    found.extend(
        (f"campaign:{c.name}", c.multiplier)
        for c in rules.campaigns
        if c.applies(purchase.at, tier)
    )
    return found


def _weighted_units(rules: EarningRules, purchase: Purchase) -> Decimal:
    """Currency units of the order, the items of a multiplied category counted at their
    multiplier (never more item value than the order's amount)."""
    weighted = Decimal(purchase.amount_minor)
    left = purchase.amount_minor
    for item in purchase.items:
        multiplier = rules.category_multipliers.get(item.category or "")
        share = min(item.amount_minor, left)
        left -= share
        if multiplier is not None:
            weighted += share * (multiplier - 1)
    return weighted / (10 ** minor_unit_exponent(purchase.currency))
