"""A rule change tried on history on PostgreSQL and Kafka (issue 9, item 3): while
lifecycle runs, its replay job reads the history from the topics, folds it into two
scratch databases and reports who a shorter silence would move; the live state, the
topics and the server's databases are as they were afterwards. The job is a row of the
service's database: two replicas share it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy import select

from services import replay_jobs
from services.lifecycle.settings import DEFAULT_CONFIG
from services.lifecycle.tables import customer_state, outbox, rule_replay
from shared import topics
from shared.bus.kafka import KafkaBus
from shared.clock import FrozenClock
from shared.contracts.rules import RuleReplay
from shared.db import create_engine
from shared.events import new_event
from shared.events.activity import PurchaseCompleted
from shared.migrations import migrate
from shared.replay_store import STALE_AFTER, Busy, ReplayStore
from shared.uow import Database
from tests.integration.conftest import eventually, publish_events, read_topic
from tests.integration.services import Infra, create_database, drop_database, run_service

DAY = timedelta(days=1)
THIRTY = DEFAULT_CONFIG.read_text().replace("silent_after_days = 90", "silent_after_days = 30")


def bought(tenant: str, customer: str, order: str, days_ago: int) -> Any:
    data = PurchaseCompleted(order_id=order, amount_minor=1000, currency="CNY", channel="web")
    at = datetime.now(UTC) - days_ago * DAY
    return new_event(
        data, source="/crm/profile", tenant_id=tenant, key=customer, subject=customer, time=at
    )


async def stages(infra: Infra, tenant: str) -> dict[str, str]:
    engine = create_engine(infra.database_url("lifecycle"))
    try:
        async with engine.connect() as conn:
            s = customer_state
            rows = await conn.execute(
                select(s.c.customer_id, s.c.stage).where(s.c.tenant_id == tenant)
            )
            return {str(r.customer_id): r.stage for r in rows}
    finally:
        await engine.dispose()


async def _counted(infra: Infra, tenant: str, n: int) -> bool:
    return len(await stages(infra, tenant)) == n


async def relayed(infra: Infra) -> bool:
    """Whether lifecycle's relay has published everything its handlers wrote: until
    then the count of what crm.lifecycle holds is still growing."""
    engine = create_engine(infra.database_url("lifecycle"))
    try:
        async with engine.connect() as conn:
            return not (await conn.execute(select(outbox.c.id).limit(1))).first()
    finally:
        await engine.dispose()


async def announced(infra: Infra, tenant: str) -> int:
    """How many of the tenant's events crm.lifecycle holds: what lifecycle has published
    for it so far (other tests' tenants share the topic, and lifecycle keeps working for
    them meanwhile)."""
    records = await read_topic(infra.settings.kafka_servers, infra.prefix, topics.LIFECYCLE)
    return sum(1 for r in records if r.value and tenant.encode() in r.value)


async def shadows(infra: Infra) -> list[str]:
    s = infra.settings
    admin = await asyncpg.connect(
        host=s.pg_host, port=s.pg_port, user=s.pg_user,
        password=s.pg_password.get_secret_value() or None, database="postgres",
    )  # fmt: skip
    try:
        rows = await admin.fetch("SELECT datname FROM pg_database WHERE datname LIKE '%_shadow_%'")
        return [r["datname"] for r in rows if r["datname"].startswith(infra.database("lifecycle"))]
    finally:
        await admin.close()


async def test_a_shorter_silence_tried_while_lifecycle_runs(infra: Infra, bus: KafkaBus) -> None:
    tenant = f"replay-{uuid.uuid4().hex[:8]}"
    quiet, recent = str(uuid.uuid4()), str(uuid.uuid4())
    await create_database(infra, "lifecycle")
    try:
        async with run_service(infra, "lifecycle", tenant=tenant) as lifecycle:
            await publish_events(
                bus, bought(tenant, quiet, "q-1", 60), bought(tenant, recent, "r-1", 10)
            )
            await eventually(lambda: _counted(infra, tenant, 2), within=30)
            await eventually(lambda: relayed(infra), within=30)  # else still publishing
            live = await stages(infra, tenant)
            published = await announced(infra, tenant)

            started = await lifecycle.client.post(
                "/v1/admin/rules/lifecycle/replays",
                json={"rules": THIRTY, "requested_by": "api-key:it"},
            )
            assert started.status_code == 202, started.text
            path = f"/v1/admin/rules/lifecycle/replays/{started.json()['id']}"

            jobs: list[dict[str, Any]] = []

            async def finished() -> bool:
                jobs.append((await lifecycle.client.get(path)).json())
                return bool(jobs[-1]["state"] != "running")

            await eventually(finished, within=120)
            done = jobs[-1]
            after = await stages(infra, tenant)
            published_after = await announced(infra, tenant)
        left = await shadows(infra)
    finally:
        await drop_database(infra, "lifecycle")

    assert live == {quiet: "new_customer", recent: "new_customer"}
    assert done["state"] == "done", done
    diff = done["diff"]
    assert (diff["tenant"], diff["events"]) == (tenant, 2)
    assert diff["counts"]["customers_per_stage"] == {
        "new_customer": {"before": 2, "after": 1},
        "silent": {"before": 0, "after": 1},
    }
    [moved] = diff["sample"]
    assert moved["customer_id"] == quiet
    assert moved["why"] == "stage new_customer→silent: silence.silent_after_days 90→30"
    assert after == live  # the live state untouched
    assert published_after == published  # nothing announced
    assert left == []  # both shadow databases dropped


async def test_two_replicas_share_the_job(
    infra: Infra, bus: KafkaBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two lifecycle replicas on one database, as behind a load balancer: two POSTs racing
    on both give one job (one 202, one 409); the other replica answers GET with the job's
    progress as it runs and its difference at the end, and refuses a new POST meanwhile."""
    monkeypatch.setattr(replay_jobs, "BEAT_SECONDS", 0.05)  # progress seen on a short history
    tenant = f"replay-{uuid.uuid4().hex[:8]}"
    quiet, recent = str(uuid.uuid4()), str(uuid.uuid4())
    body = {"rules": THIRTY, "requested_by": "api-key:it"}
    await create_database(infra, "lifecycle")
    try:
        async with (
            run_service(infra, "lifecycle", tenant=tenant) as one,
            run_service(infra, "lifecycle", tenant=tenant) as other,
        ):
            await publish_events(
                bus, bought(tenant, quiet, "q-1", 60), bought(tenant, recent, "r-1", 10)
            )
            await eventually(lambda: _counted(infra, tenant, 2), within=30)
            raced = await asyncio.gather(
                *(
                    r.client.post("/v1/admin/rules/lifecycle/replays", json=body)
                    for r in (one, other)
                )
            )
            [started] = [a for a in raced if a.status_code == 202]
            path = f"/v1/admin/rules/lifecycle/replays/{started.json()['id']}"
            runner = one if raced[0] is started else other
            elsewhere = other if runner is one else one
            meanwhile = await elsewhere.client.post("/v1/admin/rules/lifecycle/replays", json=body)

            seen: list[dict[str, Any]] = []

            async def finished() -> bool:
                seen.append((await elsewhere.client.get(path)).json())
                return bool(seen[-1]["state"] != "running")

            await eventually(finished, within=120)
    finally:
        await drop_database(infra, "lifecycle")

    assert sorted(a.status_code for a in raced) == [202, 409], [a.text for a in raced]
    [refused] = [a for a in raced if a.status_code == 409]
    assert refused.json()["type"].endswith("replay-running")
    assert meanwhile.status_code == 409, meanwhile.text
    assert started.json()["id"] in meanwhile.json()["detail"]
    running = [job["progress"] for job in seen if job["state"] == "running"]
    assert any(p.startswith("under the") for p in running), running  # beaten into the row
    done = seen[-1]
    assert done["state"] == "done", done
    assert done["diff"]["counts"]["customers_per_stage"] == {
        "new_customer": {"before": 2, "after": 1},
        "silent": {"before": 0, "after": 1},
    }


async def test_a_job_whose_replica_stopped_frees_the_slot_on_postgresql(infra: Infra) -> None:
    """The partial unique index and the heartbeat's bound as PostgreSQL keeps them."""
    t0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    clock = FrozenClock(t0)

    def job() -> RuleReplay:
        return RuleReplay(
            id=uuid.uuid4(), kind="lifecycle", state="running", progress="starting",
            started_at=clock.now(), requested_by="api-key:it",
        )  # fmt: skip

    await create_database(infra, "lifecycle")
    engine = create_engine(infra.database_url("lifecycle"))
    try:
        await migrate(engine, "lifecycle")
        store = ReplayStore(rule_replay, Database(engine, outbox, clock))
        lost = await store.start("acme", job())
        with pytest.raises(Busy):
            await store.start("acme", job())
        clock.move_to(t0 + STALE_AFTER + timedelta(seconds=1))
        failed = await store.read("acme", lost.id)
        freed = await store.start("acme", job())
    finally:
        await engine.dispose()
        await drop_database(infra, "lifecycle")

    assert failed is not None and failed.state == "failed", failed
    assert failed.error is not None and "start it again" in failed.error
    assert freed.state == "running"
