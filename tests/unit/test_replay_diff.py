"""The difference a replay reports (``shared.replay_diff``): which rules changed, the
totals before and after, and a bounded sample of customers whose outcome moved, each
with why."""

from __future__ import annotations

from shared.replay_diff import SAMPLE, Outcome, compare, rule_changes


def test_changed_rules_are_named_by_their_dotted_keys_with_both_values() -> None:
    before = "[silence]\nsilent_after_days = 90\n[risk]\ncomplaint = { low = 3 }\n"
    after = "[silence]\nsilent_after_days = 30\n[risk]\ncomplaint = { low = 3, high = 9 }\n"

    assert rule_changes(before, after) == [
        "risk.complaint.high (none)→9",
        "silence.silent_after_days 90→30",
    ]
    assert rule_changes(before, before) == []
    assert rule_changes(before, "not = [toml") == []


def test_totals_and_a_bounded_sample_of_the_customers_who_moved() -> None:
    before, after = Outcome({"customers_per_stage": {"active": 30}}), Outcome()
    after.counts = {"customers_per_stage": {"active": 5, "silent": 25}}
    for n in range(30):
        before.customers[("t", f"c{n:02}")] = {"stage": "active"}
        after.customers[("t", f"c{n:02}")] = {"stage": "silent" if n < 25 else "active"}

    diff = compare(before, after, ["silence.silent_after_days 90→30"])

    assert diff["counts"] == {
        "customers_per_stage": {
            "active": {"before": 30, "after": 5},
            "silent": {"before": 0, "after": 25},
        }
    }
    assert (diff["customers"], diff["customers_changed"]) == (30, 25)
    assert len(diff["sample"]) == SAMPLE == 20
    assert diff["sample"][0] == {
        "tenant": "t",
        "customer_id": "c00",
        "changes": {"stage": {"before": "active", "after": "silent"}},
        "why": "stage active→silent: silence.silent_after_days 90→30",
    }


def test_a_customer_only_one_side_knows_is_a_change_too() -> None:
    before, after = Outcome(), Outcome()
    after.customers[("t", "new")] = {"points_issued": 10, "tier": "member"}
    rules = [f"rule{n} 1→2" for n in range(5)]

    [moved] = compare(before, after, rules)["sample"]

    assert moved["why"] == (
        "points_issued (none)→10, tier (none)→member: rule0 1→2; rule1 1→2; rule2 1→2; and 2 more"
    )
