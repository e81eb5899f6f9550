"""The customers' keys feedback seals its own texts with, on PostgreSQL and Kafka: profile
makes one only for a customer it holds, never for one an erasure holds (the erasure locks
the person first, the endpoint reads them ``FOR SHARE``); with profile out of reach the
desk's resolution route answers 503 and writes nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.profile import privacy, subject_keys
from shared.bus.kafka import KafkaBus
from shared.db import create_engine
from shared.erasure import delete_rows
from shared.events import new_event
from shared.events.activity import ComplaintFiled
from shared.settings import ServiceSettings
from tests.integration.conftest import eventually, publish_events
from tests.integration.services import (
    Infra,
    create_database,
    drop_database,
    own_infra,
    run_service,
)
from tests.integration.test_sealed_feedback import (
    SERVICES,
    T0,
    customer_keys,
    customer_of,
    inbound,
)


@pytest.fixture
async def isolated(settings: ServiceSettings) -> AsyncIterator[Infra]:
    async with own_infra(settings, "ck", SERVICES) as infra:
        yield infra


async def test_no_key_is_made_for_a_customer_being_erased(infra: Infra, bus: KafkaBus) -> None:
    """The erasure holds the person's rows (``FOR UPDATE``) from before it destroys the
    keys; a key asked for meanwhile waits (``FOR SHARE``), then finds the customer gone."""
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    await create_database(infra, "profile")
    try:
        async with run_service(infra, "profile", tenant=tenant) as profile:
            await publish_events(bus, *inbound(tenant, "C-3"))
            customer = uuid.UUID(await customer_of(profile, "C-3"))
            engine = create_engine(infra.database_url("profile"))
            try:
                async with engine.connect() as conn, conn.begin():
                    person = await privacy._person(conn, tenant, customer)
                    await subject_keys.destroy(conn, tenant, person)
                    asked = asyncio.create_task(customer_keys(profile, [str(customer)]))
                    await asyncio.sleep(1.0)
                    waited = not asked.done()
                    for table in privacy.ERASED:
                        await delete_rows(conn, table, tenant, person)
                given = await asked
                async with engine.connect() as conn:
                    rows = await subject_keys._read(
                        conn, tenant, {(subject_keys.RECORD, str(customer))}
                    )
            finally:
                await engine.dispose()
    finally:
        await drop_database(infra, "profile")

    assert waited, "the key was given while the erasure held the customer"
    assert given == {} and rows == {}


async def test_profile_out_of_reach_answers_503_and_resolves_nothing(isolated: Infra) -> None:
    """The desk's text cannot be announced unsealed: with profile away the route answers
    a problem the desk can retry on, and the complaint stays open. (Topics of its own:
    a feedback without profile would wait on any sealed text other tests left.)"""
    tenant, customer = f"t-{uuid.uuid4().hex[:10]}", str(uuid.uuid4())
    filing = new_event(
        ComplaintFiled(complaint_ref="T-9", severity="low", category="delivery", channel="web"),
        source="/crm/profile", tenant_id=tenant, key=customer, subject=customer, time=T0,
        partner="pos",
    )  # fmt: skip
    nowhere = "http://127.0.0.1:9"  # the discard port: nothing listens
    async with run_service(isolated, "feedback", tenant=tenant, profile_url=nowhere) as feedback:
        bus = KafkaBus(isolated.settings.kafka_servers, "it-sf", topic_prefix=isolated.prefix)
        await bus.start()
        try:
            await publish_events(bus, filing)
        finally:
            await bus.stop()
        complaints: list[dict[str, Any]] = []

        async def filed() -> bool:
            found = await feedback.client.get(f"/v1/customers/{customer}/complaints")
            complaints[:] = found.json().get("complaints", []) if found.status_code == 200 else []
            return bool(complaints)

        await eventually(filed, within=60)
        one = f"/v1/customers/{customer}/complaints/{complaints[0]['complaint_id']}"
        refused = await feedback.client.post(
            f"{one}/resolution", json={"resolution": "Refunded", "compensation_points": 0}
        )
        kept = (await feedback.client.get(one)).json()

    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "retry" in refused.json()["detail"]
    assert (kept["status"], kept["resolved_at"]) == ("open", None)
