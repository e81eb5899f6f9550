"""Earning rules one by one and combined, and the rule file's validation."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from services.loyalty.domain.earning import Item, Purchase, points_for_purchase
from services.loyalty.domain.rules import Programme, RulesError, load_programme

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
SHIPPED = Path("services/loyalty/rules.toml")


def programme(**earning: object) -> Programme:
    return Programme.model_validate(
        {
            "tiers": {
                "currency": "CNY",
                "levels": [
                    {"name": "member", "min_spend_minor": 0},
                    {"name": "gold", "min_spend_minor": 100000},
                ],
            },
            "earning": earning,
        }
    )


def earn(
    rules: Programme,
    amount=10000,
    currency="CNY",
    channel="store",
    tier="member",
    first=False,
    items=(),
    at=NOW,
):
    bought = Purchase(amount, currency, channel, at, tuple(items))
    return points_for_purchase(rules.earning, bought, tier, first)


@pytest.mark.parametrize(
    ("amount_minor", "currency", "points"),
    [(129900, "CNY", 1299), (1299, "JPY", 1299), (1299, "KWD", 1), (99, "EUR", 0), (0, "EUR", 0)],
)
def test_base_rate_is_one_point_per_whole_currency_unit(amount_minor, currency, points):
    assert earn(programme(), amount_minor, currency).points == points


def test_base_rate_per_currency():
    rules = programme(points_per_unit={"JPY": "0.05"})
    assert earn(rules, 10000, "JPY").points == 500
    assert earn(rules, 10000, "CNY").points == 100


def test_tier_multiplier():
    rules = programme(tier_multipliers={"gold": "1.5"})
    assert earn(rules, tier="gold").points == 150
    assert "tier:goldx1.5" in earn(rules, tier="gold").rule


def test_channel_multiplier():
    assert earn(programme(channel_multipliers={"app": 2}), channel="app").points == 200


def test_category_multiplier_applies_to_its_items_only():
    rules = programme(category_multipliers={"gift_card": 0, "books": 3})
    items = [Item(4000, "gift_card"), Item(1000, "books"), Item(5000, None)]
    got = earn(rules, items=items)
    assert got.points == 0 + 30 + 50  # 40 units of gift cards, 10 of books, 50 plain
    assert "category:gift_cardx0" in got.rule and "category:booksx3" in got.rule


def test_first_purchase_bonus_only_on_the_first_and_after_the_cap():
    rules = programme(first_purchase_bonus=50, max_points_per_order=80)
    assert earn(rules, first=True).points == 130
    assert earn(rules, first=False).points == 80


def test_cap_per_order():
    rules = programme(max_points_per_order=70)
    assert earn(rules).points == 70
    assert "cap:70" in earn(rules).rule


def test_campaign_inside_its_window_and_for_its_tiers():
    campaign = {
        "name": "summer",
        "starts_at": "2026-06-01T00:00:00Z",
        "ends_at": "2026-07-01T00:00:00Z",
        "multiplier": 2,
        "tiers": ["gold"],
    }
    rules = programme(campaigns=[campaign])
    assert earn(rules, tier="gold").points == 200
    assert earn(rules, tier="member").points == 100
    assert earn(rules, tier="gold", at=datetime(2026, 7, 1, tzinfo=UTC)).points == 100


def test_every_rule_combined_is_the_product_rounded_down_then_capped():
    campaign = {
        "name": "c",
        "starts_at": "2026-01-01T00:00:00Z",
        "ends_at": "2027-01-01T00:00:00Z",
        "multiplier": "1.1",
    }
    rules = programme(
        points_per_unit={"CNY": 2},
        tier_multipliers={"gold": "1.5"},
        channel_multipliers={"app": "1.5"},
        campaigns=[campaign],
        first_purchase_bonus=7,
    )
    got = earn(rules, 12345, channel="app", tier="gold", first=True)
    assert (
        got.points
        == int(Decimal("123.45") * 2 * Decimal("1.5") * Decimal("1.5") * Decimal("1.1")) + 7
    )
    assert got.rule.split() == [
        "base:CNYx2",
        "tier:goldx1.5",
        "channel:appx1.5",
        "campaign:cx1.1",
        "first_purchase:+7",
    ]


def test_the_shipped_rule_file_is_valid_and_keeps_one_point_per_unit_for_members():
    shipped = load_programme(SHIPPED)
    assert shipped.lots.return_window_days == 0
    assert earn(shipped, 129900).points == 1299


def test_a_rule_file_naming_an_unknown_tier_is_refused_by_name(tmp_path):
    bad = tmp_path / "rules.toml"
    bad.write_text(SHIPPED.read_text().replace("platinum = 2", "diamond = 2"))
    with pytest.raises(RulesError, match="unknown tier 'diamond'"):
        load_programme(bad)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[tiers]\ncurrency='CNY'\nlevels=[{name='a', min_spend_minor=5}]", "start at 0"),
        ("[tiers]\ncurrency='ZZZ'\nlevels=[{name='a', min_spend_minor=0}]", "ISO 4217"),
        ("tiers = [", "rules"),
        ("[earning]\nx=1", "tiers"),
    ],
)
def test_a_broken_rule_file_says_what_is_wrong(tmp_path, text, problem):
    bad = tmp_path / "rules.toml"
    bad.write_text(text)
    with pytest.raises(RulesError, match=problem):
        load_programme(bad)


def test_the_shipped_rule_file_caps_goodwill_and_compensation():
    goodwill = load_programme(SHIPPED).goodwill
    assert (goodwill.max_compensation_per_complaint, goodwill.max_goodwill_per_customer) == (
        5000,
        10000,
    )
    assert goodwill.goodwill_period_days == 365


def test_a_rule_file_without_caps_is_still_capped():
    rules = Programme.model_validate(
        {"tiers": {"currency": "CNY", "levels": [{"name": "member", "min_spend_minor": 0}]}}
    )
    assert rules.goodwill.max_compensation_per_complaint <= 10**9
    assert rules.goodwill.max_goodwill_per_customer == 10000


@pytest.mark.parametrize(
    ("goodwill", "problem"),
    [
        ("complaint_opened = { critical = 20000 }", "above max_goodwill_per_customer"),
        ("goodwill_period_days = 0", "goodwill_period_days"),
        ("max_compensation_per_complaint = -1", "max_compensation_per_complaint"),
        ("max_goodwill_per_customer = 'lots'", "max_goodwill_per_customer"),
    ],
)
def test_a_broken_goodwill_cap_says_what_is_wrong(tmp_path, goodwill, problem):
    bad = tmp_path / "rules.toml"
    tiers = "[tiers]\ncurrency='CNY'\nlevels=[{name='a', min_spend_minor=0}]\n"
    bad.write_text(f"{tiers}[goodwill]\n{goodwill}\n")
    with pytest.raises(RulesError, match=problem):
        load_programme(bad)
