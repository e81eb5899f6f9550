"""Tiers from rolling qualifying spend: upgrade at once, downgrade only at period end."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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


def requalify(
    rules: Tiers, floor: str, since: datetime | None, lots: Sequence[Lot]
) -> tuple[str, datetime | None]:
    """The tier and its review time as the purchases since the last review earned them,
    counted as they stand now (net of refunds): from the tier that review left
    (``floor``; the lowest tier and ``since=None`` for an account never reviewed), each
    purchase raises it when the rolling spend at its time reaches a higher tier. So what
    a refund took back no longer raises it, and nothing the review granted is lost."""
    tier = floor
    review_at = next_review(rules, floor, since) if since is not None else None
    bought = [
        lot
        for lot in lots
        if lot.currency == rules.currency and (since is None or lot.earned_at > since)
    ]
    for lot in sorted(bought, key=lambda lot: lot.earned_at):
        moved = upgrade(rules, tier, qualifying_spend(rules, lots, lot.earned_at))
        if moved is not None:
            tier, review_at = moved, next_review(rules, moved, lot.earned_at)
    return tier, review_at
