"""The segment rule language: parsing, faults named by their clause, evaluation with
time windows and the edges at which a window changes the answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.profile.attributes import Definition
from services.profile.segment_eval import compare, explain, holds, longest_window, next_edge
from services.profile.segment_rules import Activity, Compare, Facts, Group, RuleError, Seen, parse

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
DAY = timedelta(days=1)
SCHEMA = {
    "vip": Definition("vip", "boolean"),
    "birthday": Definition("birthday", "date"),
    "interests": Definition("interests", "list"),
    "shoe_size": Definition("shoe_size", "number"),
}
ACTIVE_BUYER = {
    "all": [
        {"field": "stage", "op": "eq", "value": "active"},
        {"activity": "purchase_completed", "within_days": 90, "at_least": 2},
        {"field": "churn_score", "op": "gte", "value": 60},
        {"consent": {"channel": "email", "purpose": "marketing"}},
    ]
}


def purchases(*days_ago: float, **properties: Any) -> list[Seen]:
    return [Seen("purchase_completed", NOW - d * DAY, properties) for d in days_ago]


def facts(activities: list[Seen], **fields: Any) -> Facts:
    base = {"stage": "active", "churn_score": 70}
    return Facts(
        fields={**base, **fields},
        consent=frozenset({("email", "marketing")}),
        activities=activities,
    )


def test_the_issue_example_parses_into_its_clauses() -> None:
    rule = parse(ACTIVE_BUYER, SCHEMA)
    assert isinstance(rule, Group) and rule.kind == "all"
    assert [c.path for c in rule.clauses] == [f"rule.all[{i}]" for i in range(4)]
    activity = rule.clauses[1]
    assert activity == Activity("rule.all[1]", "purchase_completed", 90, 2)


@pytest.mark.parametrize(
    ("rule", "path", "words"),
    [
        ({"all": [{"field": "stag", "op": "eq", "value": "x"}]}, "rule.all[0].field", "'stag'"),
        ({"attribute": "shoe", "op": "eq", "value": 1}, "rule.attribute", "not a declared"),
        ({"attribute": "vip", "op": "eq", "value": "yes"}, "rule.value", "true or false"),
        ({"attribute": "vip", "op": "gt", "value": True}, "rule.op", "number or date"),
        ({"attribute": "birthday", "op": "lt", "value": "2026-13-01"}, "rule.value", "date"),
        ({"field": "orders", "op": "between", "value": 1}, "rule.op", "no operator"),
        ({"field": "orders", "op": "gt"}, "rule.value", "needs a value"),
        ({"field": "orders", "op": "gt", "value": "many"}, "rule.value", "number"),
        ({"any": []}, "rule.any", "at least one"),
        ({"not": {"nothing": 1}}, "rule.not", "unknown clause"),
        ({"activity": "purchase", "within_days": 9}, "rule.activity", "no activity"),
        ({"activity": "purchase_completed", "within_days": 0}, "rule.within_days", "1 to"),
        (
            {"activity": "purchase_completed", "within_days": 9, "at_least": 3, "at_most": 2},
            "rule.at_most",
            "below",
        ),
        ({"consent": {"channel": "fax", "purpose": "marketing"}}, "rule.consent.channel", "email"),
        ({"field": "orders", "op": "exists", "extra": 1}, "rule.extra", "unknown key"),
        ([1], "rule", "an object"),
    ],
)
def test_a_faulty_rule_names_its_clause(rule: Any, path: str, words: str) -> None:
    with pytest.raises(RuleError) as raised:
        parse(rule, SCHEMA)
    assert raised.value.path == path
    assert words in raised.value.message


def test_an_activity_kind_is_named_once_whatever_its_versions() -> None:
    """complaint_resolved travels as v1 (old events) and v2 (sealed): one kind to name."""
    with pytest.raises(RuleError) as raised:
        parse({"activity": "purchase", "within_days": 9}, SCHEMA)
    assert raised.value.message.count("complaint_resolved") == 1
    parsed = parse({"activity": "complaint_resolved", "within_days": 9}, SCHEMA)
    assert isinstance(parsed, Activity) and parsed.kind == "complaint_resolved"


def test_a_rule_is_bounded_in_size_and_depth() -> None:
    wide = {"any": [{"field": "orders", "op": "exists"}] * 60}
    with pytest.raises(RuleError, match="at most 50 clauses"):
        parse(wide, SCHEMA)
    deep: dict[str, Any] = {"field": "orders", "op": "exists"}
    for _ in range(8):
        deep = {"not": deep}
    with pytest.raises(RuleError, match="nest at most"):
        parse(deep, SCHEMA)


def test_the_active_buyer_holds_with_two_purchases_inside_the_window() -> None:
    rule = parse(ACTIVE_BUYER, SCHEMA)
    assert holds(rule, facts(purchases(10, 80)), NOW)
    assert not holds(rule, facts(purchases(10, 95)), NOW)  # one fell out of the window
    assert not holds(rule, facts(purchases(10, 80), churn_score=59), NOW)
    assert not holds(rule, facts(purchases(10, 80), stage="silent"), NOW)
    no_consent = Facts(fields={"stage": "active", "churn_score": 70}, activities=purchases(1, 2))
    assert not holds(rule, no_consent, NOW)


def test_the_window_edge_is_when_the_oldest_counted_purchase_leaves() -> None:
    rule = parse(ACTIVE_BUYER, SCHEMA)
    customer = facts(purchases(10, 80))
    edge = next_edge(rule, customer, NOW)
    assert edge == NOW + 10 * DAY  # the purchase of 80 days ago leaves at 90
    assert holds(rule, customer, edge - timedelta(seconds=1))
    assert not holds(rule, customer, edge)
    later = next_edge(rule, customer, edge)
    assert later == NOW + 80 * DAY
    assert next_edge(rule, facts([]), NOW) is None


def test_at_most_zero_is_a_silence_that_begins_at_the_edge() -> None:
    silent = parse({"activity": "purchase_completed", "within_days": 30, "at_most": 0}, SCHEMA)
    customer = facts(purchases(20))
    assert not holds(silent, customer, NOW)
    edge = next_edge(silent, customer, NOW)
    assert edge == NOW + 10 * DAY and holds(silent, customer, edge)


def test_properties_narrow_the_counted_activities() -> None:
    rule = parse(
        {
            "activity": "purchase_completed",
            "within_days": 30,
            "where": [{"property": "channel", "op": "eq", "value": "web"}],
        },
        SCHEMA,
    )
    assert holds(rule, facts(purchases(1, channel="web")), NOW)
    assert not holds(rule, facts(purchases(1, channel="pos")), NOW)
    assert not holds(rule, facts(purchases(1)), NOW)


def test_attributes_compare_by_their_type() -> None:
    rule = parse(
        {
            "all": [
                {"attribute": "vip", "op": "eq", "value": True},
                {"attribute": "interests", "op": "contains", "value": "running"},
                {"attribute": "birthday", "op": "lt", "value": "2000-01-01"},
                {"not": {"attribute": "shoe_size", "op": "in", "value": [44, 45]}},
            ]
        },
        SCHEMA,
    )
    values = {"vip": True, "interests": ["running"], "birthday": "1990-05-01", "shoe_size": 42}
    assert holds(rule, Facts(fields={}, attributes=values), NOW)
    assert not holds(rule, Facts(fields={}, attributes={**values, "shoe_size": 44}), NOW)
    assert not holds(rule, Facts(fields={}, attributes={**values, "vip": 1}), NOW)


def test_a_missing_fact_holds_no_comparison_but_ne() -> None:
    assert not compare(Compare("p", "field", "last_nps", "lt", 7), None)
    assert compare(Compare("p", "field", "last_nps", "ne", 7), None)
    assert not compare(Compare("p", "field", "last_nps", "exists"), None)
    assert not compare(Compare("p", "field", "stage", "gt", 3), "active")


def test_explain_names_every_clause_and_whether_it_held() -> None:
    rule = parse(ACTIVE_BUYER, SCHEMA)
    held = dict(explain(rule, facts(purchases(10), churn_score=80), NOW))
    assert held == {
        "rule": False,
        "rule.all[0]": True,
        "rule.all[1]": False,
        "rule.all[2]": True,
        "rule.all[3]": True,
    }


def test_a_saved_rule_reads_without_the_schema_and_knows_its_longest_window() -> None:
    rule = parse(
        {
            "any": [
                {"attribute": "gone", "op": "eq", "value": 1},
                {"activity": "engagement_recorded", "within_days": 400},
                {"activity": "purchase_completed", "within_days": 90},
            ]
        },
        None,
    )
    assert longest_window([rule]) == 400
    assert not holds(rule, Facts(fields={}), NOW)
