"""What an operator's decision on a merge candidate does (plain Python)."""

from __future__ import annotations

import pytest

from services.profile.merging import judge, merge_reason, plan_merge
from services.profile.resolution import Contact

LI, WEI = "li@example.com", "wei@example.com"
PHONE = "+8613800000000"


@pytest.mark.parametrize(
    ("status", "decision", "verdict"),
    [
        ("open", "confirm", "apply"),
        ("open", "dismiss", "apply"),
        ("confirmed", "confirm", "repeat"),
        ("dismissed", "dismiss", "repeat"),
        ("confirmed", "dismiss", "conflict"),
        ("dismissed", "confirm", "conflict"),
    ],
)
def test_a_candidate_is_decided_once_and_a_repeat_is_harmless(status, decision, verdict):
    assert judge(status, decision) == verdict


def test_references_move_and_a_shared_email_is_released():
    plan = plan_merge(
        Contact("Li Wei", LI, PHONE),
        Contact("Li", LI, None),
        [("ref:shop", "S-1"), ("ref:app", "A-7"), ("email", LI)],
    )

    assert plan.moved == [("ref:app", "A-7"), ("ref:shop", "S-1")]
    assert plan.released == [("email", LI)]
    assert plan.filled == {}


def test_the_survivors_details_win_and_its_empty_ones_are_filled_from_the_merged():
    plan = plan_merge(
        Contact(None, LI, None), Contact("Wei", WEI, PHONE), [("email", WEI), ("phone", PHONE)]
    )

    assert plan.released == [("email", WEI)]
    assert plan.moved == [("phone", PHONE)]
    assert plan.filled == {"phone": PHONE, "name": "Wei"}


def test_an_identity_the_merged_record_does_not_carry_is_released():
    plan = plan_merge(Contact(), Contact(email=LI), [("email", WEI), ("email", LI)])

    assert plan.moved == [("email", LI)]
    assert plan.released == [("email", WEI)]
    assert plan.record() == {
        "moved": [["email", LI]],
        "released": [["email", WEI]],
        "filled": {"email": LI},
    }


def test_the_reason_is_the_operators_or_what_matched():
    assert merge_reason(["email", "phone"], None) == (
        "merge candidate confirmed (email and phone matched)"
    )
    assert merge_reason(["email"], "same person, called") == "same person, called"
