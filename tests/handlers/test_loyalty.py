"""Loyalty's consumers on the fast tier: purchases earn and refunds take back points and
tier; complaints grant goodwill and compensation within their caps; a customer going
silent is offered a way back, once; the same event twice has one effect; an event of a
version loyalty does not know is dead-lettered."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from services.loyalty import views
from services.loyalty.tables import account, ledger_entry, lot, offer
from shared.events import CloudEvent, encode
from shared.events.activity import OrderRefunded, PurchaseCompleted
from shared.events.feedback import ComplaintOpened, ComplaintResolved
from shared.events.lifecycle import StageCause, StageChanged
from shared.events.loyalty import OfferGranted, PointsAdjusted, PointsEarned, TierChanged
from tests.handlers.bench import NOW, TENANT, Bench, event

ACTIVITY, FEEDBACK, LIFECYCLE = "loyalty-activity", "loyalty-feedback", "loyalty-lifecycle"
HOUR = timedelta(hours=1)


def bought(customer: uuid.UUID, order: str, amount: int, at: datetime = NOW) -> CloudEvent:
    data = PurchaseCompleted(order_id=order, amount_minor=amount, currency="CNY", channel="store")
    return event(data, customer, at)


def opened(customer: uuid.UUID, complaint: str, severity: str, at: datetime) -> CloudEvent:
    return event(ComplaintOpened(
        complaint_id=complaint, complaint_ref=complaint, severity=severity, category="fraud",
        opened_at=at, due_at=at + 4 * HOUR, open_complaints=1,
    ), customer, at)  # fmt: skip


def resolved(customer: uuid.UUID, complaint: str, points: int, at: datetime) -> CloudEvent:
    return event(ComplaintResolved(
        complaint_id=complaint, complaint_ref=complaint, severity="critical", opened_at=at,
        resolved_at=at, within_sla=True, compensation_points=points, open_complaints=0,
    ), customer, at)  # fmt: skip


def went_silent(customer: uuid.UUID, at: datetime) -> CloudEvent:
    cause = StageCause(kind="timer", ref="silence")
    return event(StageChanged(**{"from": "active", "to": "silent"}, at=at, cause=cause),
                 customer, at)  # fmt: skip


async def summary(bench: Bench, customer: uuid.UUID) -> dict[str, Any]:
    found = await views.loyalty_summary(bench.engine, TENANT, customer)
    assert found is not None
    return found.model_dump()


async def test_a_purchase_earns_its_points_and_a_big_one_buys_a_tier(bench_of):
    loyalty, customer = await bench_of("loyalty"), uuid.uuid4()

    await loyalty.consume(ACTIVITY, bought(customer, "O-1", 100000, NOW - 2 * HOUR))
    await loyalty.consume(ACTIVITY, bought(customer, "O-2", 2500000, NOW - HOUR))

    found = await summary(loyalty, customer)
    assert (found["points_balance"], found["tier"]) == (1000 + 25000, "gold")
    assert found["qualifying_spend_minor"] == 2600000
    earned = await loyalty.payloads(PointsEarned)
    assert [(e.order_id, e.points, e.balance_after) for e in earned] == [
        ("O-1", 1000, 1000),
        ("O-2", 25000, 26000),  # earned at the member rate: the order buys the tier
    ]
    [moved] = await loyalty.payloads(TierChanged)
    assert (moved.from_tier, moved.to_tier, moved.cause) == ("member", "gold", "order:O-2")
    assert len(await loyalty.rows(lot, customer_id=customer)) == 2


async def test_a_full_refund_takes_back_points_and_tier_and_the_next_order_earns_lower(bench_of):
    loyalty, customer = await bench_of("loyalty"), uuid.uuid4()
    await loyalty.consume(ACTIVITY, bought(customer, "O-1", 2500000))
    refund = OrderRefunded(order_id="O-1", amount_minor=2500000, currency="CNY")

    await loyalty.consume(ACTIVITY, event(refund, customer, NOW + HOUR))
    await loyalty.consume(ACTIVITY, bought(customer, "O-2", 10000, NOW + 2 * HOUR))

    found = await summary(loyalty, customer)
    assert (found["points_balance"], found["tier"]) == (100, "member")  # not gold's 150
    moves = await loyalty.payloads(TierChanged)
    assert [(m.from_tier, m.to_tier, m.cause) for m in moves] == [
        ("member", "gold", "order:O-1"),
        ("gold", "member", "refund:O-1"),
    ]
    entries = await loyalty.rows(ledger_entry, customer_id=customer)
    assert sorted((e["kind"], e["points"]) for e in entries) == [
        ("earn", 100),
        ("earn", 25000),
        ("reverse", -25000),
    ]


async def test_the_same_purchase_twice_or_under_another_event_earns_once(bench_of):
    loyalty, customer = await bench_of("loyalty"), uuid.uuid4()
    purchase = bought(customer, "O-1", 100000)

    await loyalty.consume(ACTIVITY, purchase, purchase)
    await loyalty.consume(ACTIVITY, purchase, bought(customer, "O-1", 100000))

    assert (await summary(loyalty, customer))["points_balance"] == 1000
    assert len(await loyalty.rows(ledger_entry, customer_id=customer)) == 1
    assert len(await loyalty.published(PointsEarned)) == 1


async def test_an_event_of_an_unknown_version_is_dead_lettered(bench_of):
    loyalty, customer = await bench_of("loyalty"), uuid.uuid4()
    newer = encode(bought(customer, "O-1", 100000)).replace(b"completed.v1", b"completed.v2")

    await loyalty.consume(ACTIVITY, newer, bought(customer, "O-2", 100000))

    [dead] = loyalty.dead_letters()
    assert dead.value == newer
    assert dead.header("crm-error") == (
        "loyalty does not support crm.activity.purchase_completed.v2"
    )
    assert (await summary(loyalty, customer))["points_balance"] == 1000


async def test_a_critical_complaint_grants_goodwill_once_and_a_low_one_opens_no_account(
    bench_of,
):
    loyalty, upset, mild = await bench_of("loyalty"), uuid.uuid4(), uuid.uuid4()
    complaint = opened(upset, "c-1", "critical", NOW)

    await loyalty.consume(FEEDBACK, complaint, complaint)
    await loyalty.consume(FEEDBACK, complaint, opened(mild, "c-2", "low", NOW))

    assert (await summary(loyalty, upset))["points_balance"] == 500  # rules.toml: critical
    [granted] = await loyalty.payloads(PointsAdjusted)
    assert (granted.ref, granted.points, granted.rule) == (
        "complaint:c-1",
        500,
        "goodwill:critical",
    )
    assert await loyalty.rows(account, customer_id=mild) == []


async def test_compensation_and_goodwill_are_cut_to_their_caps(bench_of):
    loyalty, customer = await bench_of("loyalty"), uuid.uuid4()

    await loyalty.consume(
        FEEDBACK, opened(customer, "c-1", "critical", NOW),
        resolved(customer, "c-1", 10_000_000, NOW + HOUR),
    )  # fmt: skip
    assert (await summary(loyalty, customer))["points_balance"] == 500 + 5000
    await loyalty.consume(
        FEEDBACK, opened(customer, "c-2", "critical", NOW + 2 * HOUR),
        resolved(customer, "c-2", 10_000_000, NOW + 3 * HOUR),
        opened(customer, "c-3", "critical", NOW + 4 * HOUR),
        resolved(customer, "c-1", 10_000_000, NOW + 5 * HOUR),
    )  # fmt: skip

    assert (await summary(loyalty, customer))["points_balance"] == 10000  # per customer a year
    granted = sorted((p.ref, p.points, p.rule) for p in await loyalty.payloads(PointsAdjusted))
    assert granted == [
        ("compensation:c-1", 5000, "compensation cap:per_complaint:5000 asked:10000000"),
        (
            "compensation:c-2",
            4000,
            "compensation cap:per_complaint:5000 cap:per_customer:10000/365d asked:10000000",
        ),
        ("complaint:c-1", 500, "goodwill:critical"),
        ("complaint:c-2", 500, "goodwill:critical"),
    ]


async def test_going_silent_offers_a_way_back_once_and_spending_earns_the_reward(bench_of):
    loyalty, customer = await bench_of("loyalty"), uuid.uuid4()
    await loyalty.consume(ACTIVITY, bought(customer, "O-1", 10000, NOW - 200 * HOUR))

    await loyalty.consume(LIFECYCLE, went_silent(customer, NOW))
    await loyalty.consume(LIFECYCLE, went_silent(customer, NOW + HOUR))  # silent again: no offer
    await loyalty.consume(ACTIVITY, bought(customer, "O-2", 100000, NOW + 2 * HOUR))

    [granted] = await loyalty.payloads(OfferGranted)
    assert (granted.spend_minor, granted.reward_points) == (100000, 1000)  # rules.toml
    assert granted.valid_until == NOW + timedelta(days=30)
    [row] = await loyalty.rows(offer, customer_id=customer)
    assert row["completed_at"] == NOW + 2 * HOUR
    assert (await summary(loyalty, customer))["points_balance"] == 100 + 1000 + 1000


async def test_the_way_back_is_rewarded_whichever_topic_is_read_first(bench_of):
    # The purchase that ends the silence reaches loyalty before lifecycle says "silent".
    loyalty, customer = await bench_of("loyalty"), uuid.uuid4()
    await loyalty.consume(ACTIVITY, bought(customer, "O-1", 10000, NOW - 200 * HOUR))
    await loyalty.consume(ACTIVITY, bought(customer, "O-2", 100000, NOW + 2 * HOUR))

    await loyalty.consume(LIFECYCLE, went_silent(customer, NOW))

    [row] = await loyalty.rows(offer, customer_id=customer)
    assert (row["completed_at"], row["progress_minor"]) == (NOW + 2 * HOUR, 100000)
    assert (await summary(loyalty, customer))["points_balance"] == 100 + 1000 + 1000
