"""Goodwill caps: how many of the points asked for a complaint may be granted.

Compensation on resolution is cut to ``max_compensation_per_complaint``; goodwill on
opening and compensation together are cut so that the customer's grants within any
``goodwill_period_days`` never pass ``max_goodwill_per_customer``. The grants counted
are the account's own lots (``complaint:…`` and ``compensation:…``) earned after the
period's start, those dated later than this grant included: events arrive out of
order, and counting them keeps every window of the period under the cap whatever the
order (tested by property in tests/unit/test_loyalty_ledger_properties.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.loyalty.domain.ledger import Lot
from services.loyalty.domain.rules import Goodwill

GOODWILL_REFS = ("complaint:", "compensation:")


@dataclass(frozen=True)
class Grant:
    points: int
    rule: str


def capped(
    rules: Goodwill,
    lots: Iterable[Lot],
    asked: int,
    rule: str,
    at: datetime,
    *,
    per_complaint: int | None = None,
) -> Grant:
    """The points to grant of ``asked`` at ``at``, and the rule text naming every cap
    that cut them (with what was asked)."""
    points, why = asked, [rule]
    if per_complaint is not None and points > per_complaint:
        points = per_complaint
        why.append(f"cap:per_complaint:{per_complaint}")
    room = max(0, rules.max_goodwill_per_customer - granted_since(rules, lots, at))
    if points > room:
        points = room
        why.append(
            f"cap:per_customer:{rules.max_goodwill_per_customer}/{rules.goodwill_period_days}d"
        )
    if points < asked:
        why.append(f"asked:{asked}")
    return Grant(points, " ".join(why))


def granted_since(rules: Goodwill, lots: Iterable[Lot], at: datetime) -> int:
    """Goodwill and compensation granted after the start of the period ending at ``at``."""
    since = at - timedelta(days=rules.goodwill_period_days)
    return sum(
        lot.points for lot in lots if lot.ref.startswith(GOODWILL_REFS) and lot.earned_at > since
    )
