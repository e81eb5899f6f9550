"""Fresh scores and value on real PostgreSQL and Kafka: a refit rescores every customer,
a frozen clock moved 60 days lowers p_alive and raises risk with no new event, and a
customer's value class follows a large purchase (announced, in the value classes)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from services.lifecycle.rescore import rescore_due
from services.lifecycle.tables import customer_state
from shared import topics
from shared.bus.kafka import KafkaBus
from shared.clock import FrozenClock
from shared.events import CloudEvent, decode, new_event
from shared.events.activity import PurchaseCompleted
from shared.sweeps import Swept
from tests.integration.conftest import about, eventually, publish_events
from tests.integration.services import Infra, RunningService, create_database, run_service

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
QUIET = {"lifecycle_sweep_seconds": 3600.0, "lifecycle_rescore_seconds": 3600.0}


def _purchase(tenant: str, customer: str, at: datetime, amount_minor: int) -> CloudEvent:
    data = PurchaseCompleted(
        order_id=f"O-{uuid.uuid4().hex[:8]}",
        amount_minor=amount_minor,
        currency="EUR",
        channel="store",
    )
    return new_event(
        data, source="/crm/profile", tenant_id=tenant, key=customer, subject=customer, time=at
    )


def _histories(tenant: str, customers: list[str]) -> list[CloudEvent]:
    """Customers of varied age, rhythm and spend (no two worth the same): the i-th first
    buys 300 + 3i days ago, then 0 to 3 times more every 20 to 60 days, orders of about
    1,000 to 10,000 cents."""
    return [
        _purchase(
            tenant,
            c,
            NOW - timedelta(days=300 + 3 * i - k * 20 * (1 + i % 3)),
            1000 * (1 + i % 10) + 37 * k,
        )
        for i, c in enumerate(customers)
        for k in range(1 + i % 4)
    ]


async def _scores(lc: RunningService, tenant: str) -> dict[str, dict[str, object]]:
    c = customer_state.c
    async with lc.runtime.db.engine.connect() as conn:
        rows = await conn.execute(select(customer_state).where(c.tenant_id == tenant))
        return {str(r.customer_id): dict(r._mapping) for r in rows}


async def _until_orders(lc: RunningService, tenant: str, orders: int) -> None:
    async def arrived() -> bool:
        scores = await _scores(lc, tenant)
        return sum(int(s["orders"]) for s in scores.values()) == orders  # type: ignore[call-overload]

    await eventually(arrived, within=30)


def _rescore(lc: RunningService, clock: FrozenClock, tenant: str) -> object:
    settings = lc.runtime.settings
    return rescore_due(lc.runtime.db, settings.machine, clock, 7, tenant)  # small batches


async def _announced(infra: Infra, customer: str, kind: str) -> list[CloudEvent]:
    found = await about(infra.settings.kafka_servers, infra.prefix, topics.LIFECYCLE, customer)
    return [e for e in (decode(r.value) for r in found) if e.type.endswith(f".{kind}.v1")]


async def test_a_refit_rescores_every_customer(infra: Infra, bus: KafkaBus, tenant: str) -> None:
    await create_database(infra, "lifecycle")
    customers = [str(uuid.uuid4()) for _ in range(30)]
    events = _histories(tenant, customers)
    clock = FrozenClock(NOW)
    async with run_service(infra, "lifecycle", clock=clock, tenant=tenant, **QUIET) as lc:
        await publish_events(bus, *events)
        await _until_orders(lc, tenant, len(events))
        await _rescore(lc, clock, tenant)  # the first cut of the value classes
        assert await _rescore(lc, clock, tenant) == Swept({"rescored": 0})  # none due now
        before = await _scores(lc, tenant)

        clock.move_to(NOW + timedelta(minutes=5))
        fitted = await lc.client.post("/v1/lifecycle/model/fit", json={"as_of": NOW.isoformat()})
        assert fitted.status_code == 200, fitted.text
        rescored = await _rescore(lc, clock, tenant)
        after = await _scores(lc, tenant)
        model = (await lc.client.get("/v1/lifecycle/model")).json()
        again = await _rescore(lc, clock, tenant)

    assert isinstance(rescored, Swept) and rescored.counts["rescored"] >= len(customers)
    assert again == Swept({"rescored": 0})
    assert all(s["risk_at"] == clock.now() for s in after.values())
    moved = [c for c in customers if before[c]["p_alive"] != after[c]["p_alive"]]
    assert len(moved) == len(customers)  # the fitted model, not the prior, scores them now
    spend = model["spend_model"]
    assert spend["model"] == "gamma_gamma" and spend["currency"] == "EUR"
    assert spend["customers"] == sum(1 for i in range(30) if i % 4) and spend["params"]["v"] > 0
    assert all(s["clv_minor"] is not None and s["value_class"] for s in after.values())


async def test_sixty_days_without_an_event_lower_p_alive_and_raise_risk(
    infra: Infra, bus: KafkaBus, tenant: str, customer: str
) -> None:
    await create_database(infra, "lifecycle")
    weekly = [_purchase(tenant, customer, NOW - timedelta(days=7 * k), 2500) for k in range(6)]
    clock = FrozenClock(NOW)
    async with run_service(infra, "lifecycle", clock=clock, tenant=tenant, **QUIET) as lc:
        await publish_events(bus, *weekly)
        await _until_orders(lc, tenant, 6)
        before = (await _scores(lc, tenant))[customer]

        clock.move_to(NOW + timedelta(days=60))
        await _rescore(lc, clock, tenant)
        after = (await _scores(lc, tenant))[customer]
        value = (await lc.client.get(f"/v1/customers/{customer}/value")).json()
        unknown = await lc.client.get(f"/v1/customers/{uuid.uuid4()}/value")
        no_horizon = await lc.client.get(f"/v1/customers/{customer}/value?horizon_months=0")

        async def risk_announced_again() -> bool:
            return len(await _announced(infra, customer, "churn_risk_changed")) >= 2

        await eventually(risk_announced_again, within=30)

    assert after["p_alive"] < before["p_alive"] - 0.2, (before["p_alive"], after["p_alive"])
    assert after["risk_score"] > before["risk_score"]
    assert after["clv_minor"] < before["clv_minor"]
    assert value["p_alive"] == after["p_alive"] and value["currency"] == "EUR"
    assert value["clv_minor"] == after["clv_minor"]
    assert value["value_at_risk_minor"] == after["value_at_risk_minor"]
    assert (unknown.status_code, unknown.json()["type"]) == (
        404,
        "urn:crm:problem:customer-not-found",
    )
    assert no_horizon.status_code == 422


async def test_a_value_class_follows_a_large_purchase(
    infra: Infra, bus: KafkaBus, tenant: str
) -> None:
    await create_database(infra, "lifecycle")
    customers = [str(uuid.uuid4()) for _ in range(20)]
    clock = FrozenClock(NOW)
    async with run_service(infra, "lifecycle", clock=clock, tenant=tenant, **QUIET) as lc:
        events = _histories(tenant, customers)
        await publish_events(bus, *events)
        await _until_orders(lc, tenant, len(events))
        clock.move_to(NOW + timedelta(minutes=5))
        assert (
            await lc.client.post("/v1/lifecycle/model/fit", json={"as_of": NOW.isoformat()})
        ).status_code == 200
        await _rescore(lc, clock, tenant)
        classes = (await lc.client.get("/v1/lifecycle/value-classes")).json()["classes"]
        scores = await _scores(lc, tenant)
        poorest = min(customers, key=lambda c: scores[c]["clv_minor"])  # type: ignore[arg-type,return-value]
        assert scores[poorest]["value_class"] == "C"

        await publish_events(bus, _purchase(tenant, poorest, NOW, 5_000_000))
        await _until_orders(lc, tenant, len(events) + 1)
        now_classed = (await _scores(lc, tenant))[poorest]
        top = (await lc.client.get("/v1/lifecycle/customers?order=value_at_risk&limit=3")).json()
        class_a = (await lc.client.get("/v1/lifecycle/customers?value_class=A")).json()["items"]

        async def class_announced() -> bool:
            changes = await _announced(infra, poorest, "value_class_changed")
            return [e.data["to_class"] for e in changes][-1:] == ["A"]

        await eventually(class_announced, within=30)

    assert [(f["name"], f["customers"]) for f in classes] == [("A", 4), ("B", 6), ("C", 10)]
    assert abs(sum(f["share_of_value"] for f in classes) - 1.0) < 1e-9
    assert now_classed["value_class"] == "A"
    assert poorest in {item["customer_id"] for item in class_a} and len(class_a) == 5
    at_risk = [item["value_at_risk_minor"] for item in top["items"]]
    assert at_risk == sorted(at_risk, reverse=True) and len(at_risk) == 3
    assert top["items"][0]["customer_id"] == poorest  # now the most valuable doubtful one


async def test_a_win_back_is_counted_per_customer_and_in_aggregate(
    infra: Infra, bus: KafkaBus, tenant: str
) -> None:
    await create_database(infra, "lifecycle")
    lapsed, steady = str(uuid.uuid4()), str(uuid.uuid4())
    clock = FrozenClock(NOW)
    async with run_service(infra, "lifecycle", clock=clock, tenant=tenant, **QUIET) as lc:
        await publish_events(
            bus,
            _purchase(tenant, lapsed, NOW - timedelta(days=400), 1000),
            _purchase(tenant, steady, NOW - timedelta(days=10), 1000),
        )
        await _until_orders(lc, tenant, 2)
        assert (await lc.client.post("/v1/lifecycle/sweep")).json()["moved"] == 1
        await publish_events(
            bus,
            _purchase(tenant, lapsed, NOW, 4200),
            _purchase(tenant, steady, NOW, 999),
        )
        await _until_orders(lc, tenant, 4)
        clock.move_to(NOW + timedelta(days=3))
        await publish_events(bus, _purchase(tenant, lapsed, NOW + timedelta(days=2), 800))
        await _until_orders(lc, tenant, 5)
        window = "from=2026-11-19T00:00:00Z&to=2026-11-21T00:00:00Z"
        aggregate = await lc.client.get(f"/v1/lifecycle/winbacks?{window}")
        before = await lc.client.get(
            "/v1/lifecycle/winbacks?from=2026-01-01T00:00:00Z&to=2026-11-19T00:00:00Z"
        )
        reversed_ = await lc.client.get(
            "/v1/lifecycle/winbacks?from=2026-11-21T00:00:00Z&to=2026-11-19T00:00:00Z"
        )
        read = (await lc.client.get(f"/v1/customers/{lapsed}/lifecycle")).json()

    assert aggregate.status_code == 200, aggregate.text
    assert aggregate.json() == {
        "from": "2026-11-19T00:00:00Z",
        "to": "2026-11-21T00:00:00Z",
        "customers": 1,
        "winbacks": 1,
        "revenue_since": [{"currency": "EUR", "customers": 1, "revenue_minor": 5000}],
    }
    assert before.json()["customers"] == 0 and before.json()["revenue_since"] == []
    assert reversed_.status_code == 422
    assert read["reactivations"] == 1
    assert read["last_reactivated_at"] == "2026-11-20T12:00:00Z"
