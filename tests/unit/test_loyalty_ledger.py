"""The lot-based ledger and the account: FIFO expiry, proportional reversal, tiers,
the return window, goodwill and the one-time reactivation offer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.loyalty.domain import account as accounts
from services.loyalty.domain.account import Account
from services.loyalty.domain.earning import Purchase
from services.loyalty.domain.ledger import InsufficientPoints, Ledger, Lot
from services.loyalty.domain.rules import Programme

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def programme(**overrides: object) -> Programme:
    raw: dict[str, object] = {
        "tiers": {
            "currency": "CNY",
            "qualification_days": 365,
            "levels": [
                {"name": "member", "min_spend_minor": 0},
                {"name": "silver", "min_spend_minor": 100000},
                {"name": "gold", "min_spend_minor": 300000},
            ],
        },
        "lots": {"return_window_days": 0, "valid_days": 100},
        "goodwill": {"complaint_opened": {"high": 200}},
        "reactivation": {
            "spend_minor": 50000,
            "currency": "CNY",
            "within_days": 30,
            "reward_points": 1000,
        },
    }
    raw.update(overrides)
    return Programme.model_validate(raw)


def new_account() -> Account:
    return Account("t", uuid.uuid4(), "member")


def buy(acc, rules, order, amount, at=T0):
    return accounts.purchase(acc, rules, order, Purchase(amount, "CNY", "store", at))


def lot(points, earned_at, expires_at):
    return Lot(uuid.uuid4(), f"x:{uuid.uuid4()}", points, points, earned_at, earned_at, expires_at)


def test_expiry_takes_lots_oldest_first_and_exactly():
    ledger = Ledger()
    old, new = lot(100, T0, T0 + 10 * DAY), lot(50, T0 + DAY, T0 + 20 * DAY)
    for each in (old, new):
        ledger.add_lot(each, "earn", "r", T0 + 2 * DAY)
    ledger.redeem(120, "redemption:k", "gift", T0 + 3 * DAY)  # drains old, 20 of new

    assert (old.remaining, new.remaining) == (0, 30)
    assert ledger.expire_due(T0 + 15 * DAY) == []
    [(expired_lot, entry)] = ledger.expire_due(T0 + 20 * DAY)
    assert expired_lot is new and entry.points == -30 and entry.kind == "expire"
    assert ledger.balance == 0 == sum(e.points for e in ledger.entries)


def test_next_expiry_names_the_points_and_the_instant():
    ledger = Ledger()
    ledger.add_lot(lot(100, T0, T0 + 10 * DAY), "earn", "r", T0)
    ledger.add_lot(lot(40, T0, T0 + 10 * DAY), "earn", "r", T0)
    ledger.add_lot(lot(7, T0, T0 + 30 * DAY), "earn", "r", T0)
    assert ledger.next_expiry() == (140, T0 + 10 * DAY)


def test_partial_refunds_reverse_points_proportionally_and_never_more_than_earned():
    rules, acc = programme(), new_account()
    buy(acc, rules, "O1", 99900)  # 999 points
    first = accounts.refund(acc, rules, "O1", 33300, "r1", T0)[0].reversal
    second = accounts.refund(acc, rules, "O1", 66600, "r2", T0)[0].reversal
    third = accounts.refund(acc, rules, "O1", 100, "r3", T0)[0].reversal
    assert (first.recovered, second.recovered, third.recovered) == (333, 666, 0)
    assert acc.ledger.balance == 0


def test_refund_after_redemption_without_negative_balances_recovers_what_is_left():
    rules, acc = programme(), new_account()
    buy(acc, rules, "O1", 100000)
    acc.ledger.redeem(800, "redemption:k", "gift", T0)
    reversed_ = accounts.refund(acc, rules, "O1", 100000, "r1", T0)[0]  # then the tier
    assert reversed_.reversal.outcome == "partially_recovered"
    assert (reversed_.reversal.due, reversed_.reversal.recovered) == (1000, 200)
    assert acc.ledger.balance == 0
    assert "unrecovered:800" in reversed_.entry.rule


def test_refund_after_redemption_with_negative_balances_leaves_a_debt_the_next_credit_repays():
    rules, acc = programme(refunds={"allow_negative_balance": True}), new_account()
    buy(acc, rules, "O1", 100000)
    acc.ledger.redeem(800, "redemption:k", "gift", T0)
    reversed_ = accounts.refund(acc, rules, "O1", 100000, "r1", T0)[0]  # then the tier
    assert reversed_.reversal.outcome == "negative_balance"
    assert acc.ledger.balance == -800
    buy(acc, rules, "O2", 50000, T0 + DAY)
    assert acc.ledger.balance == -300
    assert all(each.remaining == 0 for each in acc.ledger.lots)


def test_points_wait_out_the_return_window_then_become_available():
    rules, acc = programme(lots={"return_window_days": 14, "valid_days": 100}), new_account()
    [pending] = buy(acc, rules, "O1", 50000)
    assert pending.kind == "pending" and (pending.balance, pending.pending) == (0, 500)
    assert accounts.next_due(acc) == T0 + 14 * DAY
    [reduced] = accounts.refund(acc, rules, "O1", 12500, "r1", T0 + DAY)
    assert reduced.reversal.outcome == "pending_reduced" and reduced.entry is None
    assert accounts.sweep(acc, rules, T0 + 13 * DAY) == []
    [released] = accounts.sweep(acc, rules, T0 + 14 * DAY)
    assert released.kind == "credited" and (released.balance, released.pending) == (375, 0)


def test_tier_upgrades_at_once_and_downgrades_only_at_the_period_end():
    # with refunds left out of the tier until the review (the switch off)
    rules = programme(lots={"valid_days": 1000}, refunds={"reevaluate_tier": False})
    acc = new_account()
    notices = buy(acc, rules, "O1", 300000)
    upgraded = notices[-1]
    assert (upgraded.kind, upgraded.from_tier, upgraded.tier) == ("tier_changed", "member", "gold")
    assert acc.tier_review_at == T0 + 365 * DAY
    accounts.refund(acc, rules, "O1", 250000, "r1", T0 + DAY)
    assert acc.tier == "gold"
    assert accounts.sweep(acc, rules, T0 + 364 * DAY) == []
    buy(acc, rules, "O2", 110000, T0 + 300 * DAY)  # O1 is out of the window: silver
    [down] = [n for n in accounts.sweep(acc, rules, T0 + 365 * DAY) if n.kind == "tier_changed"]
    assert (down.from_tier, down.tier, down.cause) == ("gold", "silver", "qualification_period_end")
    assert acc.tier_review_at == T0 + 730 * DAY


def test_complaint_goodwill_is_granted_once_per_complaint_and_only_for_its_severity():
    rules, acc = programme(), new_account()
    assert accounts.goodwill(acc, rules, "c1", "low", T0) == []
    [granted] = accounts.goodwill(acc, rules, "c1", "high", T0)
    assert granted.entry.kind == "adjust" and granted.entry.points == 200
    assert accounts.goodwill(acc, rules, "c1", "high", T0) == []


def test_the_reactivation_offer_is_granted_once_and_rewards_the_spend_within_its_window():
    rules, acc = programme(), new_account()
    assert [n.kind for n in accounts.went_silent(acc, rules, T0)] == ["offer_granted"]
    assert accounts.went_silent(acc, rules, T0 + 100 * DAY) == []
    buy(acc, rules, "O1", 30000, T0 + DAY)
    notices = buy(acc, rules, "O2", 30000, T0 + 2 * DAY)
    assert [n.entry.rule for n in notices if n.entry] == ["base:CNYx1", "offer:reactivation"]
    assert acc.ledger.balance == 300 + 300 + 1000
    again = [n.entry for n in buy(acc, rules, "O3", 90000, T0 + 3 * DAY) if n.entry]
    assert [e.rule for e in again] == ["base:CNYx1"]


def test_a_purchase_applied_before_the_silence_it_follows_still_completes_the_offer():
    # Silence comes from lifecycle's topic, purchases from the partners': they race.
    rules, acc = programme(), new_account()
    buy(acc, rules, "O0", 30000, T0 - DAY)  # before the silence: never counts
    buy(acc, rules, "O1", 30000, T0 + DAY)
    buy(acc, rules, "O2", 30000, T0 + 2 * DAY)
    notices = accounts.went_silent(acc, rules, T0)
    assert [n.kind for n in notices] == ["offer_granted", "credited"]
    assert notices[1].entry.rule == "offer:reactivation" and notices[1].entry.at == T0 + 2 * DAY
    assert acc.offer.completed_at == T0 + 2 * DAY and acc.offer.progress_minor == 60000
    assert acc.ledger.balance == 3 * 300 + 1000


def test_the_same_order_earns_once():
    rules, acc = programme(), new_account()
    buy(acc, rules, "O1", 10000)
    assert buy(acc, rules, "O1", 10000) == []
    assert acc.ledger.balance == 100


def test_a_redemption_never_overdraws():
    ledger = Ledger()
    ledger.add_lot(lot(100, T0, T0 + DAY), "earn", "r", T0)
    with pytest.raises(InsufficientPoints):
        ledger.redeem(101, "redemption:k", "gift", T0)
    assert ledger.balance == 100 and len(ledger.entries) == 1


def test_compensation_on_resolution_is_granted_once_per_complaint_beside_its_goodwill():
    rules, acc = programme(), new_account()
    accounts.goodwill(acc, rules, "c1", "high", T0)

    [granted] = accounts.compensation(acc, rules, "c1", 150, T0 + DAY)
    again = accounts.compensation(acc, rules, "c1", 150, T0 + DAY)
    nothing = accounts.compensation(acc, rules, "c2", 0, T0 + DAY)

    assert granted.kind == "credited" and granted.balance == 350
    assert (granted.entry.kind, granted.entry.points) == ("adjust", 150)
    assert granted.entry.ref == "compensation:c1" and granted.entry.rule == "compensation"
    assert again == [] and nothing == []
    assert acc.ledger.balance == 350


def test_a_free_order_is_a_purchase_the_earning_rules_price_and_the_next_is_not_the_first():
    rules = programme(earning={"first_purchase_bonus": 50})
    acc = new_account()

    [free] = buy(acc, rules, "FREE", 0)
    [paid] = buy(acc, rules, "O2", 10000, T0 + DAY)

    assert (free.entry.points, free.entry.rule) == (50, "base:CNYx1 first_purchase:+50")
    assert (paid.entry.points, paid.entry.rule) == (100, "base:CNYx1")
    assert acc.ledger.balance == 150


def test_a_free_order_without_a_bonus_earns_nothing_but_is_still_an_order():
    rules, acc = programme(), new_account()

    [free] = buy(acc, rules, "FREE", 0)

    assert free.kind == "credited" and free.entry.points == 0
    assert acc.ledger.lot_for("order:FREE") is not None


def test_a_full_refund_takes_back_the_tier_its_order_bought_and_later_orders_earn_at_it():
    rules = programme(earning={"tier_multipliers": {"gold": 1.5}})
    acc = new_account()
    buy(acc, rules, "O1", 300000)
    assert acc.tier == "gold"

    notices = accounts.refund(acc, rules, "O1", 300000, "r1", T0 + DAY)
    later = buy(acc, rules, "O2", 10000, T0 + 2 * DAY)

    down = notices[-1]
    assert (down.kind, down.from_tier, down.tier, down.cause) == (
        "tier_changed", "gold", "member", "refund:O1",
    )  # fmt: skip
    assert (acc.tier, acc.tier_review_at) == ("member", None)
    assert (later[0].entry.points, later[0].entry.rule) == (100, "base:CNYx1")


def test_a_refund_takes_back_only_what_the_refunded_spend_bought():
    rules, acc = programme(), new_account()
    buy(acc, rules, "O1", 150000)  # silver
    buy(acc, rules, "O2", 200000, T0 + 10 * DAY)  # gold

    partial = accounts.refund(acc, rules, "O2", 40000, "r1", T0 + 20 * DAY)  # 310000 left
    full = accounts.refund(acc, rules, "O2", 160000, "r2", T0 + 21 * DAY)

    assert [n.kind for n in partial] == ["reversed"] and acc.tier == "silver"
    assert (full[-1].from_tier, full[-1].tier) == ("gold", "silver")
    assert acc.tier_review_at == T0 + 365 * DAY  # silver since O1


def test_a_tier_a_later_order_keeps_after_a_refund_is_reviewed_from_that_order():
    rules, acc = programme(), new_account()
    buy(acc, rules, "O1", 60000)
    buy(acc, rules, "O2", 60000, T0 + DAY)  # silver from here
    buy(acc, rules, "O3", 60000, T0 + 100 * DAY)  # spend 180000: silver already

    notices = accounts.refund(acc, rules, "O2", 60000, "r1", T0 + 2 * DAY)

    # In event-time order the refund took silver back, and O3 earned it again.
    assert [n.kind for n in notices] == ["reversed"]
    assert (acc.tier, acc.tier_review_at) == ("silver", T0 + 465 * DAY)


def test_a_refund_never_takes_away_the_tier_the_last_review_kept():
    rules, acc = programme(lots={"valid_days": 1000}), new_account()
    buy(acc, rules, "O1", 300000)
    buy(acc, rules, "O2", 300000, T0 + 200 * DAY)
    accounts.sweep(acc, rules, T0 + 365 * DAY)  # O2 in the window at its end: gold kept
    assert (acc.tier, acc.reviewed_tier) == ("gold", "gold")

    buy(acc, rules, "O3", 50000, T0 + 600 * DAY)  # O2 has left the window: spend is 50000
    notices = accounts.refund(acc, rules, "O3", 50000, "r1", T0 + 601 * DAY)

    assert [n.kind for n in notices] == ["reversed"]
    assert (acc.tier, acc.tier_review_at) == ("gold", T0 + 730 * DAY)


def capped_programme() -> Programme:
    return programme(
        goodwill={
            "complaint_opened": {"critical": 500},
            "max_compensation_per_complaint": 2000,
            "max_goodwill_per_customer": 3000,
            "goodwill_period_days": 30,
        }
    )


def test_compensation_above_the_per_complaint_cap_is_cut_to_it_and_the_entry_says_so():
    rules, acc = capped_programme(), new_account()

    [granted] = accounts.compensation(acc, rules, "c1", 10_000_000, T0)

    assert granted.entry.points == 2000
    assert granted.entry.rule == "compensation cap:per_complaint:2000 asked:10000000"
    assert accounts.compensation(acc, rules, "c1", 10_000_000, T0) == []


def test_goodwill_and_compensation_together_stop_at_the_per_customer_cap_for_the_period():
    rules, acc = capped_programme(), new_account()
    accounts.goodwill(acc, rules, "c1", "critical", T0)  # 500
    accounts.compensation(acc, rules, "c1", 2000, T0 + DAY)  # 2500

    [cut] = accounts.compensation(acc, rules, "c2", 2000, T0 + 2 * DAY)
    nothing = accounts.goodwill(acc, rules, "c3", "critical", T0 + 3 * DAY)
    [again] = accounts.goodwill(acc, rules, "c4", "critical", T0 + 31 * DAY)

    assert (cut.entry.points, cut.entry.rule) == (
        500, "compensation cap:per_customer:3000/30d asked:2000",
    )  # fmt: skip
    assert nothing == []
    assert (again.entry.points, again.entry.rule) == (500, "goodwill:critical")
    assert acc.ledger.balance == 3500


def test_a_grant_dated_earlier_than_one_already_given_counts_it_too():
    rules, acc = capped_programme(), new_account()
    accounts.compensation(acc, rules, "c1", 2000, T0 + 10 * DAY)
    accounts.compensation(acc, rules, "c2", 2000, T0 + 5 * DAY)  # arrived later: 1000

    assert sorted(e.points for e in acc.ledger.entries) == [1000, 2000]
