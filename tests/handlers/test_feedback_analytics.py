"""Feedback's analytics on the fast tier: the tier loyalty announces and the value class
lifecycle announces are folded (the newest wins, whatever the arrival order), each
order's channel is kept once, answers keep the channel a partner gives, and the
satisfaction and channel figures read from them match a hand computation."""

from __future__ import annotations

import uuid
from datetime import timedelta

from services.feedback import channels, satisfaction
from services.feedback.tables import channel_order, respondent, segment_member, survey_response
from shared.events.activity import ComplaintFiled, PurchaseCompleted, SurveyResponded
from shared.events.feedback import PreferredChannelChanged
from shared.events.lifecycle import StageCause, StageChanged, ValueClassChanged
from shared.events.loyalty import TierChanged
from shared.events.profile import ConsentChanged, SegmentEntered, SegmentExited
from tests.handlers.bench import NOW, TENANT, event

ACTIVITY, LIFECYCLE = "feedback-activity", "feedback-lifecycle"
LOYALTY, PROFILE = "feedback-loyalty", "feedback-profile"
DAY = timedelta(days=1)
WINDOW = (NOW - 30 * DAY, NOW + DAY)


def tiered(customer, to, at):  # type: ignore[no-untyped-def]
    return event(TierChanged(from_tier=None, to_tier=to, cause="spend", at=at), customer, at)


def valued(customer, to, at):  # type: ignore[no-untyped-def]
    data = ValueClassChanged(to_class=to, clv_minor=100, currency="EUR", at=at)
    return event(data, customer, at)


def staged(customer, to, at):  # type: ignore[no-untyped-def]
    cause = StageCause(kind="event", ref="x")
    return event(StageChanged.model_validate({"to": to, "at": at, "cause": cause}), customer, at)


def answered(customer, survey, score, at, channel=None):  # type: ignore[no-untyped-def]
    return event(SurveyResponded(survey=survey, score=score, channel=channel), customer, at)


def bought(customer, order, amount, at, channel="web", currency="EUR"):  # type: ignore[no-untyped-def]
    data = PurchaseCompleted(
        order_id=order, amount_minor=amount, currency=currency, channel=channel
    )
    return event(data, customer, at)


def complained(customer, ref, channel, at):  # type: ignore[no-untyped-def]
    data = ComplaintFiled(complaint_ref=ref, severity="low", category="delivery", channel=channel)
    return event(data, customer, at)


async def test_the_newest_tier_and_value_class_are_folded_whatever_the_order(bench_of):
    feedback, customer = await bench_of("feedback"), uuid.uuid4()

    gold, silver = tiered(customer, "gold", NOW), tiered(customer, "silver", NOW - DAY)
    await feedback.consume(LOYALTY, gold, silver)
    await feedback.consume(LIFECYCLE, valued(customer, "B", NOW - DAY), valued(customer, "A", NOW))
    await feedback.consume(LIFECYCLE, valued(customer, "C", NOW - 2 * DAY))

    [row] = await feedback.rows(respondent, customer_id=customer)
    assert (row["tier"], row["tier_at"], row["value_class"]) == ("gold", NOW, "A")


async def test_orders_keep_their_channel_once_and_answers_the_partners_channel(bench_of):
    feedback, customer = await bench_of("feedback"), uuid.uuid4()
    purchase = bought(customer, "O-1", 1250, NOW, channel="store")

    await feedback.consume(ACTIVITY, purchase, answered(customer, "nps", 9, NOW, "email"))
    await feedback.consume(ACTIVITY, bought(customer, "O-1", 1250, NOW, channel="store"))

    [order] = await feedback.rows(channel_order, customer_id=customer)
    assert (order["channel"], order["amount_minor"], order["currency"]) == ("store", 1250, "EUR")
    [response] = await feedback.rows(survey_response, customer_id=customer)
    assert response["channel"] == "email"


async def test_scores_by_stage_and_week_match_a_hand_computation(bench_of):
    feedback = await bench_of("feedback")
    ann, bo, cy = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    monday = NOW.replace(hour=9) - timedelta(days=NOW.weekday())  # 2026-11-16
    await feedback.consume(LIFECYCLE, staged(ann, "active", NOW - 20 * DAY),
                           staged(bo, "loyal", NOW - 20 * DAY))  # fmt: skip
    await feedback.consume(
        ACTIVITY,
        answered(ann, "nps", 10, monday),
        answered(ann, "nps", 3, monday + DAY),
        answered(bo, "nps", 9, monday + 2 * DAY),
        answered(bo, "nps", 8, monday - DAY),  # the week before
        answered(cy, "nps", 0, monday),  # no stage known
    )

    cells = await satisfaction.grouped_scores(feedback.engine, TENANT, WINDOW, "stage", "week")

    week, before = monday.replace(hour=0), monday.replace(hour=0) - 7 * DAY
    found = {cell: (s["nps"]["score"], s["nps"]["responses"]) for cell, s in cells.items()}
    assert found == {
        (week, "active"): (0.0, 2),  # one promoter, one detractor
        (week, "loyal"): (100.0, 1),
        (week, None): (-100.0, 1),
        (before, "loyal"): (0.0, 1),  # a passive
    }
    assert satisfaction.ordered(cells) == [
        (before, "loyal"), (week, "active"), (week, "loyal"), (week, None),
    ]  # fmt: skip


async def test_channel_figures_match_a_hand_computation(bench_of):
    feedback = await bench_of("feedback")
    ann, bo, cy = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    at = NOW - 5 * DAY
    withdrawn = ConsentChanged(
        channel="email", purpose="surveys", granted=False, at=at, source="api"
    )
    await feedback.consume(PROFILE, event(withdrawn, cy, at))
    await feedback.consume(
        ACTIVITY,
        bought(ann, "A-1", 1000, at), bought(ann, "A-2", 2001, at),  # web, EUR
        bought(ann, "A-3", 500, at, channel="store"),
        bought(bo, "B-1", 999, at, channel="store", currency="CNY"),
        bought(cy, "C-1", 100, at),
        answered(cy, "nps", 10, at, "email"), answered(cy, "nps", 2, at, "email"),
        answered(bo, "nps", 9, at, "store"),
        complained(bo, "K-1", "phone", at),
        bought(ann, "A-0", 700, NOW - 60 * DAY),  # before the window
    )  # fmt: skip

    by_channel = {f["channel"]: f for f in await channels.channel_figures(
        feedback.engine, TENANT, WINDOW)}  # fmt: skip

    web, store, email, phone = (by_channel[c] for c in ("web", "store", "email", "phone"))
    assert (web["customers"], web["orders"], web["complaint_rate"]) == (2, 3, 0.0)
    assert web["revenue"] == [
        {"currency": "EUR", "orders": 3, "revenue_minor": 3101, "average_order_minor": 1034}
    ]
    assert (store["customers"], store["orders"], store["complaint_rate"]) == (2, 2, 0.5)
    assert [r["currency"] for r in store["revenue"]] == ["CNY", "EUR"]
    assert (phone["complaints"], phone["customers"], phone["complaint_rate"]) == (1, 0, None)
    assert (email["nps"]["score"], email["nps"]["responses"]) == (0.0, 2)
    # Ann: web 2, store 1 → web. Bo: store 2. Cy: email 2 but withdrawn → web 1.
    assert {c: by_channel[c]["preferred_by"] for c in by_channel} == {
        "web": 2, "store": 1, "email": 0, "phone": 0,
    }  # fmt: skip
    assert web["preferred_share"] == round(2 / 3, 4)


async def test_the_preferred_channel_is_announced_when_it_changes(bench_of):
    feedback, ann = await bench_of("feedback"), uuid.uuid4()
    at = NOW - 5 * DAY

    await feedback.consume(ACTIVITY, bought(ann, "A-1", 100, at, channel="store"))
    await feedback.consume(
        ACTIVITY, bought(ann, "A-2", 100, at), answered(ann, "nps", 9, at, "web")
    )
    await feedback.consume(ACTIVITY, bought(ann, "A-3", 100, at, channel="store"))  # a tie
    withdrawn = ConsentChanged(channel="sms", purpose="surveys", granted=False, at=at, source="x")
    await feedback.consume(PROFILE, event(withdrawn, ann, at))  # not a channel she uses
    await feedback.consume(
        ACTIVITY, *(answered(ann, "csat", 5, at + k * DAY, "sms") for k in range(3))
    )

    announced = await feedback.payloads(PreferredChannelChanged)
    # store; web (2 to 1); a 2–2 tie goes to the first by name: store; sms withdrawn.
    assert [(p.previous, p.channel) for p in announced] == [
        (None, "store"), ("store", "web"), ("web", "store"),
    ]  # fmt: skip
    [row] = await feedback.rows(respondent, customer_id=ann)
    assert row["preferred_channel"] == "store"


def segmented(customer, segment, entered, at):  # type: ignore[no-untyped-def]
    kind = SegmentEntered if entered else SegmentExited
    return event(kind(segment_id=segment, name=f"name of {segment}", at=at), customer, at)


async def test_scores_by_segment_count_an_answer_in_each_segment_its_customer_is_in(bench_of):
    feedback = await bench_of("feedback")
    ann, bo, cy = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await feedback.consume(
        PROFILE,
        segmented(ann, "vip", True, NOW - 9 * DAY),
        segmented(ann, "web", True, NOW - 9 * DAY),
        segmented(bo, "vip", True, NOW - 9 * DAY),
        segmented(cy, "vip", True, NOW - 9 * DAY),
        segmented(cy, "vip", False, NOW - 8 * DAY),  # left again: in no segment
    )
    await feedback.consume(
        ACTIVITY,
        answered(ann, "nps", 10, NOW - DAY),
        answered(bo, "nps", 2, NOW - DAY),
        answered(cy, "nps", 9, NOW - DAY),
    )

    cells = await satisfaction.grouped_scores(feedback.engine, TENANT, WINDOW, "segment", None)

    found = {cell[1]: (s["nps"]["score"], s["nps"]["responses"]) for cell, s in cells.items()}
    assert found == {"vip": (0.0, 2), "web": (100.0, 1), None: (100.0, 1)}
    assert len(await feedback.rows(segment_member, customer_id=ann)) == 2
