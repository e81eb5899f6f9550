"""Feedback's audience on the fast tier: the stage lifecycle announces and the consent
profile announces are folded (the newest decision wins, whatever the order they
arrive in), and an invitation falling due goes out only to a customer who may be
asked: not churned, no open complaint (the CES after a resolution excepted), not
invited within the fatigue window whatever the survey, and with consent on a
channel; otherwise it is suppressed with the reason."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

from services.feedback import resolutions, store
from services.feedback.domain.config import load_config
from services.feedback.domain.definitions import defaults
from services.feedback.settings import SHIPPED_CONFIG, FeedbackSettings
from services.feedback.sweep import Sweeper, sweep_due
from services.feedback.tables import consent, respondent, survey_invitation
from shared.events.activity import ComplaintFiled, PurchaseCompleted
from shared.events.feedback import SurveyInvited
from shared.events.lifecycle import StageCause, StageChanged
from shared.events.profile import ConsentChanged
from shared.sweeps import Swept
from tests.handlers.bench import NOW, TENANT, Bench, event

ACTIVITY, LIFECYCLE, PROFILE = "feedback-activity", "feedback-lifecycle", "feedback-profile"
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
RULES = load_config(SHIPPED_CONFIG).invitations


def bought(customer: uuid.UUID, order: str, at):  # type: ignore[no-untyped-def]
    data = PurchaseCompleted(order_id=order, amount_minor=1000, currency="CNY", channel="web")
    return event(data, customer, at)


def staged(customer: uuid.UUID, to: str, at):  # type: ignore[no-untyped-def]
    cause = StageCause(kind="timer", ref="silence")
    return event(StageChanged.model_validate({"to": to, "at": at, "cause": cause}), customer, at)


def consented(customer: uuid.UUID, granted: bool, at, channel: str = "email"):  # type: ignore[no-untyped-def]
    data = ConsentChanged(channel=channel, purpose="surveys", granted=granted, at=at, source="api")
    return event(data, customer, at)


async def _sweep(bench: Bench) -> Swept:
    settings = bench.runtime.settings
    assert isinstance(settings, FeedbackSettings)
    return await sweep_due(bench.runtime.db, Sweeper(settings.config, 100, b"k" * 32))


async def _statuses(bench: Bench, customer: uuid.UUID) -> list[tuple[str, str | None]]:
    rows = await bench.rows(survey_invitation, customer_id=customer)
    return sorted((r["status"], r["suppressed"]) for r in rows)


async def test_the_newest_consent_decision_wins_whatever_the_order(bench_of):
    feedback, customer = await bench_of("feedback"), uuid.uuid4()

    await feedback.consume(
        PROFILE, consented(customer, False, NOW), consented(customer, True, NOW - DAY)
    )
    await feedback.consume(PROFILE, consented(customer, True, NOW - HOUR))

    [row] = await feedback.rows(consent, customer_id=customer)
    assert (row["channel"], row["purpose"], row["granted"], row["at"]) == (
        "email", "surveys", False, NOW,
    )  # fmt: skip


async def test_a_customer_who_withdrew_consent_is_not_invited(bench_of):
    feedback, customer = await bench_of("feedback"), uuid.uuid4()
    await feedback.consume(PROFILE, consented(customer, False, NOW - 3 * DAY))
    await feedback.consume(ACTIVITY, bought(customer, "O-1", NOW - 2 * DAY))

    swept = await _sweep(feedback)

    assert (swept.counts["invited"], swept.counts["suppressed"]) == (0, 1)
    assert await _statuses(feedback, customer) == [("suppressed", "no_consent")]
    assert await feedback.published(SurveyInvited) == []


async def test_a_churned_customer_is_not_invited_and_a_stage_older_than_known_changes_nothing(
    bench_of,
):
    feedback, customer = await bench_of("feedback"), uuid.uuid4()
    await feedback.consume(LIFECYCLE, staged(customer, "churned", NOW - 3 * DAY))
    await feedback.consume(LIFECYCLE, staged(customer, "active", NOW - 4 * DAY))
    await feedback.consume(ACTIVITY, bought(customer, "O-1", NOW - 2 * DAY))

    await _sweep(feedback)

    [row] = await feedback.rows(respondent, customer_id=customer)
    assert row["stage"] == "churned"
    assert await _statuses(feedback, customer) == [("suppressed", "churned")]


async def test_an_open_complaint_holds_invitations_but_not_the_ces_after_its_resolution(
    bench_of,
):
    feedback, customer = await bench_of("feedback"), uuid.uuid4()
    data = ComplaintFiled(complaint_ref="T-1", severity="low", category="delivery", channel="web")
    await feedback.consume(ACTIVITY, event(data, customer, NOW - 3 * DAY, partner="tickets"))
    await feedback.consume(ACTIVITY, bought(customer, "O-1", NOW - 2 * DAY))
    await _sweep(feedback)
    assert await _statuses(feedback, customer) == [("suppressed", "open_complaint")]

    [row] = [
        r for r in await feedback.rows(survey_invitation, customer_id=customer)
    ]  # the CSAT, suppressed
    complaint_id = (await _complaint_ids(feedback, customer))[0]
    desk = resolutions.ResolveAtDesk(TENANT, customer, complaint_id, "Refunded", 0)
    await resolutions.resolve_at_desk(
        feedback.runtime.db, desk, RULES, feedback.runtime.resources.keys
    )
    feedback.clock.move_to(NOW + 25 * HOUR)  # feedback.toml: CES 24 hours after
    swept = await _sweep(feedback)

    assert swept.counts["invited"] == 1
    [invited] = await feedback.payloads(SurveyInvited)
    assert (invited.survey, invited.occasion, invited.channel) == (
        "ces",
        "complaint_resolved",
        "email",
    )
    assert invited.answer_token is not None and row["survey"] == "csat"


async def test_one_invitation_per_fatigue_window_whatever_the_survey(bench_of):
    feedback, customer = await bench_of("feedback"), uuid.uuid4()
    nps = replace(defaults(RULES)["nps"], enabled=True, triggers=(), stages=("silent",))
    async with feedback.runtime.db.unit_of_work() as uow:
        await store.save_surveys(uow.conn, TENANT, {"nps": nps}, NOW)
        await uow.commit()
    await feedback.consume(ACTIVITY, bought(customer, "O-1", NOW - 2 * DAY))
    await _sweep(feedback)  # the CSAT, sent now
    await feedback.consume(LIFECYCLE, staged(customer, "silent", NOW))
    feedback.clock.move_to(NOW + 3 * DAY)  # the NPS due a day after: within 7 days

    await _sweep(feedback)

    assert await _statuses(feedback, customer) == [("sent", None), ("suppressed", "fatigue")]
    assert [i.survey for i in await feedback.payloads(SurveyInvited)] == ["csat"]


async def _complaint_ids(bench: Bench, customer: uuid.UUID) -> list[uuid.UUID]:
    from services.feedback.tables import complaint

    return [r["complaint_id"] for r in await bench.rows(complaint, customer_id=customer)]
