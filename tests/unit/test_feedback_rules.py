"""Feedback rules: complaint SLAs per severity (from the shipped file), resolution and
NPS buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.feedback.domain import may_resolve, nps_category, resolvable, within_sla
from services.feedback.domain import sla_due as sla_due_in
from services.feedback.domain.config import load_config
from services.feedback.settings import SHIPPED_CONFIG

OPENED = datetime(2026, 11, 20, 10, 15, tzinfo=UTC)
CONFIG = load_config(SHIPPED_CONFIG)


def sla_due(severity, opened_at):
    return sla_due_in(CONFIG, severity, "delivery", opened_at)


@pytest.mark.parametrize(
    ("severity", "hours"), [("critical", 4), ("high", 24), ("medium", 48), ("low", 72)]
)
def test_sla_due_depends_on_severity(severity, hours):
    assert sla_due(severity, OPENED) == OPENED + timedelta(hours=hours)


def test_more_severe_complaints_are_due_sooner():
    order = ["critical", "high", "medium", "low"]

    assert [sla_due(s, OPENED) for s in order] == sorted(sla_due(s, OPENED) for s in order)


def test_sla_of_an_unknown_severity_is_an_error():
    with pytest.raises(KeyError):
        sla_due("urgent", OPENED)


@pytest.mark.parametrize(
    ("score", "category"),
    [
        (0, "detractor"),
        (6, "detractor"),
        (7, "passive"),
        (8, "passive"),
        (9, "promoter"),
        (10, "promoter"),
    ],
)
def test_nps_bucket_boundaries(score, category):
    assert nps_category(score) == category


@given(score=st.integers(min_value=0, max_value=10))
def test_every_nps_score_falls_in_exactly_its_bucket(score):
    expected = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"

    assert nps_category(score) == expected


def test_a_complaint_resolved_by_its_deadline_kept_the_sla_and_one_after_did_not():
    due = sla_due("high", OPENED)

    assert within_sla(due, OPENED + timedelta(hours=3))
    assert within_sla(due, due)
    assert not within_sla(due, due + timedelta(seconds=1))


def test_only_an_open_complaint_can_be_resolved_and_only_after_it_was_opened():
    later = OPENED + timedelta(minutes=1)

    assert resolvable("open", OPENED, later)
    assert resolvable("open", OPENED, OPENED)
    assert not resolvable("resolved", OPENED, later)
    assert not resolvable("open", later, OPENED)


def test_an_escalated_complaint_can_still_be_resolved():
    assert resolvable("escalated", OPENED, OPENED + timedelta(days=3))


@pytest.mark.parametrize(
    ("filed_by", "resolver", "allowed"),
    [
        ("pos", "pos", True),
        ("pos", "web", False),
        ("pos", None, False),
        (None, "pos", False),  # filed before partners were recorded: the desk only
        (None, None, False),
    ],
)
def test_only_the_filing_partner_may_resolve_a_complaint_by_event(filed_by, resolver, allowed):
    assert may_resolve(filed_by, resolver) is allowed
