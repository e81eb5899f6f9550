"""The lifecycle service on real PostgreSQL and Kafka: a purchase announces a stage
change, a sweep at a frozen instant moves exactly the overdue customers, two
replicas never apply a transition twice, and bad requests are clear errors."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from services.lifecycle.domain.config import ConfigError
from services.lifecycle.tables import customer_state, stage_history
from shared import topics
from shared.bus.kafka import KafkaBus
from shared.clock import FrozenClock
from shared.events import CloudEvent, decode, new_event
from shared.events.activity import CustomerRegistered, OrderRefunded, PurchaseCompleted
from shared.events.payload import Payload
from tests.integration.conftest import about, eventually, publish_events
from tests.integration.services import Infra, RunningService, create_database, run_service

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
# Only the test's own sweeps run, by the wall clock: the events here arrive at once and
# back-dated, and the tests are of the sweep, not of the tenant's event-time watermark.
QUIET = {"lifecycle_sweep_seconds": 3600.0, "lifecycle_watermark_quiet_seconds": 0.0}


def _activity(payload: Payload, tenant: str, customer: str, at: datetime) -> CloudEvent:
    return new_event(
        payload, source="/crm/profile", tenant_id=tenant, key=customer, subject=customer, time=at
    )


def _purchase(
    tenant: str, customer: str, at: datetime, order: str | None = None, amount_minor: int = 1000
) -> CloudEvent:
    data = PurchaseCompleted(
        order_id=order or f"O-{uuid.uuid4().hex[:8]}",
        amount_minor=amount_minor,
        currency="CNY",
        channel="store",
    )
    return _activity(data, tenant, customer, at)


async def _stages(service: RunningService, tenant: str) -> dict[str, str]:
    async with service.runtime.db.engine.connect() as conn:
        rows = await conn.execute(
            select(customer_state.c.customer_id, customer_state.c.stage).where(
                customer_state.c.tenant_id == tenant
            )
        )
        return {str(c): s for c, s in rows}


async def _until_known(service: RunningService, tenant: str, customers: int) -> None:
    async def all_known() -> bool:
        return len(await _stages(service, tenant)) == customers

    await eventually(all_known, within=30)


async def test_a_purchase_announces_the_stage_change(
    infra: Infra, bus: KafkaBus, tenant: str, customer: str
) -> None:
    await create_database(infra, "lifecycle")
    async with run_service(infra, "lifecycle", clock=FrozenClock(NOW), tenant=tenant) as lc:
        registered = _activity(
            CustomerRegistered(channel="web"), tenant, customer, NOW - timedelta(days=2)
        )
        bought = _purchase(tenant, customer, NOW - timedelta(days=1))
        await publish_events(bus, registered, bought)

        async def announced() -> list[CloudEvent]:
            found = await about(
                infra.settings.kafka_servers, infra.prefix, topics.LIFECYCLE, customer
            )
            return [decode(r.value) for r in found]

        await eventually(lambda: _has_stage(announced, "new_customer"), within=30)
        changes = [e for e in await announced() if e.type.endswith("stage_changed.v1")]
        assert [(e.data["from"], e.data["to"]) for e in changes] == [
            (None, "prospect"),
            ("prospect", "new_customer"),
        ]
        assert changes[1].causationid == str(bought.id)
        assert any(e.type.endswith("churn_risk_changed.v1") for e in await announced())

        answer = (await lc.client.get(f"/v1/customers/{customer}/lifecycle")).json()
        assert answer["stage"] == "new_customer"
        assert answer["history"][1]["cause"] == {"kind": "event", "ref": str(bought.id)}
        risk = (await lc.client.get(f"/v1/customers/{customer}/churn-risk")).json()
        assert risk["rfm"]["orders"] == 1
        assert risk["level"] in ("low", "medium", "high")


async def _has_stage(announced, stage: str) -> bool:  # type: ignore[no-untyped-def]
    return any(e.data.get("to") == stage for e in await announced())


async def test_a_sweep_moves_exactly_the_overdue_customers(
    infra: Infra, bus: KafkaBus, tenant: str
) -> None:
    await create_database(infra, "lifecycle")
    recent, quiet, gone, weekly = (str(uuid.uuid4()) for _ in range(4))
    events = [
        _purchase(tenant, recent, NOW - timedelta(days=10)),
        _purchase(tenant, quiet, NOW - timedelta(days=100)),
        _purchase(tenant, gone, NOW - timedelta(days=400)),
        # a weekly buyer quiet for 25 days: overdue against their own rhythm (3 × 7 days)
        *(_purchase(tenant, weekly, NOW - timedelta(days=25 + 7 * k)) for k in range(4)),
    ]
    async with run_service(
        infra, "lifecycle", clock=FrozenClock(NOW), tenant=tenant, **QUIET
    ) as lc:
        await publish_events(bus, *events)
        await _until_known(lc, tenant, 4)
        await eventually(lambda: _orders_of(lc, tenant, weekly, 4), within=30)

        swept = (await lc.client.post("/v1/lifecycle/sweep")).json()
        again = (await lc.client.post("/v1/lifecycle/sweep")).json()

        assert swept["moved"] == 3
        assert again["moved"] == 0
        assert await _stages(lc, tenant) == {
            recent: "new_customer",
            quiet: "silent",
            gone: "churned",
            weekly: "silent",
        }
        history = (await lc.client.get(f"/v1/customers/{gone}/lifecycle")).json()["history"]
        assert [(h["from"], h["to"], h["cause"]["kind"]) for h in history] == [
            (None, "new_customer", "event"),
            ("new_customer", "silent", "timer"),
            ("silent", "churned", "timer"),
        ]
        funnel = (await lc.client.get("/v1/lifecycle/funnel")).json()["stages"]
        assert (funnel["silent"], funnel["churned"], funnel["new_customer"]) == (2, 1, 1)
        past = (NOW - timedelta(days=200)).isoformat().replace("+00:00", "Z")
        then = (await lc.client.get(f"/v1/lifecycle/funnel?as_of={past}")).json()["stages"]
        assert {stage: n for stage, n in then.items() if n} == {"silent": 1}  # only "gone"
        page = (await lc.client.get("/v1/lifecycle/customers?stage=silent&limit=1")).json()
        assert len(page["items"]) == 1 and page["next_cursor"]


async def _orders_of(lc: RunningService, tenant: str, customer: str, orders: int) -> bool:
    async with lc.runtime.db.engine.connect() as conn:
        found = await conn.scalar(
            select(customer_state.c.orders).where(
                customer_state.c.tenant_id == tenant,
                customer_state.c.customer_id == uuid.UUID(customer),
            )
        )
    return found == orders


async def test_two_replicas_never_apply_a_transition_twice(
    infra: Infra, bus: KafkaBus, tenant: str
) -> None:
    await create_database(infra, "lifecycle")
    customers = [str(uuid.uuid4()) for _ in range(60)]
    events = [_purchase(tenant, c, NOW - timedelta(days=400)) for c in customers]
    racing = {"lifecycle_sweep_seconds": 0.05, "lifecycle_sweep_batch_size": 7}
    clock = FrozenClock(NOW - timedelta(days=1000))  # nothing due while events arrive
    async with (
        run_service(infra, "lifecycle", clock=clock, tenant=tenant, **racing) as one,
        run_service(infra, "lifecycle", clock=clock, tenant=tenant, **racing) as two,
    ):
        await publish_events(bus, *events)
        await _until_known(one, tenant, len(customers))
        clock.move_to(NOW)
        answers = await asyncio.gather(
            one.client.post("/v1/lifecycle/sweep"), two.client.post("/v1/lifecycle/sweep")
        )
        assert all(a.status_code == 200 for a in answers)

        async def all_churned() -> bool:
            return set((await _stages(one, tenant)).values()) == {"churned"}

        await eventually(all_churned, within=30)
        async with one.runtime.db.engine.connect() as conn:
            per_move = await conn.execute(
                select(stage_history.c.to_stage, func.count())
                .where(stage_history.c.tenant_id == tenant)
                .group_by(stage_history.c.to_stage)
            )
            assert dict(per_move.all()) == {
                "new_customer": len(customers),
                "silent": len(customers),
                "churned": len(customers),
            }


async def test_bad_requests_are_clear_errors(infra: Infra, tenant: str) -> None:
    await create_database(infra, "lifecycle")
    async with run_service(infra, "lifecycle", clock=FrozenClock(NOW), tenant=tenant) as lc:
        unknown = uuid.uuid4()
        no_data = await lc.client.post("/v1/lifecycle/model/fit", json={"as_of": NOW.isoformat()})
        future = await lc.client.post(
            "/v1/lifecycle/model/fit", json={"as_of": (NOW + timedelta(days=1)).isoformat()}
        )
        risk = await lc.client.get(f"/v1/customers/{unknown}/churn-risk")
        lifecycle = await lc.client.get(f"/v1/customers/{unknown}/lifecycle")
        model = await lc.client.get("/v1/lifecycle/model")

    assert (no_data.status_code, no_data.json()["type"]) == (
        422,
        "urn:crm:problem:not-enough-purchase-history",
    )
    assert "no customer has a purchase" in no_data.json()["detail"]
    assert (future.status_code, future.json()["type"]) == (
        422,
        "urn:crm:problem:as-of-in-the-future",
    )
    assert risk.status_code == lifecycle.status_code == model.status_code == 404
    assert risk.headers["content-type"] == "application/problem+json"


async def test_the_model_is_fitted_on_the_purchase_histories(
    infra: Infra, bus: KafkaBus, tenant: str
) -> None:
    await create_database(infra, "lifecycle")
    customers = [str(uuid.uuid4()) for _ in range(30)]
    events = [
        _purchase(tenant, c, NOW - timedelta(days=200 - 17 * k * (1 + i % 3)))
        for i, c in enumerate(customers)
        for k in range(1 + i % 4)
    ]
    async with run_service(infra, "lifecycle", clock=FrozenClock(NOW), tenant=tenant) as lc:
        await publish_events(bus, *events)
        await _until_known(lc, tenant, len(customers))
        fitted = await lc.client.post("/v1/lifecycle/model/fit", json={"as_of": NOW.isoformat()})
        current = (await lc.client.get("/v1/lifecycle/model")).json()

    assert fitted.status_code == 200, fitted.text
    assert current == fitted.json()
    assert current["model"] == "bg_nbd" and current["customers"] == len(customers)
    assert set(current["params"]) == {"r", "alpha", "a", "b"}
    assert all(v > 0 for v in current["params"].values())


async def test_a_bad_configuration_stops_the_service(infra: Infra, tmp_path: Path) -> None:
    config = tmp_path / "stages.toml"
    config.write_text('[[transition]]\nfrom = ["lead"]\non = "engaged"\nto = "vip"\n')

    with pytest.raises(ConfigError, match="unknown stage 'vip'"):
        async with run_service(infra, "lifecycle", lifecycle_config_file=config):
            pass


async def test_a_pass_that_silences_then_churns_records_each_cause(
    infra: Infra, bus: KafkaBus, tenant: str, customer: str
) -> None:
    await create_database(infra, "lifecycle")
    async with run_service(
        infra, "lifecycle", clock=FrozenClock(NOW), tenant=tenant, **QUIET
    ) as lc:
        await publish_events(bus, _purchase(tenant, customer, NOW - timedelta(days=400)))
        await _until_known(lc, tenant, 1)

        assert (await lc.client.post("/v1/lifecycle/sweep")).json()["moved"] == 1

        history = (await lc.client.get(f"/v1/customers/{customer}/lifecycle")).json()["history"]

        async def announced() -> list[CloudEvent]:
            found = await about(
                infra.settings.kafka_servers, infra.prefix, topics.LIFECYCLE, customer
            )
            return [decode(r.value) for r in found]

        await eventually(lambda: _has_stage(announced, "churned"), within=30)
        changes = [e.data for e in await announced() if e.type.endswith("stage_changed.v1")]
    assert [(h["to"], h["cause"]) for h in history[1:]] == [
        ("silent", {"kind": "timer", "ref": "silence"}),
        ("churned", {"kind": "timer", "ref": "churn"}),
    ]
    assert [(c["to"], c["cause"]) for c in changes[1:]] == [
        ("silent", {"kind": "timer", "ref": "silence"}),
        ("churned", {"kind": "timer", "ref": "churn"}),
    ]


async def test_a_sweep_moves_the_callers_tenant_only_unless_all_tenants_are_asked(
    infra: Infra, bus: KafkaBus, tenant: str
) -> None:
    await create_database(infra, "lifecycle")
    other = f"t-{uuid.uuid4().hex[:10]}"
    mine, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    async with run_service(
        infra, "lifecycle", clock=FrozenClock(NOW), tenant=tenant, **QUIET
    ) as lc:
        await publish_events(
            bus,
            _purchase(tenant, mine, NOW - timedelta(days=100)),
            _purchase(other, theirs, NOW - timedelta(days=100)),
        )
        await _until_known(lc, tenant, 1)
        await _until_known(lc, other, 1)

        swept = (await lc.client.post("/v1/lifecycle/sweep")).json()
        assert swept["moved"] == 1
        assert await _stages(lc, tenant) == {mine: "silent"}
        assert await _stages(lc, other) == {theirs: "new_customer"}

        everyone = await lc.client.post("/v1/lifecycle/sweep", params={"all_tenants": "true"})
        assert everyone.json()["moved"] == 1
        assert await _stages(lc, other) == {theirs: "silent"}


async def test_customers_whose_orders_were_free_are_in_the_funnel_and_the_model(
    infra: Infra, bus: KafkaBus, tenant: str
) -> None:
    await create_database(infra, "lifecycle")
    customers = [str(uuid.uuid4()) for _ in range(12)]
    events = [
        _purchase(tenant, c, NOW - timedelta(days=60 - 9 * k * (1 + i % 2)), amount_minor=0)
        for i, c in enumerate(customers)
        for k in range(1 + i % 3)
    ]
    refunded = str(uuid.uuid4())  # a paid order refunded in full is still no purchase
    events += [
        _purchase(tenant, refunded, NOW - timedelta(days=30), order="O-R"),
        _activity(OrderRefunded(order_id="O-R", amount_minor=1000), tenant, refunded, NOW),
    ]
    async with run_service(
        infra, "lifecycle", clock=FrozenClock(NOW), tenant=tenant, **QUIET
    ) as lc:
        await publish_events(bus, *events)
        await _until_known(lc, tenant, len(customers) + 1)
        await eventually(lambda: _stage_is(lc, tenant, refunded, "lead"), within=30)
        funnel = (await lc.client.get("/v1/lifecycle/funnel")).json()["stages"]
        fitted = await lc.client.post("/v1/lifecycle/model/fit", json={"as_of": NOW.isoformat()})
        risk = (await lc.client.get(f"/v1/customers/{customers[2]}/churn-risk")).json()

    assert funnel["new_customer"] + funnel["active"] == len(customers)
    assert funnel["lead"] == 1
    assert fitted.status_code == 200, fitted.text
    assert fitted.json()["customers"] == len(customers)
    assert (risk["rfm"]["orders"], risk["rfm"]["revenue_minor"]) == (3, 0)


async def _stage_is(lc: RunningService, tenant: str, customer: str, stage: str) -> bool:
    return (await _stages(lc, tenant)).get(customer) == stage
