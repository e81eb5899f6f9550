"""An undone merge splits the points back by provenance: whatever the survivor did
while merged (bought, had refunds, redeemed, let points expire or be released), once
each side has its own lots back and the merged side has settled what the survivor's
spending took from them (``Ledger.overclaim`` and an ``adjust`` entry on each side),
both ledgers keep their invariants and no point is made or lost."""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.loyalty.domain import account as accounts
from services.loyalty.domain.account import Account
from services.loyalty.domain.earning import Purchase
from services.loyalty.domain.ledger import InsufficientPoints, Ledger
from tests.unit.test_loyalty_ledger_properties import T0, check, programme

purchases = st.lists(st.integers(0, 500000), max_size=6)
meanwhile = st.lists(
    st.one_of(
        st.tuples(st.just("buy"), st.integers(0, 500000)),
        st.tuples(st.just("refund"), st.integers(0, 500000)),
        st.tuples(st.just("redeem"), st.integers(1, 6000)),
        st.tuples(st.just("wait"), st.integers(1, 120)),
    ),
    max_size=25,
)


def _bought(name: str, amounts: list[int], window: int) -> Account:
    rules, acc = programme(False, window), Account("t", uuid.uuid4(), "member")
    for n, amount in enumerate(amounts):
        at = T0 + timedelta(hours=n)
        accounts.purchase(acc, rules, f"{name}{n}", Purchase(amount, "CNY", "web", at))
    return acc


def _merged(survivor: Account, merged: Account) -> Account:
    """One account holding both sides' lots (the same objects) and entries."""
    one = Account("t", survivor.customer_id, "member")
    one.ledger = Ledger(
        balance=survivor.ledger.balance + merged.ledger.balance,
        lots=[*survivor.ledger.lots, *merged.ledger.lots],
        entries=[*survivor.ledger.entries, *merged.ledger.entries],
    )
    return one


def _meanwhile(one: Account, ops: list[tuple[str, int]], window: int) -> None:
    rules, now = programme(False, window), T0 + timedelta(days=1)
    for step, (kind, amount) in enumerate(ops):
        orders = [lot.ref.removeprefix("order:") for lot in one.ledger.lots]
        if kind == "buy":
            accounts.purchase(one, rules, f"M{step}", Purchase(amount, "CNY", "web", now))
        elif kind == "refund" and orders:
            accounts.refund(one, rules, orders[step % len(orders)], amount, f"r{step}", now)
        elif kind == "redeem":
            with contextlib.suppress(InsufficientPoints):
                one.ledger.redeem(amount, f"redemption:{step}", "gift", now)
        elif kind == "wait":
            now += timedelta(days=amount)
            accounts.sweep(one, rules, now)


@settings(max_examples=300, deadline=None)
@given(ours=purchases, theirs=purchases, ops=meanwhile, window=st.sampled_from([0, 14]))
def test_an_undone_merge_leaves_both_ledgers_exact(ours, theirs, ops, window):
    survivor, merged = _bought("S", ours, window), _bought("T", theirs, window)
    own_entries = len(survivor.ledger.entries)
    theirs_entries = list(merged.ledger.entries)
    one = _merged(survivor, merged)
    _meanwhile(one, ops, window)
    total = one.ledger.balance

    their_lots = {id(lot) for lot in merged.ledger.lots}
    back = Ledger(
        balance=sum(e.points for e in theirs_entries),
        lots=[lot for lot in one.ledger.lots if id(lot) in their_lots],
        entries=theirs_entries,
    )
    kept_entries = [*survivor.ledger.entries[:own_entries], *one.ledger.entries[
        own_entries + len(theirs_entries):]]  # fmt: skip
    kept = Ledger(
        balance=sum(e.points for e in kept_entries),
        lots=[lot for lot in one.ledger.lots if id(lot) not in their_lots],
        entries=kept_entries,
    )
    owed = back.overclaim()
    back.adjust(-owed, "unmerge:m", "unmerge", T0)
    kept.adjust(owed, "unmerge:m", "unmerge", T0)

    merged.ledger, survivor.ledger = back, kept
    check(merged, negative_ok=False)
    check(survivor, negative_ok=False)
    assert back.balance + kept.balance == total
