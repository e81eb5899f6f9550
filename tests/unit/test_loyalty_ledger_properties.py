"""Properties of the ledger under any sequence of earns, refunds, redemptions,
expiries and releases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.loyalty.domain import account as accounts
from services.loyalty.domain.account import Account
from services.loyalty.domain.earning import Purchase
from services.loyalty.domain.ledger import InsufficientPoints
from services.loyalty.domain.rules import Programme

T0 = datetime(2026, 1, 1, tzinfo=UTC)

operations = st.lists(
    st.one_of(
        st.tuples(st.just("buy"), st.integers(0, 9), st.integers(0, 500000)),
        st.tuples(st.just("refund"), st.integers(0, 9), st.integers(0, 500000)),
        st.tuples(st.just("redeem"), st.integers(0, 9), st.integers(1, 6000)),
        st.tuples(st.just("wait"), st.integers(0, 9), st.integers(1, 400)),
    ),
    max_size=40,
)


def programme(negative_ok: bool, window: int) -> Programme:
    return Programme.model_validate(
        {
            "tiers": {
                "currency": "CNY",
                "levels": [
                    {"name": "member", "min_spend_minor": 0},
                    {"name": "gold", "min_spend_minor": 800000},
                ],
            },
            "lots": {"return_window_days": window, "valid_days": 90},
            "refunds": {"allow_negative_balance": negative_ok},
        }
    )


def run(ops, negative_ok: bool, window: int) -> Account:
    rules, acc, now = programme(negative_ok, window), Account("t", uuid.uuid4(), "member"), T0
    for step, (kind, order, amount) in enumerate(ops):
        if kind == "buy":
            accounts.purchase(acc, rules, f"O{order}", Purchase(amount, "CNY", "web", now))
        elif kind == "refund":
            accounts.refund(acc, rules, f"O{order}", amount, f"r{step}", now)
        elif kind == "redeem":
            before = acc.ledger.balance
            try:
                acc.ledger.redeem(amount, f"redemption:{step}", "gift", now)
            except InsufficientPoints:
                assert amount > before
        else:
            now += timedelta(days=amount)
            accounts.sweep(acc, rules, now)
        check(acc, negative_ok)
    return acc


def check(acc: Account, negative_ok: bool) -> None:
    ledger = acc.ledger
    assert ledger.balance == sum(e.points for e in ledger.entries)
    assert all(lot.remaining >= 0 for lot in ledger.lots)
    assert sum(lot.remaining for lot in ledger.lots if lot.credited) == max(ledger.balance, 0)
    assert all(lot.reversed_points <= lot.points for lot in ledger.lots)
    if not negative_ok:
        assert ledger.balance >= 0


@settings(max_examples=300, deadline=None)
@given(ops=operations, window=st.sampled_from([0, 14]))
def test_balance_is_the_sum_of_entries_and_no_lot_or_balance_goes_negative(ops, window):
    run(ops, negative_ok=False, window=window)


@settings(max_examples=300, deadline=None)
@given(ops=operations, window=st.sampled_from([0, 14]))
def test_with_negative_balances_allowed_the_lots_still_hold_the_positive_balance(ops, window):
    run(ops, negative_ok=True, window=window)


@settings(max_examples=200, deadline=None)
@given(ops=operations)
def test_successful_redemptions_never_exceed_what_was_credited(ops):
    acc = run(ops, negative_ok=False, window=0)
    credited = sum(e.points for e in acc.ledger.entries if e.points > 0)
    spent = -sum(e.points for e in acc.ledger.entries if e.kind == "redeem")
    assert spent <= credited


def tiered() -> Programme:
    return Programme.model_validate(
        {
            "tiers": {
                "currency": "CNY",
                "levels": [
                    {"name": "member", "min_spend_minor": 0},
                    {"name": "silver", "min_spend_minor": 200000},
                    {"name": "gold", "min_spend_minor": 800000},
                ],
            },
        }
    )


@settings(max_examples=300, deadline=None)
@given(
    before=st.lists(st.tuples(st.integers(0, 500000), st.integers(0, 60)), max_size=8),
    amount=st.integers(0, 1000000),
)
def test_an_order_refunded_in_full_leaves_the_tier_it_found(before, amount):
    rules, acc, now = tiered(), Account("t", uuid.uuid4(), "member"), T0
    for n, (spent, days) in enumerate(before):
        now += timedelta(days=days)
        accounts.purchase(acc, rules, f"O{n}", Purchase(spent, "CNY", "web", now))
    found = acc.tier

    accounts.purchase(acc, rules, "X", Purchase(amount, "CNY", "web", now + timedelta(hours=1)))
    accounts.refund(acc, rules, "X", amount, "r", now + timedelta(hours=2))

    assert acc.tier == found


@settings(max_examples=200, deadline=None)
@given(ops=operations)
def test_a_refund_never_raises_the_tier(ops):
    rules, acc, now = tiered(), Account("t", uuid.uuid4(), "member"), T0
    for step, (kind, order, amount) in enumerate(ops):
        if kind == "buy":
            accounts.purchase(acc, rules, f"O{order}", Purchase(amount, "CNY", "web", now))
        elif kind == "refund":
            rank = rules.tiers.names.index(acc.tier)
            accounts.refund(acc, rules, f"O{order}", amount, f"r{step}", now)
            assert rules.tiers.names.index(acc.tier) <= rank
        elif kind == "wait":
            now += timedelta(days=amount)
            accounts.sweep(acc, rules, now)


def capped() -> Programme:
    return Programme.model_validate(
        {
            "tiers": {"currency": "CNY", "levels": [{"name": "member", "min_spend_minor": 0}]},
            "goodwill": {
                "complaint_opened": {"high": 200, "critical": 900},
                "max_compensation_per_complaint": 1500,
                "max_goodwill_per_customer": 4000,
                "goodwill_period_days": 30,
            },
        }
    )


grants = st.lists(
    st.tuples(
        st.sampled_from(["opened", "resolved"]),
        st.integers(0, 15),  # complaint
        st.sampled_from(["low", "high", "critical"]),
        st.integers(0, 10_000_000),  # compensation asked
        st.integers(0, 120),  # day, in any order
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(steps=grants)
def test_grants_in_any_window_of_the_period_never_pass_the_caps(steps):
    rules, acc = capped(), Account("t", uuid.uuid4(), "member")
    for kind, complaint, severity, asked, day in steps:
        at = T0 + timedelta(days=day)
        if kind == "opened":
            accounts.goodwill(acc, rules, f"c{complaint}", severity, at)
        else:
            accounts.compensation(acc, rules, f"c{complaint}", asked, at)
    period, cap = timedelta(days=30), rules.goodwill.max_goodwill_per_customer
    given_ = [(lot.earned_at, lot.points, lot.ref) for lot in acc.ledger.lots]
    for end, _, _ in given_:
        assert sum(p for at, p, _ in given_ if end - period < at <= end) <= cap
    assert all(p <= 1500 for _, p, ref in given_ if ref.startswith("compensation:"))
    assert acc.ledger.balance == sum(p for _, p, _ in given_)
