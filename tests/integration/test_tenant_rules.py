"""Rules per tenant on PostgreSQL and Kafka: two running replicas of loyalty share one
consumer group; a tenant's programme changed through the service's API (as the gateway
forwards ``PUT /v1/admin/rules/loyalty``) is applied by both from their next batch, with
no restart, while another tenant keeps the installation's programme."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import text

from services.loyalty.settings import SHIPPED_RULES
from shared import topics
from shared.bus import Message
from shared.bus.kafka import KafkaBus
from shared.db import create_engine
from shared.events import encode
from shared.events.activity import PurchaseCompleted
from shared.settings import ServiceSettings
from tests.handlers.bench import event
from tests.integration.conftest import ROOT
from tests.integration.nodes import members_hold_all, until
from tests.integration.services import Infra, create_database, drop_database, run_service

CUSTOMERS = 24
GROUP = {"loyalty-activity": topics.ACTIVITY}
TRIPLE = SHIPPED_RULES.read_text().replace(
    "default_points_per_unit = 1 ", "default_points_per_unit = 3 "
)


@pytest.fixture
async def own(settings: ServiceSettings, servers: str) -> AsyncIterator[Infra]:
    """Topics and a loyalty database of this test's own."""
    run = uuid.uuid4().hex[:8]
    infra = Infra(settings, f"tr{run}.", f"tr{run}")
    script = await asyncio.create_subprocess_exec(
        sys.executable, "deploy/local/topics.py", "--prefix", infra.prefix, "--timeout", "30",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await script.communicate()
    assert script.returncode == 0, output.decode()
    await create_database(infra, "loyalty")
    try:
        yield infra
    finally:
        await drop_database(infra, "loyalty")
        admin = AIOKafkaAdminClient(bootstrap_servers=servers)
        await admin.start()
        try:
            await admin.delete_topics([infra.prefix + name for name in topics.PARTITIONS])
        finally:
            await admin.close()


def purchases(tenant: str, customers: list[uuid.UUID], wave: int) -> list[Message]:
    """One purchase of 100 CNY by each customer, as profile publishes it on crm.activity."""
    messages = []
    for customer in customers:
        bought = PurchaseCompleted(
            order_id=f"O-{wave}", amount_minor=10000, currency="CNY", channel="store"
        )
        e = event(bought, customer, datetime.now(UTC), tenant=tenant)
        messages.append(Message(e.topic, e.partitionkey.encode(), encode(e)))
    return messages


async def earned(infra: Infra, tenant: str) -> dict[str, list[int]]:
    """The points each order earned, per order id, of the tenant."""
    engine = create_engine(infra.database_url("loyalty"))
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT ref, points FROM ledger_entry WHERE tenant_id = :t AND kind = 'earn'"),
                {"t": tenant},
            )
            found: dict[str, list[int]] = {}
            for ref, points in rows:
                found.setdefault(ref.split("/")[0], []).append(points)
            return found
    finally:
        await engine.dispose()


async def test_a_rule_change_reaches_both_running_replicas(own: Infra, servers: str) -> None:
    acme, other = f"acme-{own.run}", f"other-{own.run}"
    people = {t: [uuid.uuid4() for _ in range(CUSTOMERS)] for t in (acme, other)}
    bus = KafkaBus(servers, "crm-it-tenant-rules", topic_prefix=own.prefix)
    await bus.start()
    try:
        async with contextlib.AsyncExitStack() as stack:
            a = await stack.enter_async_context(run_service(own, "loyalty", tenant=acme))
            await stack.enter_async_context(run_service(own, "loyalty", tenant=acme))
            await until(lambda: members_hold_all(servers, own.prefix, GROUP, 2))

            await bus.publish(purchases(acme, people[acme], 1))
            await until(lambda: _count(own, acme, CUSTOMERS), within=60)
            changed = await a.client.put(
                "/v1/admin/rules/loyalty", json={"rules": TRIPLE, "changed_by": "api-key:it"}
            )
            assert changed.status_code == 200, changed.text
            assert changed.json()["previous_version"] == 0
            await bus.publish(purchases(acme, people[acme], 2) + purchases(other, people[other], 2))
            await until(lambda: _count(own, acme, 2 * CUSTOMERS), within=60)
            await until(lambda: _count(own, other, CUSTOMERS), within=60)
            in_force = await a.client.get("/v1/admin/rules/loyalty")
    finally:
        await bus.stop()
    acme_points, other_points = await earned(own, acme), await earned(own, other)
    assert acme_points["order:O-1"] == [100] * CUSTOMERS  # before the change
    assert acme_points["order:O-2"] == [300] * CUSTOMERS  # every partition, both replicas
    assert other_points["order:O-2"] == [100] * CUSTOMERS  # the installation's programme
    assert in_force.json()["source"] == "tenant" and in_force.json()["version"] == 1


async def _count(infra: Infra, tenant: str, expected: int) -> bool:
    return sum(len(v) for v in (await earned(infra, tenant)).values()) >= expected
