"""The status machines of feedback's domain: a complaint opens with its SLA, escalates a
level at a time and resolves once; an invitation is scheduled, sent, then answered or
expired. Whatever the actions and their order, neither reaches a state its machine
has no arrow to."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.feedback.domain import complaints, desk, invitations
from services.feedback.domain.complaints import Complaint, IllegalStep, Resolution
from services.feedback.domain.config import load_config
from services.feedback.domain.definitions import defaults
from services.feedback.domain.invitations import Invitation, Occasion, Planned
from services.feedback.domain.surveys import Response
from services.feedback.settings import SHIPPED_CONFIG
from shared.events.activity import SurveyKind

T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
CONFIG = load_config(SHIPPED_CONFIG)  # high: 24 hours; a level more every 24 hours, up to 3
CUSTOMER = uuid.UUID("00000000-0000-4000-8000-000000000001")
CSAT = defaults(CONFIG.invitations)["csat"]


def filed(partner: str | None = "tickets", at: datetime = T0) -> Complaint:
    return complaints.open_complaint(
        CONFIG, complaint_id=uuid.uuid4(), tenant_id="t", customer_id=CUSTOMER,
        complaint_ref="T-1", severity="high", category="delivery", channel="web",
        text="late", opened_at=at, partner=partner,
    )  # fmt: skip


def test_a_filed_complaint_opens_due_by_its_sla_and_escalates_then():
    complaint = filed()

    assert (complaint.status, complaint.escalation_level) == ("open", 0)
    assert complaint.due_at == complaint.escalate_at == T0 + 24 * HOUR


def test_a_breached_complaint_escalates_a_level_and_at_the_top_nothing_more_is_due():
    first, step = complaints.escalate_complaint(filed(), CONFIG.escalation, T0 + 30 * HOUR)

    assert step is not None and (first.status, first.escalation_level) == ("escalated", 1)
    # Made at the breach however late the sweep (a rebuild's escalates at live's times).
    assert (first.escalated_at, first.escalate_at) == (T0 + 24 * HOUR, T0 + 48 * HOUR)
    assert step.overdue_by == timedelta(0)
    top = replace(first, escalation_level=3, escalate_at=T0)
    kept, none = complaints.escalate_complaint(top, CONFIG.escalation, T0 + 100 * DAY)
    assert none is None and (kept.status, kept.escalation_level, kept.escalate_at) == (
        "escalated",
        3,
        None,
    )


def test_a_resolution_closes_an_open_or_escalated_complaint_once():
    escalated, _ = complaints.escalate_complaint(filed(), CONFIG.escalation, T0 + 30 * HOUR)
    resolution = Resolution(T0 + 31 * HOUR, "desk", "refunded", 0)

    done = complaints.resolve(escalated, resolution)

    assert (done.status, done.resolved_at, done.resolved_by) == ("resolved", resolution.at, "desk")
    assert (done.resolution, done.escalate_at) == ("refunded", None)
    with pytest.raises(IllegalStep):
        complaints.resolve(done, resolution)
    with pytest.raises(IllegalStep):  # a resolution dated before the complaint
        complaints.resolve(filed(), Resolution(T0 - HOUR, "desk", "early", 0))
    with pytest.raises(IllegalStep):
        complaints.escalate_complaint(done, CONFIG.escalation, T0 + 100 * DAY)


def test_a_partners_resolution_is_refused_with_its_reason():
    complaint, at = filed(partner="tickets"), T0 + HOUR
    done = complaints.resolve(complaint, Resolution(at, "partner:tickets", "ok", 0))

    assert complaints.refusal(complaint, CUSTOMER, "tickets", at) is None
    assert complaints.refusal(None, CUSTOMER, "tickets", at) == "unknown"
    assert complaints.refusal(complaint, uuid.uuid4(), "tickets", at) == "unknown"
    assert complaints.refusal(complaint, CUSTOMER, "intruder", at) == "not_filer"
    assert complaints.refusal(filed(partner=None), CUSTOMER, "tickets", at) == "not_filer"
    assert complaints.refusal(done, CUSTOMER, "tickets", at) == "not_open"
    assert complaints.refusal(complaint, CUSTOMER, "tickets", T0 - HOUR) == "not_open"


def test_the_desk_resolves_now_or_at_the_opening_of_a_complaint_dated_ahead():
    ahead = filed(at=T0 + DAY)

    assert complaints.desk_resolution(filed(), "ok", 5, T0 + HOUR).at == T0 + HOUR
    assert complaints.desk_resolution(ahead, "ok", 5, T0) == Resolution(T0 + DAY, "desk", "ok", 5)


actions = st.lists(
    st.tuples(st.sampled_from(["escalate", "resolve"]), st.integers(-48, 24 * 30)), max_size=12
)


@given(actions)
def test_no_sequence_of_actions_takes_a_complaint_off_its_machine(steps):
    complaint = filed()
    for action, hours in steps:
        before, at = complaint, T0 + hours * HOUR
        try:
            if action == "escalate":
                complaint, _ = complaints.escalate_complaint(complaint, CONFIG.escalation, at)
            else:
                complaint = complaints.resolve(complaint, Resolution(at, "desk", "ok", 0))
        except IllegalStep:
            assert complaint is before  # a refused step changes nothing
        assert (
            complaint.status == before.status or complaint.status in complaints.STEPS[before.status]
        )
        assert before.escalation_level <= complaint.escalation_level <= 3
        if complaint.status == "resolved":
            assert complaint.resolved_at is not None and complaint.escalate_at is None
        if complaint.status == "escalated":
            assert complaint.escalation_level >= 1 and complaint.escalated_at is not None


def scheduled(order: str = "O-1", due_at: datetime = T0) -> Invitation:
    occasion = Occasion(("t", CUSTOMER), "purchase", order, due_at - DAY)
    planned = Planned(occasion, "csat", "purchase", due_at)
    return invitations.schedule(planned, uuid.uuid4())


def response(at: datetime, survey: SurveyKind = "csat") -> Response:
    return Response(uuid.uuid4(), "t", CUSTOMER, survey, 4, None, at)


def test_an_invitation_is_sent_when_due_and_expires_after_its_days():
    sent = invitations.send(scheduled(), "email", CSAT, T0)

    assert (sent.status, sent.invited_at, sent.expires_at) == ("sent", T0, T0 + 14 * DAY)
    assert invitations.expire(sent).status == "expired"
    with pytest.raises(IllegalStep):
        invitations.send(sent, "email", CSAT, T0)
    with pytest.raises(IllegalStep):
        invitations.expire(scheduled())


def test_an_answer_closes_the_latest_invitation_of_its_kind_open_when_given():
    older = invitations.send(scheduled("O-1"), "email", CSAT, T0)
    newer = invitations.send(scheduled("O-2"), "email", CSAT, T0 + DAY)

    [closed] = invitations.answered([older, newer], [response(T0 + 2 * DAY)])
    both = invitations.answered([older, newer], [response(T0 + 2 * DAY), response(T0 + HOUR)])

    assert (closed.order_id, closed.status, closed.answered_at) == ("O-2", "answered", T0 + 2 * DAY)
    assert sorted(i.order_id or "" for i in both) == ["O-1", "O-2"]
    assert invitations.answered([older], [response(T0 - HOUR)]) == []  # before it was sent
    assert invitations.answered([older], [response(T0 + 14 * DAY)]) == []  # once expired
    assert invitations.answered([older], [response(T0 + HOUR, survey="nps")]) == []


desk_actions = st.lists(
    st.tuples(
        st.sampled_from(
            ["escalate", "resolve", "in_progress", "waiting_on_customer", "closed", "open",
             "assign"]
        ),
        st.integers(-48, 24 * 30),
    ),
    max_size=16,
)  # fmt: skip


@given(desk_actions)
def test_no_sequence_of_desk_actions_takes_a_complaint_off_its_machine(steps):
    """The desk's moves, escalations and resolutions in any order: every change is an
    arrow of the machine, a refused one changes nothing and names both states, and each
    status carries what it means (a resolution while resolved, a closing while closed,
    none while open)."""
    complaint = filed()
    for action, hours in steps:
        before, at = complaint, T0 + hours * HOUR
        try:
            complaint = _act(complaint, action, at)
        except IllegalStep as refused:
            assert complaint is before
            if action in ("in_progress", "waiting_on_customer", "closed", "open"):
                assert before.status in str(refused) and action in str(refused)
        assert (
            complaint.status == before.status or complaint.status in complaints.STEPS[before.status]
        )
        if complaint.status in complaints.OPEN_STATUSES:
            assert complaint.resolved_at is None and complaint.closed_at is None
        if complaint.status in ("resolved", "closed"):
            assert complaint.resolved_at is not None and complaint.escalate_at is None
        if complaint.status == "closed":
            assert complaint.closed_at is not None
        if complaint.status != "closed" and before.status == "closed":
            raise AssertionError("a closed complaint moved")


def _act(complaint: Complaint, action: str, at: datetime) -> Complaint:
    if action == "escalate":
        return complaints.escalate_complaint(complaint, CONFIG.escalation, at)[0]
    if action == "resolve":
        return complaints.resolve(complaint, Resolution(at, "desk", "ok", 0))
    if action == "assign":
        return desk.assign(complaint, "agent-1")
    return desk.move(complaint, action, CONFIG, at)  # type: ignore[arg-type]


def test_a_reopened_complaint_is_due_afresh_and_its_old_resolution_is_noted():
    resolved = complaints.resolve(filed(), Resolution(T0 + HOUR, "desk", "refunded", 300))

    reopened = desk.move(resolved, "open", CONFIG, T0 + 2 * DAY)
    note = desk.reopening_note(resolved, "api-key:k", T0 + 2 * DAY)

    assert (reopened.status, reopened.reopened, reopened.resolved_at) == ("open", 1, None)
    assert reopened.due_at == T0 + 2 * DAY + 24 * HOUR  # high: 24 hours, from the reopening
    assert "refunded" in note.text and "300 points" in note.text
    with pytest.raises(IllegalStep, match="closed: it cannot become open"):
        desk.move(desk.move(resolved, "closed", CONFIG, T0 + DAY), "open", CONFIG, T0 + 2 * DAY)
