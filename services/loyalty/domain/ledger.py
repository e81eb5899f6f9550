"""The points ledger of one account: append-only entries and the lots they move.

Invariants (tested by property in tests/unit/test_loyalty_ledger_properties.py):
- the balance is the sum of the entries: every change is a new entry;
- a lot's ``remaining`` never goes below zero;
- the credited lots hold exactly the positive part of the balance, so expiry by
  lot is exact and FIFO (earliest expiry first);
- a redemption (or a manual debit) never takes more than the balance; only a
  refund, and only when the programme allows it, may leave the balance negative (a debt the next
  credits repay before they fill a lot).

Pending lots (inside the return window) are not in the balance: their earn entry
is written when the window closes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Lot:
    lot_id: uuid.UUID
    ref: str
    points: int
    remaining: int
    earned_at: datetime
    available_at: datetime
    expires_at: datetime
    credited: bool = False
    amount_minor: int = 0
    currency: str | None = None
    refunded_minor: int = 0
    reversed_points: int = 0
    rule: str = ""


@dataclass(frozen=True)
class Entry:
    kind: str
    points: int
    ref: str
    rule: str
    at: datetime


@dataclass(frozen=True)
class Reversal:
    entry: Entry | None
    due: int
    recovered: int
    outcome: str  # reversed, partially_recovered, negative_balance, pending_reduced


class InsufficientPoints(Exception):
    def __init__(self, balance: int, wanted: int) -> None:
        super().__init__(f"the balance is {balance} points; {wanted} were asked for")
        self.balance, self.wanted = balance, wanted


@dataclass
class Ledger:
    balance: int = 0
    lots: list[Lot] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    changed: set[uuid.UUID] = field(default_factory=set)

    @property
    def pending(self) -> int:
        return sum(lot.remaining for lot in self.lots if not lot.credited)

    def lot_for(self, ref: str) -> Lot | None:
        return next((lot for lot in self.lots if lot.ref == ref), None)

    def _append(self, entry: Entry) -> Entry:
        self.entries.append(entry)
        self.balance += entry.points
        return entry

    def add_lot(self, lot: Lot, kind: str, rule: str, now: datetime) -> Entry | None:
        """Keep a new lot; credit it at once unless it is still inside the return window."""
        lot.rule = rule
        self.lots.append(lot)
        self.changed.add(lot.lot_id)
        return self.credit(lot, kind, rule) if lot.available_at <= now else None

    def credit(self, lot: Lot, kind: str, rule: str) -> Entry:
        """Put a lot's points in the balance; a debt (negative balance) is repaid first."""
        points = lot.remaining
        lot.remaining = max(0, lot.remaining + min(self.balance, 0))
        lot.credited = True
        self.changed.add(lot.lot_id)
        return self._append(Entry(kind, points, lot.ref, rule, lot.available_at))

    def redeem(self, points: int, ref: str, reason: str, at: datetime) -> Entry:
        """Spend points, earliest-expiring lots first; never more than the balance."""
        if points <= 0:
            raise ValueError("a redemption takes a positive number of points")
        if points > self.balance:
            raise InsufficientPoints(self.balance, points)
        return self.redeemed(points, ref, f"redemption:{reason}", at)

    def redeemed(self, points: int, ref: str, rule: str, at: datetime) -> Entry:
        """Record a redemption decided before (replayed by a rebuild) without checking
        the balance again: the customer has the voucher. Should the folded balance fall
        short, what is missing is a debt, as a refund past the balance leaves one."""
        self._take(min(points, self._available()))
        return self._append(Entry("redeem", -points, ref, rule[:300], at))

    def debit(
        self, points: int, ref: str, rule: str, at: datetime, *, checked: bool = True
    ) -> Entry:
        """Take points by hand (a manual adjustment), earliest-expiring lots first, as a
        redemption does: never more than the balance, unless ``checked`` is off for one
        decided before (a rebuild), whose shortfall is then a debt."""
        if points <= 0:
            raise ValueError("a debit takes a positive number of points")
        if checked and points > self.balance:
            raise InsufficientPoints(self.balance, points)
        self._take(min(points, self._available()))
        return self._append(Entry("adjust", -points, ref, rule[:300], at))

    def reverse(
        self, lot: Lot, refunded_minor: int, ref: str, at: datetime, *, negative_ok: bool
    ) -> Reversal:
        """Take back the share of a lot's points that the refunded share of its order earned
        (cumulative over partial refunds, rounded down so reversals never exceed earnings)."""
        lot.refunded_minor = min(lot.amount_minor, lot.refunded_minor + refunded_minor)
        earned_share = lot.points * lot.refunded_minor // max(lot.amount_minor, 1)
        due = max(0, earned_share - lot.reversed_points)
        lot.reversed_points += due
        self.changed.add(lot.lot_id)
        if not lot.credited:
            lot.remaining -= due
            return Reversal(None, due, due, "pending_reduced")
        recovered = due if negative_ok else min(due, max(self.balance, 0))
        self._take(min(recovered, self._available()), first=lot)
        outcome = "reversed" if recovered == due else "partially_recovered"
        if self.balance - recovered < 0:
            outcome = "negative_balance"
        rule = f"reverse:proportional {lot.refunded_minor}/{lot.amount_minor}"
        if recovered < due:
            rule += f" unrecovered:{due - recovered}"
        entry = self._append(Entry("reverse", -recovered, ref, rule, at))
        return Reversal(entry, due, recovered, outcome)

    def adjust(self, points: int, ref: str, rule: str, at: datetime) -> Entry:
        """Points that move to or from another ledger with no lot of their own (what an
        undone merge settles between the two sides): an ``adjust`` entry."""
        return self._append(Entry("adjust", points, ref, rule, at))

    def overclaim(self) -> int:
        """What the entries count beyond the positive part of the balance the credited
        lots hold: zero for a ledger that kept its invariant; after an undone merge gave
        each side back its own lots, the points the other side's spending took from them."""
        held = self._available()
        return self.balance - (held if held > 0 else min(self.balance, 0))

    def expire_due(self, now: datetime) -> list[tuple[Lot, Entry]]:
        """Expire what is left of every lot whose time has come, oldest first."""
        expired = []
        for lot in sorted(self._credited(), key=_fifo):
            if lot.expires_at <= now and lot.remaining > 0:
                points, lot.remaining = lot.remaining, 0
                self.changed.add(lot.lot_id)
                entry = Entry("expire", -points, f"lot:{lot.lot_id}", "expiry:fifo", lot.expires_at)
                expired.append((lot, self._append(entry)))
        return expired

    def release_due(self, now: datetime) -> list[tuple[Lot, Entry]]:
        """Credit the pending lots whose return window has closed."""
        due = [lot for lot in self.lots if not lot.credited and lot.available_at <= now]
        return [(lot, self.credit(lot, "earn", f"{lot.rule} released")) for lot in due]

    def next_expiry(self) -> tuple[int, datetime] | None:
        """The points that expire next and when."""
        open_lots = [lot for lot in self._credited() if lot.remaining > 0]
        if not open_lots:
            return None
        at = min(lot.expires_at for lot in open_lots)
        return sum(lot.remaining for lot in open_lots if lot.expires_at == at), at

    def next_due(self) -> datetime | None:
        """When this ledger next has time-based work (an expiry or a release)."""
        times = [lot.expires_at for lot in self._credited() if lot.remaining > 0]
        times += [lot.available_at for lot in self.lots if not lot.credited]
        return min(times, default=None)

    def _credited(self) -> list[Lot]:
        return [lot for lot in self.lots if lot.credited]

    def _available(self) -> int:
        return sum(lot.remaining for lot in self._credited())

    def _take(self, points: int, first: Lot | None = None) -> None:
        order = sorted(self._credited(), key=_fifo)
        if first is not None and first in order:
            order.remove(first)
            order.insert(0, first)
        for lot in order:
            if points <= 0:
                return
            taken = min(points, lot.remaining)
            if taken:
                lot.remaining -= taken
                points -= taken
                self.changed.add(lot.lot_id)


def _fifo(lot: Lot) -> tuple[datetime, datetime, str]:
    return lot.expires_at, lot.earned_at, str(lot.lot_id)
