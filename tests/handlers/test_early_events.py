"""Early events on the fast tier: an event that refers to another one not arrived yet
(a refund before its purchase, a resolution before its complaint) is parked, applied
right after what it waits for, in the same transaction, and dead-lettered with its
reason when it waited past ``CRM_PARKED_EVENT_MAX_WAIT_HOURS``."""

from __future__ import annotations

import uuid
from datetime import timedelta

from services.feedback import app as feedback_app
from services.feedback.tables import complaint
from services.feedback.tables import parked as feedback_parked
from services.loyalty import app as loyalty_app
from services.loyalty.tables import ledger_entry, parked
from services.profile.tables import parked as profile_parked
from shared.events.activity import OrderRefunded, PurchaseCompleted
from shared.events.feedback import ComplaintResolved as Resolved
from shared.events.feedback import SurveyAnswered
from shared.events.loyalty import PointsReversed
from tests.handlers.bench import NOW, Bench, inbound
from tests.handlers.bench import event as service_event
from tests.handlers.test_feedback import GROUP as FEEDBACK
from tests.handlers.test_feedback import filed, resolving
from tests.handlers.test_loyalty import ACTIVITY, bought, summary
from tests.handlers.test_profile_view import VIEW, known, view

HOUR = timedelta(hours=1)


def refunded(customer: uuid.UUID, order: str, amount: int, hours_after: float = 1) -> object:
    refund = OrderRefunded(order_id=order, amount_minor=amount, currency="CNY")
    return service_event(refund, customer, NOW + hours_after * HOUR)


async def ledger(bench: Bench, customer: uuid.UUID) -> list[tuple[str, int]]:
    entries = await bench.rows(ledger_entry, customer_id=customer)
    return sorted((e["kind"], e["points"]) for e in entries)


async def test_a_refund_before_its_purchase_is_parked_then_reverses_the_points(bench_of):
    loyalty, customer = await bench_of("loyalty"), uuid.uuid4()

    await loyalty.consume(ACTIVITY, refunded(customer, "O-1", 50000))
    assert [r["waits_for"] for r in await loyalty.rows(parked)] == ["order:O-1"]
    await loyalty.consume(ACTIVITY, bought(customer, "O-1", 100000))

    assert await ledger(loyalty, customer) == [("earn", 1000), ("reverse", -500)]
    assert (await summary(loyalty, customer))["points_balance"] == 500
    [reversed_] = await loyalty.payloads(PointsReversed)
    assert reversed_.order_id == "O-1"
    assert await loyalty.rows(parked) == []


async def test_the_same_events_in_either_order_give_the_same_ledger(bench_of):
    ordered, shuffled, customer = await bench_of("loyalty"), await bench_of("loyalty"), uuid.uuid4()
    purchase, refund = bought(customer, "O-1", 2500000), refunded(customer, "O-1", 2500000)

    await ordered.consume(ACTIVITY, purchase)
    await ordered.consume(ACTIVITY, refund)
    await shuffled.consume(ACTIVITY, refund, purchase)  # one batch, refund first

    assert await ledger(ordered, customer) == await ledger(shuffled, customer)
    assert await ledger(shuffled, customer) == [("earn", 25000), ("reverse", -25000)]
    assert (await summary(shuffled, customer))["tier"] == "member"
    assert await shuffled.rows(parked) == []


async def test_a_refund_waiting_too_long_is_dead_lettered_with_its_reason(bench_of):
    loyalty, customer = await bench_of("loyalty"), uuid.uuid4()
    await loyalty.consume(ACTIVITY, refunded(customer, "O-404", 1000))
    parking = loyalty_app.parking(loyalty.runtime)

    swept = await parking.expire(loyalty.runtime.db, loyalty.bus, 10)
    assert swept.counts == {} and loyalty.dead_letters() == []  # not yet

    loyalty.clock.move_to(NOW + timedelta(hours=72, seconds=1))
    swept = await parking.expire(loyalty.runtime.db, loyalty.bus, 10)

    assert swept.counts == {"dead_lettered": 1}
    [letter] = loyalty.dead_letters()
    assert letter.header("crm-origin") == "parked"
    assert "order 'O-404'" in (letter.header("crm-error") or "")
    assert await loyalty.rows(parked) == []
    await loyalty.consume(ACTIVITY, bought(customer, "O-404", 100000))
    assert await ledger(loyalty, customer) == [("earn", 1000)]  # the refund is the operator's now


async def test_a_resolution_before_its_complaint_is_parked_then_closes_it(bench_of):
    feedback, customer = await bench_of("feedback"), uuid.uuid4()

    await feedback.consume(FEEDBACK, resolving(customer, "T-1", NOW + HOUR, "tickets", 300))
    assert [r["waits_for"] for r in await feedback.rows(feedback_parked)] == ["complaint:T-1"]
    await feedback.consume(FEEDBACK, filed(customer, "T-1", "high", NOW, "tickets"))

    [closed] = await feedback.rows(complaint, customer_id=customer)
    assert (closed["status"], closed["resolved_at"]) == ("resolved", NOW + HOUR)
    [announced] = await feedback.payloads(Resolved)
    assert (announced.compensation_points, announced.open_complaints) == (300, 0)
    assert await feedback.rows(feedback_parked) == []


async def test_a_complaint_and_its_resolution_in_either_order_end_alike(bench_of):
    ordered, shuffled, customer = (
        await bench_of("feedback"),
        await bench_of("feedback"),
        uuid.uuid4(),
    )
    filing = filed(customer, "T-1", "critical", NOW, "tickets")
    resolution = resolving(customer, "T-1", NOW + HOUR, "tickets")

    await ordered.consume(FEEDBACK, filing)
    await ordered.consume(FEEDBACK, resolution)
    await shuffled.consume(FEEDBACK, resolution)
    await shuffled.consume(FEEDBACK, filing)

    def outcome(rows: list[dict[str, object]]) -> list[tuple[object, ...]]:
        return [(r["complaint_ref"], r["status"], r["resolved_at"], r["resolved_by"]) for r in rows]

    assert outcome(await ordered.rows(complaint)) == outcome(await shuffled.rows(complaint))
    assert outcome(await shuffled.rows(complaint))[0][1] == "resolved"


async def test_a_resolution_whose_complaint_never_comes_is_dead_lettered(bench_of):
    feedback, customer = await bench_of("feedback", parked_event_max_wait_hours=2), uuid.uuid4()
    await feedback.consume(FEEDBACK, resolving(customer, "T-404", NOW, "tickets"))
    parking = feedback_app.parking(feedback.runtime)

    feedback.clock.move_to(NOW + 2 * HOUR)
    swept = await parking.expire(feedback.runtime.db, feedback.bus, 10)

    assert swept.counts == {"dead_lettered": 1}
    [letter] = feedback.dead_letters()
    assert "complaint 'T-404'" in (letter.header("crm-error") or "")
    assert letter.header("crm-service") == "feedback"
    assert await feedback.rows(feedback_parked) == []


async def test_a_refund_before_its_purchase_takes_its_revenue_from_the_360(bench_of):
    profile = await bench_of("profile")
    [customer] = await known(profile, inbound("pos", "O-0", source="pos", external_id="C-1"))
    refund = OrderRefunded(order_id="O-1", amount_minor=400, currency="EUR")
    purchase = PurchaseCompleted(order_id="O-1", amount_minor=1000, currency="EUR", channel="web")

    await profile.consume(VIEW, service_event(refund, customer, NOW + 2 * HOUR))
    assert (await view(profile, customer)).stats.revenue_minor == 1000  # O-0 alone
    await profile.consume(VIEW, service_event(purchase, customer, NOW + HOUR))

    stats = (await view(profile, customer)).stats
    assert (stats.orders, stats.revenue_minor) == (2, 1000 + 1000 - 400)
    assert await profile.rows(profile_parked) == []


async def test_the_latest_nps_answer_by_its_time_is_the_360s_whatever_the_arrival(bench_of):
    profile = await bench_of("profile")
    [customer] = await known(profile, inbound("pos", "O-0", source="pos", external_id="C-1"))
    later = SurveyAnswered(survey="nps", score=9, category="promoter", at=NOW + HOUR)
    earlier = SurveyAnswered(survey="nps", score=3, category="detractor", at=NOW)

    await profile.consume(VIEW, service_event(later, customer, NOW + HOUR))
    await profile.consume(VIEW, service_event(earlier, customer, NOW))

    assert (await view(profile, customer)).feedback.last_nps == 9


async def test_a_refund_larger_than_its_order_shows_no_negative_revenue(bench_of):
    profile = await bench_of("profile")
    [customer] = await known(profile, inbound("pos", "O-0", source="pos", external_id="C-1"))
    refund = OrderRefunded(order_id="O-0", amount_minor=2500, currency="EUR")

    await profile.consume(VIEW, service_event(refund, customer, NOW + HOUR))

    assert (await view(profile, customer)).stats.revenue_minor == 0  # 1000 - 2500, shown as 0
