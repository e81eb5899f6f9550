"""Lifecycle's consumers on the fast tier: activity moves the stage and records its
history, service signals move the churn risk with their reasons, the same event twice
has one effect, an unreadable one is dead-lettered, and the stage file alone decides
which stages run timers."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path

from services.lifecycle import views
from services.lifecycle.settings import DEFAULT_CONFIG
from services.lifecycle.sweep import sweep_due
from services.lifecycle.tables import customer_state
from shared.events import CloudEvent
from shared.events.activity import (
    CustomerRegistered,
    EngagementRecorded,
    OrderRefunded,
    PurchaseCompleted,
)
from shared.events.feedback import ComplaintOpened, ComplaintResolved, SurveyAnswered
from shared.events.lifecycle import ChurnRiskChanged, StageChanged
from shared.events.loyalty import TierChanged
from shared.events.payload import Payload
from tests.handlers.bench import NOW, TENANT, Bench, event, stages_of

ACTIVITY, SIGNALS = "lifecycle-activity", "lifecycle-signals"
DAY = timedelta(days=1)


def bought(customer: uuid.UUID, order: str, at: datetime, amount: int = 1000) -> CloudEvent:
    data = PurchaseCompleted(order_id=order, amount_minor=amount, currency="CNY", channel="web")
    return event(data, customer, at)


def complaint(customer: uuid.UUID, severity: str, at: datetime, opened: bool = True) -> CloudEvent:
    """A complaint of ``severity`` opened at ``at``, or (``opened`` False) resolved then."""
    common = {"complaint_id": str(uuid.uuid4()), "complaint_ref": "T-1", "severity": severity}
    if opened:
        payload: Payload = ComplaintOpened(
            **common, category="delivery", opened_at=at, due_at=at + DAY, open_complaints=1
        )
    else:
        payload = ComplaintResolved(
            **common, opened_at=at - DAY, resolved_at=at, within_sla=True,
            compensation_points=0, open_complaints=0,
        )  # fmt: skip
    return event(payload, customer, at)


async def history(bench: Bench, customer: uuid.UUID) -> list[tuple[str | None, str, str]]:
    found = await views.customer_lifecycle(bench.engine, TENANT, customer)
    assert found is not None
    return [(h.from_stage, h.to_stage, h.cause.kind) for h in found.history]


async def reasons(bench: Bench, customer: uuid.UUID) -> list[str]:
    [row] = await bench.rows(customer_state, customer_id=customer)
    return [r["code"] for r in row["risk_reasons"]]


async def test_registration_and_a_purchase_move_the_stage_and_announce_each_move(bench_of):
    lifecycle, customer = await bench_of("lifecycle"), uuid.uuid4()
    registered = event(CustomerRegistered(channel="web"), customer, NOW - 2 * DAY)
    purchase = bought(customer, "O-1", NOW - DAY)

    await lifecycle.consume(ACTIVITY, registered, purchase)

    assert await history(lifecycle, customer) == [
        (None, "prospect", "event"),
        ("prospect", "new_customer", "event"),
    ]
    changes = await lifecycle.published(StageChanged)
    assert stages_of(changes) == [(None, "prospect"), ("prospect", "new_customer")]
    assert changes[1].causationid == str(purchase.id)
    assert changes[1].data["cause"] == {"kind": "event", "ref": str(purchase.id)}
    [risk] = await lifecycle.payloads(ChurnRiskChanged)
    assert risk.level == "low" and risk.reasons[0].code == "no_repeat_rhythm"


async def test_five_orders_make_a_customer_loyal_and_refunding_the_only_order_makes_a_lead(
    bench_of,
):
    lifecycle, regular, regret = await bench_of("lifecycle"), uuid.uuid4(), uuid.uuid4()
    orders = [bought(regular, f"O-{n}", NOW - (50 - 7 * n) * DAY) for n in range(5)]
    await lifecycle.consume(ACTIVITY, *orders)
    await lifecycle.consume(ACTIVITY, bought(regret, "R-1", NOW - 3 * DAY, amount=5000))
    refund = OrderRefunded(order_id="R-1", amount_minor=5000, currency="CNY")
    await lifecycle.consume(ACTIVITY, event(refund, regret, NOW - DAY))

    assert [to for _, to, _ in await history(lifecycle, regular)] == [
        "new_customer",
        "active",
        "loyal",
    ]
    assert await history(lifecycle, regret) == [
        (None, "new_customer", "event"),
        ("new_customer", "lead", "event"),
    ]
    [row] = await lifecycle.rows(customer_state, customer_id=regret)
    assert (row["orders"], row["refunds"], row["refunded_minor"]) == (0, 1, 5000)  # none paid
    assert "refunds" in await reasons(lifecycle, regret)


async def test_the_same_purchase_twice_counts_once_and_moves_once(bench_of):
    lifecycle, customer = await bench_of("lifecycle"), uuid.uuid4()
    purchase = bought(customer, "O-1", NOW - DAY)

    await lifecycle.consume(ACTIVITY, purchase, purchase)
    await lifecycle.consume(ACTIVITY, purchase)
    await lifecycle.consume(ACTIVITY, bought(customer, "O-1", NOW - DAY))  # another event id

    [row] = await lifecycle.rows(customer_state, customer_id=customer)
    assert (row["orders"], row["revenue_minor"]) == (1, 1000)
    assert await history(lifecycle, customer) == [(None, "new_customer", "event")]
    assert stages_of(await lifecycle.published(StageChanged)) == [(None, "new_customer")]


async def test_an_unreadable_event_is_dead_lettered_and_the_rest_of_the_batch_applies(bench_of):
    lifecycle, customer = await bench_of("lifecycle"), uuid.uuid4()

    await lifecycle.consume(ACTIVITY, b"{not json", bought(customer, "O-1", NOW - DAY))

    [dead] = lifecycle.dead_letters()
    assert dead.value == b"{not json"
    assert dead.header("crm-consumer") == ACTIVITY
    assert (dead.header("crm-error") or "").startswith("not a valid CloudEvent")
    assert await history(lifecycle, customer) == [(None, "new_customer", "event")]


async def test_a_complaint_raises_the_risk_with_its_reason_and_its_resolution_lowers_it(bench_of):
    lifecycle, customer = await bench_of("lifecycle"), uuid.uuid4()
    await lifecycle.consume(ACTIVITY, bought(customer, "O-1", NOW - 2 * DAY))
    [calm] = await lifecycle.rows(customer_state, customer_id=customer)

    await lifecycle.consume(SIGNALS, complaint(customer, "critical", NOW - DAY))
    [upset] = await lifecycle.rows(customer_state, customer_id=customer)
    assert await reasons(lifecycle, customer) == ["open_complaint", "no_repeat_rhythm"]
    assert upset["risk_score"] == calm["risk_score"] + 25  # stages.toml: critical = 25
    assert upset["open_complaints"] == {"critical": 1}

    await lifecycle.consume(SIGNALS, complaint(customer, "critical", NOW, opened=False))
    [settled] = await lifecycle.rows(customer_state, customer_id=customer)
    assert "open_complaint" not in await reasons(lifecycle, customer)
    assert settled["risk_score"] == calm["risk_score"]
    announced = await lifecycle.payloads(ChurnRiskChanged)
    assert [r.reasons[0].code for r in announced] == [
        "no_repeat_rhythm",
        "open_complaint",
        "no_repeat_rhythm",
    ]


async def test_an_nps_detractor_and_a_tier_downgrade_are_reasons_and_a_promoter_clears_one(
    bench_of,
):
    lifecycle, customer = await bench_of("lifecycle"), uuid.uuid4()
    await lifecycle.consume(ACTIVITY, bought(customer, "O-1", NOW - 2 * DAY))

    detractor = SurveyAnswered(survey="nps", score=3, category="detractor", at=NOW - DAY)
    downgrade = TierChanged(from_tier="gold", to_tier="silver", cause="review", at=NOW - DAY)
    await lifecycle.consume(SIGNALS, event(detractor, customer), event(downgrade, customer))
    assert {"nps_detractor", "tier_downgrade"} <= set(await reasons(lifecycle, customer))

    promoter = SurveyAnswered(survey="nps", score=10, category="promoter", at=NOW)
    await lifecycle.consume(SIGNALS, event(promoter, customer))
    assert "nps_detractor" not in await reasons(lifecycle, customer)
    assert "tier_downgrade" in await reasons(lifecycle, customer)


async def test_a_blocking_complaint_ends_loyalty(bench_of):
    lifecycle, customer = await bench_of("lifecycle"), uuid.uuid4()
    await lifecycle.consume(
        ACTIVITY, *(bought(customer, f"O-{n}", NOW - (40 - 7 * n) * DAY) for n in range(5))
    )
    await lifecycle.consume(SIGNALS, complaint(customer, "low", NOW - DAY))
    assert (await history(lifecycle, customer))[-1][1] == "loyal"  # a low one does not block

    await lifecycle.consume(SIGNALS, complaint(customer, "critical", NOW))

    assert (await history(lifecycle, customer))[-1] == ("loyal", "active", "event")


def _with_silent_leads(folder: Path) -> Path:
    rule = '\n[[transition]]\nfrom = ["lead"]\non = "silence_due"\nto = "silent"\n'
    path = folder / "stages.toml"
    path.write_text(DEFAULT_CONFIG.read_text() + rule)
    return path


async def test_a_silence_rule_from_lead_in_the_stage_file_makes_a_lead_go_silent(
    bench_of, tmp_path
):
    """Issue 8: the stage file decides which stages run timers, not the code."""
    shipped = await bench_of("lifecycle")
    amended = await bench_of("lifecycle", lifecycle_config_file=_with_silent_leads(tmp_path))
    customer, engaged = uuid.uuid4(), NOW - 100 * DAY
    for lifecycle in (shipped, amended):
        lifecycle.clock.move_to(engaged)
        await lifecycle.consume(ACTIVITY, event(EngagementRecorded(kind="visit", channel="web"),
                                                customer, engaged))  # fmt: skip
        lifecycle.clock.move_to(NOW)

    swept = [
        await sweep_due(b.runtime.db, b.runtime.resources, b.clock) for b in (shipped, amended)
    ]
    moved = [s.counts["moved"] for s in swept]

    assert moved == [0, 1]
    assert await history(shipped, customer) == [(None, "lead", "event")]
    assert await history(amended, customer) == [
        (None, "lead", "event"),
        ("lead", "silent", "timer"),
    ]
    silenced = (await amended.published(StageChanged))[-1]
    assert silenced.data["cause"] == {"kind": "timer", "ref": "silence"}
    assert silenced.time == engaged + 90 * DAY  # stages.toml: silent_after_days = 90
