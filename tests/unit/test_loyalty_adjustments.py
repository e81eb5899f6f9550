"""Manual adjustments in the domain: a credit is a lot of its own, a debit spends lots
as a redemption does, caps refuse (never cut) and say what is allowed, a debit never
overdraws; the programme's ``[adjustments]`` is validated like the rest."""

from __future__ import annotations

import pytest

from services.loyalty.domain import account as accounts
from services.loyalty.domain.adjustments import Asked, OverCap, adjust, adjusted
from services.loyalty.domain.ledger import InsufficientPoints
from services.loyalty.domain.rules import RulesError, load_programme
from services.loyalty.settings import SHIPPED_RULES
from tests.unit.test_loyalty_ledger import DAY, T0, buy, new_account, programme

BY = "api-key:0c1e4f62-93a5-4d7b-8f20-6a1d9e3b5c74"
CAPS = {"max_points": 1000, "max_credit_per_customer": 1500, "period_days": 30}


def asked(key: str, points: int, at=T0, reason: str = "lost receipt") -> Asked:
    return Asked(key, points, reason, BY, at)


def test_a_credit_is_a_lot_available_at_once_expiring_like_any_other():
    rules, acc = programme(adjustments=CAPS), new_account()

    (n,) = adjust(acc, rules, asked("k-1", 300))

    assert acc.ledger.balance == 300 and n.balance == 300
    assert n.entry is not None and n.lot is not None
    assert (n.entry.kind, n.entry.points, n.entry.ref) == ("adjust", 300, "adjustment:k-1")
    assert n.entry.rule == "manual:lost receipt" and n.by == BY
    assert n.lot.credited and n.lot.available_at == T0
    assert n.lot.expires_at == T0 + 100 * DAY  # lots.valid_days of the programme


def test_a_debit_spends_the_earliest_expiring_lots_and_never_more_than_the_balance():
    rules, acc = programme(adjustments=CAPS), new_account()
    buy(acc, rules, "O-1", 50000)  # 500 points, expiring T0 + 100 days
    adjust(acc, rules, asked("k-1", 300, at=T0 + 10 * DAY))  # expiring later

    (n,) = adjust(acc, rules, asked("k-2", -600, at=T0 + 11 * DAY))

    assert n.entry is not None and (n.entry.kind, n.entry.points) == ("adjust", -600)
    assert acc.ledger.balance == 200
    remaining = {lot.ref: lot.remaining for lot in acc.ledger.lots}
    assert remaining == {"order:O-1": 0, "adjustment:k-1": 200}
    with pytest.raises(InsufficientPoints) as short:
        adjust(acc, rules, asked("k-3", -201, at=T0 + 12 * DAY))
    assert (short.value.balance, short.value.wanted) == (200, 201)
    assert acc.ledger.balance == 200 and len(acc.ledger.entries) == 3  # nothing written


def test_one_adjustment_past_max_points_is_refused_either_way_not_cut():
    rules, acc = programme(adjustments=CAPS), new_account()
    adjust(acc, rules, asked("k-1", 1000))
    for points in (1001, -1001):
        with pytest.raises(OverCap, match="at most 1000 points either way; 1001") as over:
            adjust(acc, rules, asked("k-2", points))
        assert over.value.allowed == 1000
    assert acc.ledger.balance == 1000


def test_credits_stop_at_the_per_customer_cap_within_the_period_and_say_what_is_left():
    rules, acc = programme(adjustments=CAPS), new_account()
    adjust(acc, rules, asked("k-1", 1000))
    adjust(acc, rules, asked("k-2", -400, at=T0 + DAY))  # a debit gives no room back

    with pytest.raises(OverCap, match="at most 500 more points") as over:
        adjust(acc, rules, asked("k-3", 501, at=T0 + 2 * DAY))
    assert over.value.allowed == 500
    adjust(acc, rules, asked("k-4", 500, at=T0 + 2 * DAY))
    with pytest.raises(OverCap, match="at most 0 more"):
        adjust(acc, rules, asked("k-5", 1, at=T0 + 29 * DAY))
    adjust(acc, rules, asked("k-6", 1000, at=T0 + 31 * DAY))  # the first left the period
    assert acc.ledger.balance == 1000 - 400 + 500 + 1000


def test_goodwill_does_not_count_against_the_manual_cap():
    rules, acc = programme(adjustments=CAPS), new_account()
    accounts.compensation(acc, rules, "c-1", 5000, T0)
    adjust(acc, rules, asked("k-1", 1000))
    assert acc.ledger.balance == 6000


def test_a_rebuild_records_what_was_decided_without_asking_the_caps_or_balance_again():
    rules, acc = programme(adjustments=CAPS), new_account()
    adjusted(acc, rules, asked("k-1", 5000))
    (n,) = adjusted(acc, rules, asked("k-2", -6000, at=T0 + DAY))
    assert acc.ledger.balance == -1000 and n.balance == -1000
    with pytest.raises(ValueError, match="non-zero"):
        adjusted(acc, rules, asked("k-3", 0))


def test_the_shipped_rules_cap_adjustments_and_a_file_without_them_gets_the_defaults(tmp_path):
    shipped = load_programme(SHIPPED_RULES).adjustments
    assert (shipped.max_points, shipped.max_credit_per_customer, shipped.period_days) == (
        10000,
        50000,
        365,
    )
    bare = programme().adjustments
    assert (bare.max_points, bare.max_credit_per_customer, bare.period_days) == (
        10000,
        50000,
        365,
    )


@pytest.mark.parametrize(
    ("adjustments", "problem"),
    [
        ("max_points = 0", "max_points"),
        ("period_days = 0", "period_days"),
        ("max_credit_per_customer = -1", "max_credit_per_customer"),
        ("max_points = 'many'", "max_points"),
        ("caps = 1", "caps"),
    ],
)
def test_a_broken_adjustments_table_says_what_is_wrong(tmp_path, adjustments, problem):
    bad = tmp_path / "rules.toml"
    tiers = "[tiers]\ncurrency='CNY'\nlevels=[{name='a', min_spend_minor=0}]\n"
    bad.write_text(f"{tiers}[adjustments]\n{adjustments}\n")
    with pytest.raises(RulesError, match=problem):
        load_programme(bad)
