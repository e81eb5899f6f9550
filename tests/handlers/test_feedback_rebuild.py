"""Rebuilding feedback from its topics gives back the feedback it had (issue 9, item 2).

A varied history goes through feedback as it arrives live (the clock at each step's
time, the sweep just before each): purchases whose CSAT invitations are sent, answered with
their token (a detractor's opening a recovery case) or left to lapse; partners' answers;
complaints filed, escalated past their SLA, assigned, worked, resolved at the desk,
reopened and resolved again, closed; one resolved by its partner, one whose resolution
came first (parked); stages, tiers and consents folded. Then every folded table is
cleared and the same records folded again by ``shared.rebuild``: the partners' and the
other services' topics through feedback's consumers, and crm.feedback (what feedback
announced, the desk's work and the token answers among it) through the group only a
rebuild runs. Every row of every folded table is compared.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import SecretStr

from services.feedback import answers, desk, resolutions
from services.feedback import app as feedback_app
from services.feedback.app import DESK
from services.feedback.rebuild import FOLDED, due
from services.feedback.settings import FeedbackSettings
from services.feedback.tables import complaint, complaint_note, survey_invitation
from services.rebuilding import plan
from shared import topics
from shared.bus import Record
from shared.clock import FrozenClock
from shared.events import CloudEvent, encode
from shared.events.feedback import SurveyInvited
from shared.events.lifecycle import StageCause, StageChanged
from shared.events.loyalty import TierChanged
from shared.events.profile import ConsentChanged
from shared.rebuild import ReplayClock, refold
from shared.runtime import Runtime
from shared.uow import Database
from tests.handlers.bench import NOW, TENANT, Bench, event
from tests.handlers.test_feedback import answer, bought, filed, resolving

ACTIVITY, LIFECYCLE = "feedback-activity", "feedback-lifecycle"
PROFILE, LOYALTY = "feedback-profile", "feedback-loyalty"
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
START = NOW - 200 * DAY
END = NOW + 30 * DAY
KEY = SecretStr("a survey token key of 32 characters or more")
Act = Callable[[Bench], Awaitable[object]]
Step = tuple[datetime, str | Act, CloudEvent | None]


def _people() -> dict[str, uuid.UUID]:
    return {name: uuid.uuid5(uuid.NAMESPACE_URL, name) for name in ("ann", "bo", "cy", "di")}


def _stage(customer: uuid.UUID, to: str, at: datetime) -> CloudEvent:
    cause = StageCause(kind="event", ref="o")
    return event(StageChanged(**{"from": "lead", "to": to}, at=at, cause=cause), customer, at)


def _gold(customer: uuid.UUID, at: datetime) -> CloudEvent:
    moved = TierChanged(from_tier="member", to_tier="gold", cause="order:A-1", at=at)
    return event(moved, customer, at)


def _no_surveys(customer: uuid.UUID, at: datetime) -> CloudEvent:
    withdrawn = ConsentChanged(
        channel="email", purpose="surveys", granted=False, at=at, source="api"
    )
    return event(withdrawn, customer, at)


def _history() -> list[Step]:
    """(when, the consumer group or an act at the API, the event for a group)."""
    p, t = _people(), START
    steps: list[Step] = [
        (t, ACTIVITY, bought(p["ann"], "A-1", t)),
        (t, LIFECYCLE, _stage(p["ann"], "active", t)),
        (t + 2 * DAY, _token_answer("A-1", 2), None),  # a detractor's: a recovery case
        (t + 3 * DAY, ACTIVITY, bought(p["bo"], "B-1", t + 3 * DAY)),  # lapses unanswered
        (t + 4 * DAY, LOYALTY, _gold(p["ann"], t + 4 * DAY)),
        (t + 5 * DAY, PROFILE, _no_surveys(p["cy"], t + 5 * DAY)),
        (t + 6 * DAY, ACTIVITY, bought(p["cy"], "C-1", t + 6 * DAY)),  # suppressed
        (t + 10 * DAY, ACTIVITY, filed(p["ann"], "T-1", "critical", t + 10 * DAY, "tickets")),
        (t + 10 * DAY + 6 * HOUR, _desk("T-1", "in_progress", "agent-7"), None),  # escalated
        (t + 11 * DAY, _resolve_at_desk("T-1", "Replaced", 300), None),
        (t + 12 * DAY, _desk("T-1", "open", None), None),  # reopened
        (t + 12 * DAY + HOUR, _desk("T-1", None, "agent-9"), None),
        (t + 13 * DAY, _resolve_at_desk("T-1", "Refunded", 0), None),
        (t + 14 * DAY, _desk("T-1", "closed", None), None),
        (t + 20 * DAY, ACTIVITY, filed(p["bo"], "T-2", "low", t + 20 * DAY, "tickets")),
        (t + 21 * DAY, ACTIVITY, resolving(p["bo"], "T-2", t + 21 * DAY, "tickets", 50)),
        (t + 25 * DAY, ACTIVITY, bought(p["cy"], "C-2", t + 25 * DAY)),
        (t + 30 * DAY, ACTIVITY, resolving(p["di"], "T-3", t + 30 * DAY, "shop")),  # parked
        (t + 31 * DAY, ACTIVITY, filed(p["di"], "T-3", "low", t + 29 * DAY, "shop")),
        (t + 40 * DAY, ACTIVITY, answer(p["bo"], "nps", 9, t + 40 * DAY)),
        (t + 60 * DAY, ACTIVITY, bought(p["di"], "D-1", t + 60 * DAY)),
        (t + 61 * DAY + 2 * HOUR, _token_answer("D-1", 5), None),
    ]
    return sorted(steps, key=lambda step: step[0])


def _token_answer(order: str, score: int) -> Act:
    async def act(bench: Bench) -> object:
        [sent] = [i for i in await bench.payloads(SurveyInvited) if i.order_id == order]
        settings = bench.runtime.settings
        assert isinstance(settings, FeedbackSettings) and settings.answer_secret is not None
        posted = answers.TokenAnswer(TENANT, sent.answer_token or "", score, f"said {score}")
        db = bench.runtime.db
        keys = bench.runtime.resources.keys
        return await answers.answer_by_token(
            db, settings.answer_secret, posted, settings.config, keys
        )

    return act


async def _complaint(bench: Bench, ref: str) -> dict[str, Any]:
    [row] = await bench.rows(complaint, complaint_ref=ref)
    return row


def _desk(ref: str, status: str | None, assignee: str | None) -> Act:
    async def act(bench: Bench) -> object:
        row = await _complaint(bench, ref)
        settings = bench.runtime.settings
        assert isinstance(settings, FeedbackSettings)
        who = assignee if assignee is not None else desk.KEEP
        change = desk.Change(TENANT, row["customer_id"], row["complaint_id"], status, who, "k1")  # type: ignore[arg-type]
        return await desk.change(bench.runtime.db, change, settings.config)

    return act


def _resolve_at_desk(ref: str, text: str, points: int) -> Act:
    async def act(bench: Bench) -> object:
        row = await _complaint(bench, ref)
        settings = bench.runtime.settings
        assert isinstance(settings, FeedbackSettings)
        asked = resolutions.ResolveAtDesk(
            TENANT, row["customer_id"], row["complaint_id"], text, points, "key-1"
        )
        return await resolutions.resolve_at_desk(
            bench.runtime.db, asked, settings.config.invitations, bench.runtime.resources.keys
        )

    return act


async def _live(bench: Bench, history: list[Step]) -> None:
    """The history as it arrives: the clock at each step, the sweep just before it."""
    for at, what, one in history:
        bench.clock.move_to(at)
        await feedback_app.sweep(bench.runtime)  # type: ignore[arg-type]
        if isinstance(what, str):
            assert one is not None
            await bench.consume(what, one)
        else:
            await what(bench)
    bench.clock.move_to(END)
    await feedback_app.sweep(bench.runtime)  # type: ignore[arg-type]


async def _fed(bench: Bench, history: list[Step]) -> dict[str, list[Record]]:
    offsets = itertools.count()
    fed: dict[str, list[Record]] = {group: [] for group in bench.consumers}
    for _, group, one in history:
        if isinstance(group, str) and one is not None:
            fed[group].append(_record(one, next(offsets)))
    own = [e for e in await bench.published() if e.topic == topics.FEEDBACK]
    fed[DESK] = [_record(e, next(offsets)) for e in own]
    return fed


def _record(one: CloudEvent, offset: int) -> Record:
    return Record(one.topic, 0, offset, one.partitionkey.encode(), encode(one))


async def _snapshot(bench: Bench) -> dict[str, list[dict[str, Any]]]:
    return {t.name: sorted(await bench.rows(t), key=repr) for t in (*FOLDED, complaint_note)}


async def test_feedback_rebuilt_from_its_topics_is_the_feedback_it_was(bench_of):
    feedback = await bench_of("feedback", survey_token_key=KEY)
    history = _history()
    await _live(feedback, history)
    before = await _snapshot(feedback)
    fed = await _fed(feedback, history)
    outbox_before = len(await feedback.published())

    clock = ReplayClock(FrozenClock(END))
    runtime: Runtime[Any, Any] = Runtime(
        feedback.runtime.settings,
        clock,
        Database(feedback.engine, feedback.service.outbox, clock),
        feedback.bus,
        resources=feedback.runtime.resources,
    )
    applied = await refold(plan("feedback", runtime, FOLDED, feedback_app.sweep, due), fed, print)
    after = await _snapshot(feedback)

    assert applied < sum(len(r) for r in fed.values())  # not what crm.feedback concluded
    assert len(await feedback.published()) == outbox_before  # nothing announced again
    assert {t: len(rows) for t, rows in after.items()} == {
        t: len(rows) for t, rows in before.items()
    }
    for table in before:
        assert after[table] == before[table], table
    statuses = {r["status"] for r in before[survey_invitation.name]}
    assert {"answered", "expired", "suppressed"} <= statuses, statuses
    cases = {r["complaint_ref"]: r for r in before[complaint.name]}
    t1 = cases["T-1"]
    assert (t1["status"], t1["reopened"], t1["assignee"]) == ("closed", 1, "agent-9")
    assert len(cases) == 4  # T-1, T-2, T-3 and the detractor's recovery case
