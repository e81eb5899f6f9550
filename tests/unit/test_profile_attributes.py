"""The attribute rules: a value only for a declared name and of its type, JSON merge
patches, a name keeping its type for good, and consent's latest-decision-wins."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.profile import attributes
from services.profile.attributes import Definition, InvalidAttributes
from services.profile.consent import Decision, granted, judge

SCHEMA = {
    d.name: d
    for d in [
        Definition("plan", "string"),
        Definition("score", "number"),
        Definition("vip", "boolean"),
        Definition("birthday", "date"),
        Definition("tags", "list"),
    ]
}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("plan", 3),
        ("score", "3"),
        ("score", True),
        ("score", float("inf")),
        ("vip", 1),
        ("birthday", "2026-02-30"),
        ("birthday", "20260101"),
        ("tags", ["a", 1]),
        ("tags", "a"),
        ("shoe", 42),
        ("shoe", None),
    ],
)
def test_an_undeclared_name_or_a_value_of_another_type_is_refused_by_name(name, value):
    with pytest.raises(InvalidAttributes) as refused:
        attributes.checked(SCHEMA, {"plan": "gold", name: value})
    assert [field for field, _ in refused.value.errors] == [name]


def test_a_merge_patch_replaces_removes_and_keeps():
    patch = attributes.checked(SCHEMA, {"plan": "gold", "vip": None, "score": 4.5})
    after = attributes.merged({"vip": True, "tags": ["tea"]}, patch)
    assert after == {"tags": ["tea"], "plan": "gold", "score": 4.5}
    assert attributes.changed_names({"vip": True, "tags": ["tea"]}, after) == [
        "plan",
        "score",
        "vip",
    ]


def test_a_partners_patch_keeps_what_fits_and_names_what_it_drops():
    kept, dropped = attributes.accepted(SCHEMA, {"plan": "gold", "vip": "yes", "shoe": 42})
    assert (kept, dropped) == ({"plan": "gold"}, ["shoe", "vip"])


def test_a_name_keeps_its_type_for_good_even_once_removed():
    with pytest.raises(InvalidAttributes) as refused:
        attributes.replacement({"plan": "string"}, [Definition("plan", "number")])
    assert refused.value.errors[0][0] == "plan"
    assert attributes.replacement({"plan": "string"}, [Definition("plan", "string")])


def decision(granted_: bool, at: datetime) -> Decision:
    return Decision(
        uuid.uuid4(), "t", uuid.UUID(int=1), "email", "marketing", granted_, at, "pos", None, "x"
    )


def test_the_latest_decision_by_its_time_wins_and_none_means_no():
    now = datetime(2026, 11, 30, tzinfo=UTC)
    judged = judge({}, [decision(False, now), decision(True, now - timedelta(days=1))])
    assert [applied for _, applied in judged] == [True, False]
    states = [judged[0][0].state()]
    assert not granted(states, "email", "marketing")
    assert not granted(states, "sms", "marketing")
    assert judge({states[0].slot: states[0]}, [decision(True, now)])[0][1]
