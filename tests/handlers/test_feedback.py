"""Feedback's consumer on the fast tier: a filed complaint opens with its SLA and only
its filing partner resolves it by event; survey answers are stored and announced with
their NPS category; purchases schedule throttled invitations, which an answer closes;
the same event twice has one effect; an answer off its scale is dead-lettered. And the
application functions beside it, on the same database: the sweep escalates a breached
complaint a level at a time and lapses an unanswered invitation; the desk resolves an
open complaint once."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import orjson
import pytest
from pydantic import SecretStr

from services.feedback import answers, resolutions
from services.feedback.domain.config import load_config
from services.feedback.domain.surveys import OffScale
from services.feedback.settings import SHIPPED_CONFIG, FeedbackSettings
from services.feedback.sweep import Sweeper, sweep_due
from services.feedback.tables import complaint, survey_invitation, survey_response
from shared.events import CloudEvent, encode
from shared.events.activity import (
    ComplaintFiled,
    ComplaintResolved,
    ComplaintResolvedV2,
    PurchaseCompleted,
    SurveyResponded,
)
from shared.events.feedback import (
    ComplaintEscalated,
    ComplaintOpened,
    SurveyAnswered,
    SurveyInvited,
)
from shared.events.feedback import ComplaintResolved as Resolved
from shared.sealing import seal_payload
from shared.sweeps import Swept
from tests.handlers.bench import NOW, TENANT, Bench, event

GROUP = "feedback-activity"
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def filed(customer: uuid.UUID, ref: str, severity: str, at: datetime, partner: str) -> CloudEvent:
    data = ComplaintFiled(complaint_ref=ref, severity=severity, category="delivery", channel="web")
    return event(data, customer, at, partner=partner)


def resolving(
    customer: uuid.UUID, ref: str, at: datetime, partner: str, points: int = 0
) -> CloudEvent:
    data = ComplaintResolved(complaint_ref=ref, resolution="refunded", compensation_points=points)
    return event(data, customer, at, partner=partner)


def answer(customer: uuid.UUID, survey: str, score: int, at: datetime = NOW) -> CloudEvent:
    return event(SurveyResponded(survey=survey, score=score), customer, at)


def bought(customer: uuid.UUID, order: str, at: datetime) -> CloudEvent:
    data = PurchaseCompleted(order_id=order, amount_minor=1000, currency="CNY", channel="web")
    return event(data, customer, at)


async def test_a_filed_complaint_opens_with_its_sla_once(bench_of):
    feedback, customer = await bench_of("feedback"), uuid.uuid4()
    first = filed(customer, "T-1", "critical", NOW, "desk-app")

    await feedback.consume(GROUP, first, first)
    await feedback.consume(GROUP, first, filed(customer, "T-2", "low", NOW + HOUR, "desk-app"))

    rows = {r["complaint_ref"]: r for r in await feedback.rows(complaint, customer_id=customer)}
    assert rows["T-1"]["status"] == "open" and rows["T-1"]["partner"] == "desk-app"
    assert rows["T-1"]["due_at"] == NOW + 4 * HOUR  # feedback.toml: critical = 4 hours
    assert rows["T-1"]["escalate_at"] == NOW + 4 * HOUR
    opened = await feedback.payloads(ComplaintOpened)
    assert [(o.complaint_ref, o.open_complaints) for o in opened] == [("T-1", 1), ("T-2", 2)]


async def test_only_the_filing_partner_resolves_a_complaint_by_event(bench_of):
    feedback, customer = await bench_of("feedback"), uuid.uuid4()
    await feedback.consume(GROUP, filed(customer, "T-1", "high", NOW, "tickets"))

    await feedback.consume(
        GROUP,
        resolving(customer, "T-1", NOW + HOUR, "intruder", points=10_000_000),
        resolving(customer, "T-9", NOW + HOUR, "tickets"),  # never filed
    )
    [still] = await feedback.rows(complaint, customer_id=customer)
    assert still["status"] == "open" and await feedback.published(Resolved) == []

    await feedback.consume(GROUP, resolving(customer, "T-1", NOW + 2 * HOUR, "tickets", 300))
    await feedback.consume(GROUP, resolving(customer, "T-1", NOW + 3 * HOUR, "tickets", 300))

    [closed] = await feedback.rows(complaint, customer_id=customer)
    assert (closed["status"], closed["resolved_by"]) == ("resolved", "partner:tickets")
    assert closed["resolved_at"] == NOW + 2 * HOUR and closed["escalate_at"] is None
    [announced] = await feedback.payloads(Resolved)
    assert (announced.within_sla, announced.compensation_points) == (True, 300)
    assert (announced.open_complaints, announced.resolved_by) == (0, "partner:tickets")


async def test_a_complaint_filed_and_resolved_in_one_batch_closes(bench_of):
    feedback, customer = await bench_of("feedback"), uuid.uuid4()

    await feedback.consume(
        GROUP,
        filed(customer, "T-1", "medium", NOW, "tickets"),
        resolving(customer, "T-1", NOW + 60 * HOUR, "tickets"),
    )

    [closed] = await feedback.rows(complaint, customer_id=customer)
    assert closed["status"] == "resolved"
    [announced] = await feedback.payloads(Resolved)
    assert announced.within_sla is False  # feedback.toml: medium = 48 hours


async def test_survey_answers_are_stored_once_and_announced_with_their_nps_category(bench_of):
    feedback, customer = await bench_of("feedback"), uuid.uuid4()
    detractor = answer(customer, "nps", 3)

    await feedback.consume(GROUP, detractor, answer(customer, "csat", 5), detractor)
    await feedback.consume(GROUP, detractor)

    rows = await feedback.rows(survey_response, customer_id=customer)
    assert sorted((r["survey"], r["score"]) for r in rows) == [("csat", 5), ("nps", 3)]
    answered = await feedback.payloads(SurveyAnswered)
    assert [(a.survey, a.score, a.category) for a in answered] == [
        ("nps", 3, "detractor"),
        ("csat", 5, None),
    ]


async def test_an_answer_off_its_scale_is_dead_lettered_and_nothing_is_stored(bench_of):
    feedback, customer = await bench_of("feedback"), uuid.uuid4()
    envelope = orjson.loads(encode(answer(customer, "nps", 9)))
    envelope["data"]["score"] = 11
    off_scale = orjson.dumps(envelope)

    await feedback.consume(GROUP, off_scale)

    [dead] = feedback.dead_letters()
    assert dead.value == off_scale
    assert dead.header("crm-error") == (
        "invalid crm.activity.survey_responded.v1 data: "
        "score: Value error, a nps score is between 0 and 10, not 11"
    )
    assert await feedback.rows(survey_response, customer_id=customer) == []


async def test_purchases_schedule_a_throttled_invitation_that_an_answer_closes(bench_of):
    feedback, customer = await bench_of("feedback"), uuid.uuid4()
    await feedback.consume(
        GROUP, bought(customer, "O-1", NOW - 2 * DAY), bought(customer, "O-2", NOW - DAY)
    )
    [scheduled] = await feedback.rows(survey_invitation, customer_id=customer)
    assert (scheduled["survey"], scheduled["order_id"], scheduled["status"]) == (
        "csat",
        "O-1",
        "scheduled",
    )
    assert scheduled["due_at"] == NOW - DAY  # feedback.toml: 24 hours after the purchase

    swept = await _sweep(feedback)
    await feedback.consume(GROUP, answer(customer, "csat", 4, NOW + HOUR))

    assert swept.counts["invited"] == 1
    [invited] = await feedback.payloads(SurveyInvited)
    assert (invited.order_id, invited.invited_at) == ("O-1", NOW - DAY)  # at its due time
    [answered] = await feedback.rows(survey_invitation, customer_id=customer)
    assert (answered["status"], answered["answered_at"]) == ("answered", NOW + HOUR)


async def test_a_breached_complaint_is_escalated_a_level_at_a_time_at_its_due_times(bench_of):
    feedback, customer = await bench_of("feedback"), uuid.uuid4()
    await feedback.consume(GROUP, filed(customer, "T-1", "critical", NOW, "tickets"))
    due = NOW + 4 * HOUR  # feedback.toml: critical = 4 hours, a level more every 24 hours

    feedback.clock.move_to(due + HOUR)
    first = await _sweep(feedback)
    [row] = await feedback.rows(complaint, customer_id=customer)
    assert first.counts == {"invited": 0, "suppressed": 0, "expired": 0, "escalated": 1}
    assert (row["status"], row["escalation_level"]) == ("escalated", 1)
    assert (row["escalated_at"], row["escalate_at"]) == (due, due + 24 * HOUR)  # its breach

    feedback.clock.move_to(due + 100 * DAY)  # a level at a time, each at its time, no jump
    counts = [(await _sweep(feedback)).counts["escalated"] for _ in range(2)]
    assert counts == [2, 0]
    [top] = await feedback.rows(complaint, customer_id=customer)
    assert (top["status"], top["escalation_level"], top["escalate_at"]) == ("escalated", 3, None)
    assert top["escalated_at"] == due + 48 * HOUR
    escalations = await feedback.payloads(ComplaintEscalated)
    assert [(e.level, e.overdue_by, e.escalated_at) for e in escalations] == [
        (1, timedelta(0), due),
        (2, 24 * HOUR, due + 24 * HOUR),
        (3, 48 * HOUR, due + 48 * HOUR),
    ]


async def test_an_invitation_nobody_answers_lapses_and_a_late_answer_leaves_it(bench_of):
    feedback, customer = await bench_of("feedback"), uuid.uuid4()
    await feedback.consume(GROUP, bought(customer, "O-1", NOW - DAY))
    await _sweep(feedback)

    feedback.clock.move_to(NOW + 14 * DAY)  # feedback.toml: expires after 14 days
    swept = await _sweep(feedback)
    await feedback.consume(GROUP, answer(customer, "csat", 2, NOW + 14 * DAY))

    assert swept.counts == {"invited": 0, "suppressed": 0, "expired": 1, "escalated": 0}
    [lapsed] = await feedback.rows(survey_invitation, customer_id=customer)
    assert (lapsed["status"], lapsed["expires_at"], lapsed["answered_at"]) == (
        "expired",
        NOW + 14 * DAY,
        None,
    )
    assert len(await feedback.rows(survey_response, customer_id=customer)) == 1


async def test_the_desk_resolves_an_open_complaint_once(bench_of):
    feedback, customer = await bench_of("feedback"), uuid.uuid4()
    await feedback.consume(GROUP, filed(customer, "T-1", "high", NOW - HOUR, "tickets"))
    [row] = await feedback.rows(complaint, customer_id=customer)
    desk = resolutions.ResolveAtDesk(TENANT, customer, row["complaint_id"], "Replaced", 300)

    done = await resolutions.resolve_at_desk(
        feedback.runtime.db, desk, RULES, feedback.runtime.resources.keys
    )

    assert (done.status, done.resolved_by, done.resolved_at) == ("resolved", "desk", NOW)
    assert (done.complaint_ref, done.escalate_at, done.resolution) == ("T-1", None, "Replaced")
    [announced] = await feedback.payloads(Resolved)
    assert (announced.resolved_by, announced.compensation_points) == ("desk", 300)
    assert (announced.within_sla, announced.open_complaints) == (True, 0)
    with pytest.raises(resolutions.AlreadyResolved):
        await resolutions.resolve_at_desk(
            feedback.runtime.db, desk, RULES, feedback.runtime.resources.keys
        )
    elsewhere = resolutions.ResolveAtDesk("t-other", customer, row["complaint_id"], "x", 0)
    with pytest.raises(resolutions.UnknownComplaint):
        await resolutions.resolve_at_desk(
            feedback.runtime.db, elsewhere, RULES, feedback.runtime.resources.keys
        )
    assert len(await feedback.payloads(Resolved)) == 1


RULES = load_config(SHIPPED_CONFIG).invitations


async def _sweep(bench: Bench) -> Swept:
    """Everything due at the bench's clock, as the service's sweep does it."""
    settings = bench.runtime.settings
    assert isinstance(settings, FeedbackSettings)
    sweeper = Sweeper(settings.config, 100, settings.answer_secret)
    return await sweep_due(bench.runtime.db, sweeper)


async def test_a_detractors_answer_opens_one_recovery_case_linked_to_it(bench_of):
    feedback, customer = await bench_of("feedback"), uuid.uuid4()
    unhappy = answer(customer, "nps", 4)

    await feedback.consume(GROUP, unhappy, answer(customer, "csat", 3), unhappy)

    [response] = await feedback.rows(survey_response, customer_id=customer, survey="nps")
    [case] = await feedback.rows(complaint, customer_id=customer)
    assert (case["category"], case["status"], case["response_id"]) == (
        "detractor_recovery", "open", response["response_id"],
    )  # fmt: skip
    assert case["due_at"] == NOW + 48 * HOUR  # feedback.toml [recovery]: 48 hours
    [opened] = await feedback.payloads(ComplaintOpened)
    assert (opened.category, opened.open_complaints) == ("detractor_recovery", 1)
    answered = await feedback.payloads(SurveyAnswered)
    assert [(a.survey, a.detractor) for a in answered] == [("nps", True), ("csat", False)]


async def test_an_answer_by_token_answers_its_invitation_once_on_its_scale(bench_of):
    key = SecretStr("a survey token key of 32 characters or more")
    feedback, customer = await bench_of("feedback", survey_token_key=key), uuid.uuid4()
    await feedback.consume(GROUP, bought(customer, "O-1", NOW - DAY))
    await _sweep(feedback)
    [invited] = await feedback.payloads(SurveyInvited)
    settings = feedback.runtime.settings
    assert isinstance(settings, FeedbackSettings) and settings.answer_secret is not None
    token, db = invited.answer_token or "", feedback.runtime.db
    keys = feedback.runtime.resources.keys

    def posted(score: int, tenant: str = TENANT) -> answers.TokenAnswer:
        return answers.TokenAnswer(tenant, token, score, "ok")

    with pytest.raises(OffScale):  # a CSAT is 1–5
        await answers.answer_by_token(db, settings.answer_secret, posted(9), settings.config, keys)
    with pytest.raises(answers.UnknownInvitation):  # another tenant's gateway route
        await answers.answer_by_token(
            db, settings.answer_secret, posted(4, "t-x"), settings.config, keys
        )
    kept = await answers.answer_by_token(
        db, settings.answer_secret, posted(4), settings.config, keys
    )
    with pytest.raises(answers.NotOpen):
        await answers.answer_by_token(db, settings.answer_secret, posted(5), settings.config, keys)

    assert (kept.score, kept.invitation_id, kept.channel) == (
        4,
        uuid.UUID(invited.invitation_id),
        "email",
    )
    [closed] = await feedback.rows(survey_invitation, customer_id=customer)
    assert (closed["status"], closed["response_id"]) == ("answered", kept.response_id)
    assert await feedback.rows(complaint, customer_id=customer) == []  # 4 is no detractor's


async def test_a_sealed_v2_resolution_resolves_with_its_text_opened_even_when_parked(bench_of):
    """The gateway writes complaint_resolved.v2 with the resolution sealed: feedback opens
    it with the key profile gives (here the fast tier's key holder), whether it comes
    after its complaint or before it (parked as it came, sealed, and opened when taken);
    a v1 resolution, in the clear, still resolves as before (the tests above)."""
    feedback, li, wang = await bench_of("feedback"), uuid.uuid4(), uuid.uuid4()
    keys = feedback.runtime.resources.keys
    key = (await keys.customer_keys(TENANT, [li]))[li]  # any key profile holds opens

    def sealed(customer: uuid.UUID, ref: str, at: datetime, text: str) -> CloudEvent:
        data = ComplaintResolvedV2(complaint_ref=ref, resolution=text)
        return event(seal_payload(data, key), customer, at, partner="tickets")

    late = sealed(li, "T-1", NOW + HOUR, "Refunded, sorry Li")
    assert late.type == "crm.activity.complaint_resolved.v2" and b"sorry" not in encode(late)
    await feedback.consume(GROUP, filed(li, "T-1", "high", NOW, "tickets"), late)
    await feedback.consume(GROUP, sealed(wang, "T-2", NOW + HOUR, "Replaced for Wang"))
    assert [r["status"] for r in await feedback.rows(complaint, customer_id=wang)] == []
    await feedback.consume(GROUP, filed(wang, "T-2", "high", NOW, "tickets"))

    for customer, text in ((li, "Refunded, sorry Li"), (wang, "Replaced for Wang")):
        [closed] = await feedback.rows(complaint, customer_id=customer)
        assert (closed["status"], closed["resolution"]) == ("resolved", text)
