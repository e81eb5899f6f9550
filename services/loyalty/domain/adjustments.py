"""Manual adjustments: points customer service credits or debits by hand.

A credit is a lot of its own (ref ``adjustment:<Idempotency-Key>``), available at once
and expiring like every lot; a debit takes from the lots the way a redemption does,
earliest expiry first, and never more than the balance. Both are ``adjust`` entries
whose rule is ``manual:<reason>``.

The caps (``[adjustments]`` of the programme) refuse rather than cut: an operator asked
for an exact number, and a grant silently smaller than asked would be a surprise in the
customer's ledger. Manual credits counted against the per-customer cap are the account's
own ``adjustment:`` lots earned within the period before the adjustment (a debit does
not give room back: the cap bounds what one can mint by hand).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.loyalty.domain.account import Account, Notice, lot_id, notice
from services.loyalty.domain.ledger import Lot
from services.loyalty.domain.rules import Adjustments, Programme

ADJUSTMENT = "adjustment:"  # a manual adjustment's ref: this, then its Idempotency-Key
MANUAL = "manual:"  # its rule: this, then the operator's reason


@dataclass(frozen=True)
class Asked:
    """An adjustment as asked: its Idempotency-Key, the points (signed), why, by whom
    (``api-key:<id>``), when."""

    key: str
    points: int
    reason: str
    by: str | None
    at: datetime


class OverCap(Exception):
    """An adjustment a cap refuses; ``allowed`` is the most that would pass now."""

    def __init__(self, detail: str, allowed: int) -> None:
        super().__init__(detail)
        self.detail, self.allowed = detail, allowed


def credited_since(rules: Adjustments, lots: Iterable[Lot], at: datetime) -> int:
    """Points credited by hand within the period ending at ``at``."""
    since = at - timedelta(days=rules.period_days)
    return sum(
        lot.points for lot in lots if lot.ref.startswith(ADJUSTMENT) and lot.earned_at > since
    )


def check_caps(rules: Adjustments, lots: Iterable[Lot], points: int, at: datetime) -> None:
    """Raise ``OverCap`` (saying what is still allowed) unless ``points`` may be moved."""
    if abs(points) > rules.max_points:
        raise OverCap(
            f"One adjustment moves at most {rules.max_points} points either way; "
            f"{abs(points)} were asked. Split a larger correction into several adjustments.",
            rules.max_points,
        )
    if points < 0:
        return
    room = max(0, rules.max_credit_per_customer - credited_since(rules, lots, at))
    if points > room:
        raise OverCap(
            f"This customer may be credited at most {room} more points by hand now "
            f"({rules.max_credit_per_customer} within {rules.period_days} days); "
            f"{points} were asked.",
            min(room, rules.max_points),
        )


def adjust(account: Account, programme: Programme, asked: Asked) -> list[Notice]:
    """Credit (> 0) or debit (< 0) the points asked by hand, within the caps (``OverCap``)
    and, for a debit, the balance (``InsufficientPoints``)."""
    check_caps(programme.adjustments, account.ledger.lots, asked.points, asked.at)
    return adjusted(account, programme, asked, checked=True)


def adjusted(
    account: Account, programme: Programme, asked: Asked, *, checked: bool = False
) -> list[Notice]:
    """The adjustment's entry (and a credit's lot). Unchecked, for one decided before
    (a rebuild folding its event): neither caps nor balance are asked again."""
    if asked.points == 0:
        raise ValueError("an adjustment moves a non-zero number of points")
    ref, rule, at = f"{ADJUSTMENT}{asked.key}", f"{MANUAL}{asked.reason}", asked.at
    if asked.points < 0:
        entry = account.ledger.debit(-asked.points, ref, rule, at, checked=checked)
        return [notice(account, "credited", entry=entry, by=asked.by)]
    expires_at = at + timedelta(days=programme.lots.valid_days)
    lot = Lot(lot_id(account, ref), ref, asked.points, asked.points, at, at, expires_at)
    credit = account.ledger.add_lot(lot, "adjust", rule, at)  # available at once
    return [notice(account, "credited", entry=credit, lot=lot, by=asked.by)]
