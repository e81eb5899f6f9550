"""The feedback service on real PostgreSQL and Kafka: a complaint filed then resolved
announces the resolution with the customer's open count; a resolution for a ref it
never saw (or one that arrives before its complaint) records and announces nothing.
The clock stands at the filing time, so no complaint breaches its SLA meanwhile."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from services.feedback.tables import complaint
from shared import topics
from shared.clock import FrozenClock
from shared.events import CloudEvent, decode, new_event
from shared.events.activity import ComplaintFiled, ComplaintResolved
from shared.events.payload import Payload
from tests.integration.conftest import about, eventually, publish_events
from tests.integration.services import (
    Infra,
    RunningService,
    create_database,
    feedback_reaching,
    run_service,
)

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
async def feedback(infra: Infra) -> AsyncIterator[RunningService]:
    await create_database(infra, "feedback")
    await create_database(infra, "profile")
    async with (
        run_service(infra, "profile") as profile,  # the keys the desk's texts are sealed with
        run_service(
            infra, "feedback", clock=FrozenClock(T0), service=feedback_reaching(profile)
        ) as service,
    ):
        yield service


def activity(
    payload: Payload, tenant: str, customer: str, at: datetime, partner: str | None = "pos"
) -> CloudEvent:
    """An activity as profile re-publishes it: carrying the partner whose post it was."""
    return new_event(
        payload,
        source="/crm/profile",
        tenant_id=tenant,
        key=customer,
        subject=customer,
        time=at,
        partner=partner,
    )


def filed(
    tenant: str, customer: str, ref: str, at: datetime = T0, partner: str | None = "pos"
) -> CloudEvent:
    data = ComplaintFiled(complaint_ref=ref, severity="high", category="delivery", channel="phone")
    return activity(data, tenant, customer, at, partner)


def resolved(
    tenant: str, customer: str, ref: str, at: datetime, points: int = 0, partner: str = "pos"
) -> CloudEvent:
    data = ComplaintResolved(complaint_ref=ref, resolution="Refunded", compensation_points=points)
    return activity(data, tenant, customer, at, partner)


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
        "resolved_by": "partner:pos",
        "resolution": None,  # a partner's: on crm.activity; the desk's text is here
        "resolver": None,
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


def dropped(reason: str) -> float:
    return (
        REGISTRY.get_sample_value("crm_feedback_resolutions_dropped_total", {"reason": reason})
        or 0.0
    )


async def until_status(feedback: RunningService, tenant: str, ref: str, status: str) -> None:
    async def reached() -> bool:
        return (await statuses(feedback, tenant)).get(ref) == status

    await eventually(reached, within=30)


async def test_only_the_filing_partner_can_resolve_a_complaint_by_event(
    feedback, infra, bus, tenant, customer
):
    before = dropped("not_filer")
    await publish_events(
        bus,
        filed(tenant, customer, "T-1", partner="pos"),
        filed(tenant, customer, "T-legacy", partner=None),  # filed before partners were kept
    )
    await until_announced(infra, customer, 2)
    await publish_events(
        bus,
        resolved(tenant, customer, "T-1", T0 + timedelta(hours=1), 10_000_000, partner="other"),
        resolved(tenant, customer, "T-legacy", T0 + timedelta(hours=1), 500, partner="pos"),
    )
    # Published after the refused ones, on the same partition: consumed after them.
    await publish_events(bus, resolved(tenant, customer, "T-1", T0 + timedelta(hours=2)))
    await until_status(feedback, tenant, "T-1", "resolved")

    events = await until_announced(infra, customer, 3)

    assert [e.type for e in events].count("crm.feedback.complaint_resolved.v1") == 1
    done = events[-1].payload()
    assert (done.complaint_ref, done.compensation_points, done.resolved_by) == (
        "T-1", 0, "partner:pos",
    )  # fmt: skip
    assert await statuses(feedback, tenant) == {"T-1": "resolved", "T-legacy": "open"}
    assert dropped("not_filer") - before == 2


async def _complaint_id(feedback: RunningService, tenant: str, customer: str, ref: str) -> str:
    page = await feedback.client.get(
        f"/v1/customers/{customer}/complaints", headers={"X-CRM-Tenant": tenant}
    )
    return next(c["complaint_id"] for c in page.json()["complaints"] if c["complaint_ref"] == ref)


def desk(feedback: RunningService, tenant: str, customer: str, complaint_id: str, body: object):
    return feedback.client.post(
        f"/v1/customers/{customer}/complaints/{complaint_id}/resolution",
        json=body,
        headers={"X-CRM-Tenant": tenant},
    )


async def test_the_desk_resolves_an_open_complaint_once_and_announces_it(
    feedback, infra, bus, tenant, customer
):
    await publish_events(bus, filed(tenant, customer, "T-1", partner=None))
    await until_announced(infra, customer, 1)
    complaint_id = await _complaint_id(feedback, tenant, customer, "T-1")
    body = {"resolution": "Replacement shipped", "compensation_points": 300}

    answer = await desk(feedback, tenant, customer, complaint_id, body)
    again = await desk(feedback, tenant, customer, complaint_id, body)

    assert answer.status_code == 200, answer.text
    assert answer.json() | {"due_at": ""} == {
        "complaint_id": complaint_id, "complaint_ref": "T-1", "severity": "high",
        "category": "delivery", "channel": "phone", "status": "resolved",
        "opened_at": "2026-03-01T12:00:00Z", "due_at": "", "resolved_at": "2026-03-01T12:00:00Z",
        "escalation_level": 0, "escalated_at": None, "resolved_by": "desk",
        "customer_id": customer, "assignee": None, "first_contact_at": "2026-03-01T12:00:00Z",
        "closed_at": None, "reopened": 0, "compensation_points": 300, "response_id": None,
        "breached": False,
    }  # fmt: skip
    assert (again.status_code, again.json()["type"]) == (
        409, "urn:crm:problem:complaint-already-resolved",
    )  # fmt: skip
    assert again.headers["content-type"] == "application/problem+json"
    events = await until_announced(infra, customer, 2)
    done = events[1].payload()
    assert (done.resolved_by, done.compensation_points, done.open_complaints) == ("desk", 300, 0)
    assert len(await announced(infra, customer)) == 2


@pytest.mark.parametrize(
    "body",
    [
        {"resolution": "", "compensation_points": 0},
        {"resolution": "ok", "compensation_points": -1},
        {"resolution": "ok", "compensation_points": "5"},
        {"resolution": "ok", "compensation_points": 10**10},
        {"resolution": "x" * 10_001},
        {"resolution": "a\x00b"},
        {"resolution": "ok", "points": 5},
        {},
    ],
)
async def test_a_bad_desk_resolution_is_refused_and_changes_nothing(
    feedback, infra, bus, tenant, customer, body
):
    await publish_events(bus, filed(tenant, customer, "T-1"))
    await until_announced(infra, customer, 1)
    complaint_id = await _complaint_id(feedback, tenant, customer, "T-1")

    answer = await desk(feedback, tenant, customer, complaint_id, body)

    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert await statuses(feedback, tenant) == {"T-1": "open"}


async def test_the_desk_cannot_resolve_what_is_not_the_customers_in_its_tenant(
    feedback, infra, bus, tenant, customer
):
    await publish_events(bus, filed(tenant, customer, "T-1"))
    await until_announced(infra, customer, 1)
    complaint_id = await _complaint_id(feedback, tenant, customer, "T-1")
    body = {"resolution": "Done"}
    stranger = "00000000-0000-4000-8000-000000000002"

    answers = [
        await desk(feedback, tenant, customer, "00000000-0000-4000-8000-000000000003", body),
        await desk(feedback, tenant, stranger, complaint_id, body),
        await desk(feedback, "t-elsewhere", customer, complaint_id, body),
    ]

    assert [(a.status_code, a.json()["type"]) for a in answers] == [
        (404, "urn:crm:problem:complaint-not-found")
    ] * 3
    assert await statuses(feedback, tenant) == {"T-1": "open"}
