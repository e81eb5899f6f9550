"""Who may resolve a complaint, and for how many points, with the real feedback and
loyalty services on PostgreSQL and Kafka: another partner's ``complaint.resolved``
closes nothing and grants nothing; the filing partner's does, within loyalty's caps;
the service desk resolves a complaint no event may, and its compensation is capped
the same way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from shared.clock import FrozenClock
from shared.events import CloudEvent, new_event
from shared.events.activity import ComplaintFiled, ComplaintResolved
from shared.events.payload import Payload
from tests.integration.conftest import eventually, publish_events
from tests.integration.services import (
    Infra,
    RunningService,
    create_database,
    feedback_reaching,
    run_service,
)

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
async def services(infra: Infra) -> AsyncIterator[tuple[RunningService, RunningService]]:
    for name in ("profile", "feedback", "loyalty"):
        await create_database(infra, name)
    clock = FrozenClock(T0)  # no complaint breaches its SLA meanwhile
    async with (
        run_service(infra, "profile") as profile,  # the keys the desk's texts are sealed with
        run_service(infra, "feedback", clock=clock, service=feedback_reaching(profile)) as feedback,
        run_service(infra, "loyalty", clock=clock) as loyalty,
    ):
        yield feedback, loyalty


def activity(payload: Payload, tenant: str, customer: str, partner: str | None) -> CloudEvent:
    """An activity as profile re-publishes it, with the partner whose post it was."""
    return new_event(payload, source="/crm/profile", tenant_id=tenant, key=customer,
                     subject=customer, time=T0 + timedelta(minutes=1), partner=partner)  # fmt: skip


def filed(tenant: str, customer: str, ref: str, partner: str | None) -> CloudEvent:
    data = ComplaintFiled(complaint_ref=ref, severity="critical", category="fraud", channel="web")
    return activity(data, tenant, customer, partner)


def resolved(tenant: str, customer: str, ref: str, points: int, partner: str) -> CloudEvent:
    data = ComplaintResolved(complaint_ref=ref, resolution="Done", compensation_points=points)
    return activity(data, tenant, customer, partner)


async def ledger(loyalty: RunningService, tenant: str, customer: str) -> list[tuple[str, int]]:
    answer = await loyalty.client.get(
        f"/v1/customers/{customer}/loyalty/ledger", headers={"X-CRM-Tenant": tenant}
    )
    if answer.status_code != 200:
        return []
    return sorted((e["ref"].split(":")[0], e["points"]) for e in answer.json()["entries"])


async def ledger_becomes(loyalty, tenant, customer, expected) -> None:  # type: ignore[no-untyped-def]
    async def reached() -> bool:
        return await ledger(loyalty, tenant, customer) == expected

    await eventually(reached, within=30)


async def test_another_partners_resolution_grants_nothing_and_the_filers_is_capped(
    services, bus, tenant, customer
):
    _, loyalty = services
    await publish_events(bus, filed(tenant, customer, "T-1", "pos"))
    await ledger_becomes(loyalty, tenant, customer, [("complaint", 500)])  # goodwill

    await publish_events(
        bus,
        resolved(tenant, customer, "T-1", 10_000_000, "intruder"),
        resolved(tenant, customer, "T-1", 300, "pos"),
    )

    await ledger_becomes(loyalty, tenant, customer, [("compensation", 300), ("complaint", 500)])
    await publish_events(bus, filed(tenant, customer, "T-2", "pos"))
    await publish_events(bus, resolved(tenant, customer, "T-2", 10_000_000, "pos"))
    await ledger_becomes(
        loyalty,
        tenant,
        customer,
        [("compensation", 300), ("compensation", 5000), ("complaint", 500), ("complaint", 500)],
    )


async def test_the_desk_resolves_a_legacy_complaint_no_event_may_and_its_points_are_capped(
    services, bus, tenant, customer
):
    feedback, loyalty = services
    await publish_events(bus, filed(tenant, customer, "T-old", None))  # filed before partners
    await ledger_becomes(loyalty, tenant, customer, [("complaint", 500)])
    await publish_events(bus, resolved(tenant, customer, "T-old", 100, "pos"))
    page = await feedback.client.get(
        f"/v1/customers/{customer}/complaints", headers={"X-CRM-Tenant": tenant}
    )
    [complaint] = page.json()["complaints"]

    answer = await feedback.client.post(
        f"/v1/customers/{customer}/complaints/{complaint['complaint_id']}/resolution",
        json={"resolution": "Goodwill voucher", "compensation_points": 8000},
        headers={"X-CRM-Tenant": tenant},
    )

    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["resolved_by"]) == ("resolved", "desk")
    await ledger_becomes(loyalty, tenant, customer, [("compensation", 5000), ("complaint", 500)])
