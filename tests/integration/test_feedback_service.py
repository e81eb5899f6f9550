"""The feedback service on real PostgreSQL and Kafka: a complaint filed then resolved
announces the resolution with the customer's open count; a resolution for a ref it
never saw (or one that arrives before its complaint) records and announces nothing.
The clock stands at the filing time, so no complaint breaches its SLA meanwhile."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from services.feedback.tables import complaint
from shared import topics
from shared.clock import FrozenClock
from shared.events import CloudEvent, decode, new_event
from shared.events.activity import ComplaintFiled, ComplaintResolved
from shared.events.payload import Payload
from tests.integration.conftest import about, eventually, publish_events
from tests.integration.services import Infra, RunningService, create_database, run_service

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
async def feedback(infra: Infra) -> AsyncIterator[RunningService]:
    await create_database(infra, "feedback")
    async with run_service(infra, "feedback", clock=FrozenClock(T0)) as service:
        yield service


def activity(payload: Payload, tenant: str, customer: str, at: datetime) -> CloudEvent:
    return new_event(
        payload, source="/crm/profile", tenant_id=tenant, key=customer, subject=customer, time=at
    )


def filed(tenant: str, customer: str, ref: str, at: datetime = T0) -> CloudEvent:
    data = ComplaintFiled(complaint_ref=ref, severity="high", category="delivery", channel="phone")
    return activity(data, tenant, customer, at)


def resolved(tenant: str, customer: str, ref: str, at: datetime, points: int = 0) -> CloudEvent:
    data = ComplaintResolved(complaint_ref=ref, resolution="Refunded", compensation_points=points)
    return activity(data, tenant, customer, at)


async def announced(infra: Infra, customer: str) -> list[CloudEvent]:
    records = await about(infra.settings.kafka_servers, infra.prefix, topics.FEEDBACK, customer)
    return [decode(r.value) for r in records]


async def until_announced(infra: Infra, customer: str, count: int) -> list[CloudEvent]:
    found: list[CloudEvent] = []

    async def enough() -> bool:
        found[:] = await announced(infra, customer)
        return len(found) >= count

    await eventually(enough, within=30)
    return found


async def statuses(feedback: RunningService, tenant: str) -> dict[str, str]:
    async with feedback.runtime.db.engine.connect() as conn:
        rows = await conn.execute(
            select(complaint.c.complaint_ref, complaint.c.status).where(
                complaint.c.tenant_id == tenant
            )
        )
        return {ref: status for ref, status in rows}


async def test_a_filed_complaint_resolved_in_time_is_announced_once_with_no_open_left(
    feedback, infra, bus, tenant, customer
):
    resolution = resolved(tenant, customer, "T-1", T0 + timedelta(hours=3), points=150)
    await publish_events(bus, filed(tenant, customer, "T-1"), resolution, resolution)
    await publish_events(bus, resolved(tenant, customer, "T-1", T0 + timedelta(hours=4)))
    await until_announced(infra, customer, 2)
    # Published once the resolution is out, so consumed after every event above.
    await publish_events(bus, filed(tenant, customer, "T-2"))

    events = await until_announced(infra, customer, 3)

    assert [e.type for e in events] == [
        "crm.feedback.complaint_opened.v1",
        "crm.feedback.complaint_resolved.v1",
        "crm.feedback.complaint_opened.v1",
    ]
    opened, done = events[0].payload(), events[1].payload()
    assert done.model_dump(mode="json") == {
        "complaint_id": opened.complaint_id,
        "complaint_ref": "T-1",
        "severity": "high",
        "opened_at": "2026-03-01T12:00:00Z",
        "resolved_at": "2026-03-01T15:00:00Z",
        "within_sla": True,
        "compensation_points": 150,
        "open_complaints": 0,
    }
    assert events[2].payload().open_complaints == 1
    assert await statuses(feedback, tenant) == {"T-1": "resolved", "T-2": "open"}


async def test_a_late_resolution_is_announced_outside_the_sla(
    feedback, infra, bus, tenant, customer
):
    await publish_events(
        bus,
        filed(tenant, customer, "T-1"),
        resolved(tenant, customer, "T-1", T0 + timedelta(days=2)),
    )

    events = await until_announced(infra, customer, 2)

    assert events[1].payload().within_sla is False


async def test_an_unknown_or_early_resolution_records_and_announces_nothing(
    feedback, infra, bus, tenant, customer
):
    other = "00000000-0000-4000-8000-000000000001"
    await publish_events(
        bus,
        resolved(tenant, customer, "T-never-filed", T0),
        resolved(tenant, customer, "T-1", T0),  # arrives, and is dated, before its complaint
        filed(tenant, other, "T-3"),
    )
    await publish_events(
        bus,
        resolved(tenant, customer, "T-3", T0 + timedelta(hours=1)),  # another customer's
        filed(tenant, customer, "T-1", T0 + timedelta(minutes=5)),
    )

    events = await until_announced(infra, customer, 1)

    assert [e.type for e in events] == ["crm.feedback.complaint_opened.v1"]
    assert events[0].payload().open_complaints == 1
    assert await statuses(feedback, tenant) == {"T-1": "open", "T-3": "open"}
