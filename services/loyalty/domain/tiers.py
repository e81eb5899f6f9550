"""Tiers from rolling qualifying spend: upgrade at once, downgrade only at period end."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from services.loyalty.domain.ledger import Lot
from services.loyalty.domain.rules import Tiers


def qualifying_spend(rules: Tiers, lots: Iterable[Lot], now: datetime) -> int:
    """Spend in the tier currency over the rolling window, net of refunds."""
    since = now - timedelta(days=rules.qualification_days)
    return sum(
        lot.amount_minor - lot.refunded_minor
        for lot in lots
        if lot.currency == rules.currency and since < lot.earned_at <= now
    )


def tier_for(rules: Tiers, spend_minor: int) -> str:
    """The highest tier whose threshold the spend reaches."""
    return [t.name for t in rules.levels if spend_minor >= t.min_spend_minor][-1]


def rank(rules: Tiers, tier: str) -> int:
    names = rules.names
    return names.index(tier) if tier in names else 0


def upgrade(rules: Tiers, tier: str, spend_minor: int) -> str | None:
    """The tier to move up to now, if the spend earns a higher one (never a lower one)."""
    earned = tier_for(rules, spend_minor)
    return earned if rank(rules, earned) > rank(rules, tier) else None


def review(rules: Tiers, tier: str, spend_minor: int) -> str | None:
    """At the end of a qualification period the tier follows the spend, down as well."""
    earned = tier_for(rules, spend_minor)
    return earned if earned != tier else None


def next_review(rules: Tiers, tier: str, from_at: datetime) -> datetime | None:
    """The lowest tier is never reviewed: there is nowhere lower to go."""
    if rank(rules, tier) == 0:
        return None
    return from_at + timedelta(days=rules.qualification_days)
