"""The loyalty service on real PostgreSQL and Kafka: earning once, concurrent
redemptions, refunds after redemptions, goodwill, expiry, and bad input."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sqlalchemy import func, select

from services.loyalty.domain.rules import RulesError
from services.loyalty.settings import SHIPPED_RULES
from services.loyalty.tables import ledger_entry, redemption
from shared import topics
from shared.clock import FrozenClock
from shared.events import CloudEvent, decode
from shared.events.activity import OrderRefunded, PurchaseCompleted
from shared.events.envelope import new_event
from shared.events.feedback import ComplaintOpened, ComplaintResolved
from shared.events.lifecycle import StageCause, StageChanged
from shared.events.payload import Payload
from tests.integration.conftest import about, eventually, publish_events
from tests.integration.services import (
    Infra,
    RunningService,
    create_database,
    drop_database,
    run_service,
)

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
async def loyalty(infra: Infra) -> AsyncIterator[RunningService]:
    """Loyalty whose periodic sweep waits an hour: the tests sweep through the route on a
    moved clock, and a background pass on that clock would take (SKIP LOCKED) what the
    route's sweep is asserted to take."""
    await create_database(infra, "loyalty")
    clock = FrozenClock(T0)
    async with run_service(infra, "loyalty", clock=clock, loyalty_sweep_seconds=3600) as service:
        yield service


def event(payload: Payload, customer: str, at: datetime = T0) -> CloudEvent:
    return new_event(
        payload, source="/test", tenant_id="default", key=customer, subject=customer, time=at
    )


def purchase(customer: str, order: str, amount: int = 100000) -> CloudEvent:
    return event(PurchaseCompleted(order_id=order, amount_minor=amount, currency="CNY",
                                   channel="store"), customer)  # fmt: skip


async def summary(loyalty: RunningService, customer: str) -> dict | None:
    answer = await loyalty.client.get(f"/v1/customers/{customer}/loyalty")
    return answer.json() if answer.status_code == 200 else None


async def balance_becomes(loyalty: RunningService, customer: str, points: int) -> None:
    async def reached() -> bool:
        found = await summary(loyalty, customer)
        return found is not None and found["points_balance"] == points

    await eventually(reached)


async def entries(loyalty: RunningService, customer: str) -> list[tuple[str, int]]:
    async with loyalty.runtime.db.engine.connect() as conn:
        rows = await conn.execute(
            select(ledger_entry.c.kind, ledger_entry.c.points)
            .where(ledger_entry.c.customer_id == uuid.UUID(customer))
            .order_by(ledger_entry.c.at, ledger_entry.c.kind, ledger_entry.c.ref)  # ref breaks ties
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def redeem(loyalty: RunningService, customer: str, points: object, key: str | None, reason="gift"):
    headers = {"Idempotency-Key": key} if key else {}
    return loyalty.client.post(
        f"/v1/customers/{customer}/loyalty/redemptions",
        json={"points": points, "reason": reason},
        headers=headers,
    )


async def test_the_same_purchase_delivered_twice_earns_once(loyalty, bus, customer):
    first = purchase(customer, "O-1")
    again_other_event = purchase(customer, "O-1")
    await publish_events(bus, first, first, again_other_event)
    await balance_becomes(loyalty, customer, 1000)
    await publish_events(bus, purchase(customer, "O-2", 500))
    await balance_becomes(loyalty, customer, 1005)
    assert await entries(loyalty, customer) == [("earn", 1000), ("earn", 5)]


async def test_50_concurrent_redemptions_never_overdraw_and_the_successful_ones_sum_exactly(
    loyalty, bus, customer
):
    await publish_events(bus, purchase(customer, "O-1", 100000))  # 1000 points
    await balance_becomes(loyalty, customer, 1000)

    answers = await asyncio.gather(*(redeem(loyalty, customer, 30, f"k-{i}") for i in range(50)))

    accepted = [a for a in answers if a.status_code == 201]
    refused = [a for a in answers if a.status_code == 409]
    assert len(accepted) + len(refused) == 50
    assert len(accepted) == 33  # 33 × 30 = 990 ≤ 1000 < 34 × 30
    assert all(a.json()["type"] == "urn:crm:problem:insufficient-points" for a in refused)
    assert -sum(a.json()["points"] for a in accepted) == 990
    assert (await summary(loyalty, customer))["points_balance"] == 10
    assert sum(p for _, p in await entries(loyalty, customer)) == 10


async def test_a_repeated_key_returns_the_first_answer_and_a_different_body_is_refused(
    loyalty, bus, customer
):
    await publish_events(bus, purchase(customer, "O-1", 10000))
    await balance_becomes(loyalty, customer, 100)
    first = await redeem(loyalty, customer, 40, "same")
    again = await redeem(loyalty, customer, 40, "same")
    other = await redeem(loyalty, customer, 41, "same")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert other.status_code == 409
    assert other.json()["type"] == "urn:crm:problem:idempotency-key-reused"
    assert (await summary(loyalty, customer))["points_balance"] == 60


@pytest.mark.parametrize(
    ("points", "key", "status"),
    [(0, "k", 422), (-5, "k", 422), ("many", "k", 422), (10, None, 422)],
)
async def test_bad_redemptions_are_refused_with_a_problem_and_write_nothing(
    loyalty, bus, customer, points, key, status
):
    await publish_events(bus, purchase(customer, "O-1", 10000))
    await balance_becomes(loyalty, customer, 100)

    answer = await redeem(loyalty, customer, points, key)

    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"]
    assert await entries(loyalty, customer) == [("earn", 100)]
    async with loyalty.runtime.db.engine.connect() as conn:
        keys = select(func.count()).where(redemption.c.customer_id == uuid.UUID(customer))
        assert await conn.scalar(keys) == 0


async def test_an_unknown_customer_is_a_404_for_reads_and_redemptions(loyalty, customer):
    for answer in (
        await redeem(loyalty, customer, 10, "k"),
        await loyalty.client.get(f"/v1/customers/{customer}/loyalty"),
        await loyalty.client.get(f"/v1/customers/{customer}/loyalty/ledger"),
    ):
        assert answer.status_code == 404
        assert answer.json()["type"] == "urn:crm:problem:customer-not-found"


async def test_a_refund_after_a_redemption_recovers_only_what_is_left(loyalty, bus, customer):
    await publish_events(bus, purchase(customer, "O-1", 100000))
    await balance_becomes(loyalty, customer, 1000)
    assert (await redeem(loyalty, customer, 800, "spend")).status_code == 201

    refund = OrderRefunded(order_id="O-1", amount_minor=100000)
    await publish_events(bus, event(refund, customer, T0 + timedelta(hours=1)))

    await balance_becomes(loyalty, customer, 0)
    assert await entries(loyalty, customer) == [("earn", 1000), ("redeem", -800), ("reverse", -200)]
    page = (await loyalty.client.get(f"/v1/customers/{customer}/loyalty/ledger")).json()
    assert "unrecovered:800" in page["entries"][0]["rule"]


async def test_a_complaint_grants_goodwill_once(loyalty, bus, customer):
    opened = ComplaintOpened(
        complaint_id="c-1", complaint_ref="T-1", severity="high", category="delivery",
        opened_at=T0, due_at=T0 + timedelta(days=1), open_complaints=1,
    )  # fmt: skip
    first = event(opened, customer)
    await publish_events(bus, first, first, event(opened, customer))
    await balance_becomes(loyalty, customer, 200)
    await publish_events(bus, purchase(customer, "O-1", 100))
    await balance_becomes(loyalty, customer, 201)
    assert await entries(loyalty, customer) == [("adjust", 200), ("earn", 1)]


async def test_compensation_on_resolution_is_granted_once_even_if_delivered_twice(
    loyalty, bus, customer
):
    resolved = ComplaintResolved(
        complaint_id="c-1", complaint_ref="T-1", severity="low", opened_at=T0,
        resolved_at=T0 + timedelta(hours=2), within_sla=True, compensation_points=300,
        open_complaints=0,
    )  # fmt: skip
    first = event(resolved, customer, T0 + timedelta(hours=2))
    await publish_events(bus, first, first, event(resolved, customer, T0 + timedelta(hours=2)))
    await balance_becomes(loyalty, customer, 300)
    await publish_events(bus, purchase(customer, "O-1", 100))
    await balance_becomes(loyalty, customer, 301)
    assert sorted(await entries(loyalty, customer)) == [("adjust", 300), ("earn", 1)]
    page = (await loyalty.client.get(f"/v1/customers/{customer}/loyalty/ledger")).json()
    assert [e["ref"] for e in page["entries"] if e["kind"] == "adjust"] == ["compensation:c-1"]


async def test_going_silent_offers_a_reactivation_once_and_spending_earns_its_reward(
    loyalty, bus, customer
):
    silent = StageChanged(
        from_stage="active", to_stage="silent", at=T0, cause=StageCause(kind="timer", ref="t")
    )
    await publish_events(bus, event(silent, customer), event(silent, customer))
    await publish_events(bus, purchase(customer, "O-1", 100000))
    await balance_becomes(loyalty, customer, 1000 + 1000)
    assert sorted(await entries(loyalty, customer)) == [("adjust", 1000), ("earn", 1000)]


async def test_the_sweep_expires_points_when_their_time_comes(loyalty, bus, customer):
    await publish_events(bus, purchase(customer, "O-1", 10000))
    await balance_becomes(loyalty, customer, 100)
    found = await summary(loyalty, customer)
    assert found["next_expiry"]["points"] == 100
    clock = loyalty.runtime.clock
    assert isinstance(clock, FrozenClock)
    try:
        clock.move_to(datetime.fromisoformat(found["next_expiry"]["at"]))
        swept = await loyalty.client.post("/v1/loyalty/sweep")
        assert swept.status_code == 200 and swept.json()["accounts"] >= 1
    finally:
        clock.move_to(T0)
    assert (await summary(loyalty, customer))["points_balance"] == 0
    assert await entries(loyalty, customer) == [("earn", 100), ("expire", -100)]


async def test_a_rule_file_with_an_unknown_tier_stops_the_service_before_it_writes(infra, tmp_path):
    rules = tmp_path / "rules.toml"
    shipped = SHIPPED_RULES.read_text()
    rules.write_text(shipped.replace("gold = 1.5", "diamond = 1.5"))
    elsewhere = Infra(infra.settings, infra.prefix, f"{infra.run}bad")
    await create_database(elsewhere, "loyalty")
    with pytest.raises(RulesError, match="unknown tier 'diamond'"):
        async with run_service(elsewhere, "loyalty", loyalty_rules_file=rules):
            pass
    conn = await asyncpg.connect(elsewhere.database_url("loyalty").replace("+asyncpg", ""))
    try:
        tables = await conn.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
    finally:
        await conn.close()
        await drop_database(elsewhere, "loyalty")
    assert tables == 0


async def test_a_sweep_does_the_callers_tenant_only_unless_all_tenants_are_asked(loyalty, bus):
    tenants = [f"t-{uuid.uuid4().hex[:10]}" for _ in range(2)]
    customers = [str(uuid.uuid4()) for _ in range(2)]
    bought = [
        new_event(
            PurchaseCompleted(order_id="O-1", amount_minor=10000, currency="CNY", channel="web"),
            source="/test", tenant_id=t, key=c, subject=c, time=T0,
        )
        for t, c in zip(tenants, customers, strict=True)
    ]  # fmt: skip
    await publish_events(bus, *bought)

    async def balance(tenant: str, customer: str) -> int | None:
        answer = await loyalty.client.get(
            f"/v1/customers/{customer}/loyalty", headers={"X-CRM-Tenant": tenant}
        )
        return answer.json()["points_balance"] if answer.status_code == 200 else None

    for t, c in zip(tenants, customers, strict=True):
        await eventually(lambda t=t, c=c: _equals(balance(t, c), 100))
    mine, theirs = tenants
    clock = loyalty.runtime.clock
    try:
        clock.move_to(T0 + timedelta(days=730))
        swept = await loyalty.client.post("/v1/loyalty/sweep", headers={"X-CRM-Tenant": mine})
        assert swept.json() == {"accounts": 1, "events": 1}
        assert (await balance(mine, customers[0]), await balance(theirs, customers[1])) == (0, 100)

        everyone = await loyalty.client.post(
            "/v1/loyalty/sweep", headers={"X-CRM-Tenant": mine}, params={"all_tenants": "true"}
        )
        assert everyone.json()["accounts"] >= 1  # theirs, and what other tests left due
        assert await balance(theirs, customers[1]) == 0
    finally:
        clock.move_to(T0)


async def _equals(value, expected) -> bool:  # type: ignore[no-untyped-def]
    return await value == expected


async def test_a_full_refund_takes_back_the_tier_and_the_next_order_earns_at_the_lower_one(
    loyalty, bus, infra, customer
):
    await publish_events(bus, purchase(customer, "O-1", 2500000))  # earned as a member
    await balance_becomes(loyalty, customer, 25000)
    assert (await summary(loyalty, customer))["tier"] == "gold"
    refund = OrderRefunded(order_id="O-1", amount_minor=2500000)
    await publish_events(bus, event(refund, customer, T0 + timedelta(hours=1)))
    await balance_becomes(loyalty, customer, 0)

    later = PurchaseCompleted(order_id="O-2", amount_minor=10000, currency="CNY", channel="store")
    await publish_events(bus, event(later, customer, T0 + timedelta(hours=2)))
    await balance_becomes(loyalty, customer, 100)  # the member rate, not gold's 150

    assert (await summary(loyalty, customer))["tier"] == "member"
    records = await about(infra.settings.kafka_servers, infra.prefix, topics.LOYALTY, customer)
    moves = [decode(r.value).data for r in records]
    assert [(m["from_tier"], m["to_tier"], m["cause"]) for m in moves if "to_tier" in m] == [
        ("member", "gold", "order:O-1"),
        ("gold", "member", "refund:O-1"),
    ]


async def test_compensation_and_goodwill_are_cut_to_their_caps_and_announced_as_granted(
    loyalty, bus, infra, customer
):
    def opened(complaint: str, at: datetime) -> CloudEvent:
        return event(ComplaintOpened(
            complaint_id=complaint, complaint_ref=complaint, severity="critical",
            category="fraud", opened_at=at, due_at=at + timedelta(hours=4), open_complaints=1,
        ), customer, at)  # fmt: skip

    def resolved(complaint: str, at: datetime) -> CloudEvent:
        return event(ComplaintResolved(
            complaint_id=complaint, complaint_ref=complaint, severity="critical", opened_at=at,
            resolved_at=at, within_sla=True, compensation_points=10_000_000, open_complaints=0,
        ), customer, at)  # fmt: skip

    hour = timedelta(hours=1)
    await publish_events(bus, opened("c-1", T0), resolved("c-1", T0 + hour))
    await balance_becomes(loyalty, customer, 500 + 5000)  # rules.toml: 5000 per complaint
    await publish_events(
        bus,
        opened("c-2", T0 + 2 * hour),
        resolved("c-2", T0 + 3 * hour),
        opened("c-3", T0 + 4 * hour),
    )
    await balance_becomes(loyalty, customer, 10000)  # rules.toml: 10000 per customer a year

    page = (await loyalty.client.get(f"/v1/customers/{customer}/loyalty/ledger")).json()
    adjusted = sorted((e["ref"], e["points"], e["rule"]) for e in page["entries"])
    assert adjusted == [
        ("compensation:c-1", 5000, "compensation cap:per_complaint:5000 asked:10000000"),
        (
            "compensation:c-2",
            4000,
            "compensation cap:per_complaint:5000 cap:per_customer:10000/365d asked:10000000",
        ),
        ("complaint:c-1", 500, "goodwill:critical"),
        ("complaint:c-2", 500, "goodwill:critical"),
    ]
    records = await about(infra.settings.kafka_servers, infra.prefix, topics.LOYALTY, customer)
    announced = [decode(r.value).data for r in records]
    compensated = [a for a in announced if a.get("ref", "").startswith("compensation:")]
    assert sorted(a["points"] for a in compensated) == [4000, 5000]
