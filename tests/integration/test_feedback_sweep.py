"""Feedback's time-based work on real PostgreSQL and Kafka, with a frozen clock and two
replicas sharing one database: a purchase schedules a CSAT invitation that the sweep
sends once at its due time (never before), the per-customer throttle holds, an answer
closes its invitation, and an overdue complaint is escalated exactly once even when
both replicas sweep at the same instant."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from services.feedback.tables import complaint, survey_invitation, survey_response
from shared.clock import FrozenClock
from shared.events import CloudEvent, new_event
from shared.events.activity import ComplaintFiled, PurchaseCompleted, SurveyResponded
from shared.events.payload import Payload
from tests.integration.conftest import eventually, publish_events
from tests.integration.services import Infra, RunningService, create_database, run_service
from tests.integration.test_feedback_service import announced

T0 = datetime(2026, 6, 1, 9, tzinfo=UTC)
INVITED = "crm.feedback.survey_invited.v1"
ESCALATED = "crm.feedback.complaint_escalated.v1"


@pytest.fixture(scope="module")
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture(scope="module")
async def replicas(infra: Infra, clock: FrozenClock) -> AsyncIterator[list[RunningService]]:
    """Two replicas of feedback on one database; their own sweepers wait an hour, so
    the tests decide when a sweep runs."""
    await create_database(infra, "feedback")
    options = {"clock": clock, "feedback_sweep_seconds": 3600}
    async with (
        run_service(infra, "feedback", **options) as first,  # type: ignore[arg-type]
        run_service(infra, "feedback", **options) as second,  # type: ignore[arg-type]
    ):
        yield [first, second]


def activity(payload: Payload, tenant: str, customer: str, at: datetime) -> CloudEvent:
    return new_event(
        payload, source="/crm/profile", tenant_id=tenant, key=customer, subject=customer, time=at
    )


def purchase(tenant: str, customer: str, order: str, at: datetime) -> CloudEvent:
    data = PurchaseCompleted(order_id=order, amount_minor=1000, currency="CNY", channel="web")
    return activity(data, tenant, customer, at)


async def rows(service: RunningService, table, **where) -> list[dict]:
    query = select(table).where(*(table.c[k] == v for k, v in where.items()))
    async with service.runtime.db.engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(query)]


async def until_rows(service: RunningService, table, count: int, **where) -> list[dict]:
    found: list[dict] = []

    async def enough() -> bool:
        found[:] = await rows(service, table, **where)
        return len(found) >= count

    await eventually(enough, within=30)
    return found


async def sweep(service: RunningService, tenant: str, **params: str) -> dict[str, int]:
    """A sweep as the gateway forwards it for an admin of ``tenant``."""
    answer = await service.client.post(
        "/v1/feedback/sweep", headers={"X-CRM-Tenant": tenant}, params=params
    )
    assert answer.status_code == 200
    return answer.json()


async def of_type(infra: Infra, customer: str, kind: str, count: int) -> list[CloudEvent]:
    found: list[CloudEvent] = []

    async def enough() -> bool:
        found[:] = [e for e in await announced(infra, customer) if e.type == kind]
        return len(found) >= count

    await eventually(enough, within=30)
    return found


async def test_a_purchase_invites_to_csat_once_at_its_due_time_and_an_answer_closes_it(
    replicas, clock, infra, bus, tenant, customer
):
    first, second = replicas
    clock.move_to(T0)
    await publish_events(bus, purchase(tenant, customer, "O-1", T0))
    [scheduled] = await until_rows(first, survey_invitation, 1, customer_id=uuid.UUID(customer))
    assert (scheduled["status"], scheduled["due_at"]) == ("scheduled", T0 + timedelta(hours=24))

    clock.move_to(T0 + timedelta(hours=23, minutes=59))
    await sweep(first, tenant)
    assert (await rows(first, survey_invitation, tenant_id=tenant))[0]["status"] == "scheduled"

    clock.move_to(T0 + timedelta(hours=24))
    await asyncio.gather(sweep(first, tenant), sweep(second, tenant))
    await sweep(second, tenant)
    [invited] = await of_type(infra, customer, INVITED, 1)
    payload = invited.payload().model_dump(mode="json")
    assert payload.pop("answer_token").startswith("v1.")
    assert payload == {
        "invitation_id": str(scheduled["invitation_id"]),
        "survey": "csat",
        "order_id": "O-1",
        "invited_at": "2026-06-02T09:00:00Z",
        "expires_at": "2026-06-16T09:00:00Z",
        "channel": "email",
        "occasion": "purchase",
        "questions": {"en": "How satisfied are you with your purchase?"},
    }

    answer = SurveyResponded(survey="csat", score=5)
    await publish_events(bus, activity(answer, tenant, customer, T0 + timedelta(hours=30)))
    [closed] = await until_rows(first, survey_invitation, 1, tenant_id=tenant, status="answered")
    assert closed["answered_at"] == T0 + timedelta(hours=30)
    assert [e.type for e in await announced(infra, customer)].count(INVITED) == 1


async def test_the_throttle_allows_one_invitation_per_customer_per_period(
    replicas, infra, bus, tenant, customer
):
    first, _ = replicas
    other = str(uuid.uuid4())
    await publish_events(
        bus,
        purchase(tenant, customer, "O-1", T0),
        purchase(tenant, customer, "O-2", T0 + timedelta(days=3)),
        purchase(tenant, other, "O-9", T0 + timedelta(days=3)),
    )
    await until_rows(first, survey_invitation, 2, tenant_id=tenant)
    await publish_events(
        bus,
        purchase(tenant, customer, "O-3", T0 + timedelta(days=20)),
        purchase(tenant, customer, "O-4", T0 + timedelta(days=31)),
    )

    found = await until_rows(first, survey_invitation, 3, tenant_id=tenant)

    assert sorted((str(r["customer_id"]), r["order_id"]) for r in found) == sorted(
        [(customer, "O-1"), (other, "O-9"), (customer, "O-4")]
    )


async def test_an_overdue_complaint_is_escalated_exactly_once_by_two_replicas(
    replicas, clock, infra, bus, tenant, customer
):
    first, second = replicas
    clock.move_to(T0)
    refs = [f"T-{n}" for n in range(5)]
    filings = [
        activity(ComplaintFiled(complaint_ref=ref, severity="high", category="delivery",
                                channel="phone"), tenant, customer, T0)
        for ref in refs
    ]  # fmt: skip
    await publish_events(bus, *filings)
    await until_rows(first, complaint, 5, tenant_id=tenant)
    clock.move_to(T0 + timedelta(hours=23))
    assert (await sweep(first, tenant))["escalated"] == 0

    clock.move_to(T0 + timedelta(hours=25))
    answers = await asyncio.gather(
        sweep(first, tenant), sweep(second, tenant), sweep(first, tenant), sweep(second, tenant)
    )

    assert sum(a["escalated"] for a in answers) == 5
    events = await of_type(infra, customer, ESCALATED, 5)
    assert sorted(e.payload().complaint_ref for e in events) == refs
    assert events[0].payload().model_dump(mode="json") | {
        "complaint_id": "",
        "complaint_ref": "",
    } == {
        "complaint_id": "",
        "complaint_ref": "",
        "severity": "high",
        "level": 1,
        "due_at": "2026-06-02T09:00:00Z",
        "escalated_at": "2026-06-02T09:00:00Z",  # at the breach, though swept an hour late
        "overdue_by": "PT0S",
        "category": "delivery",
        "assignee": None,
    }
    page = await first.client.get(
        f"/v1/customers/{customer}/complaints",
        params={"limit": 2},
        headers={"X-CRM-Tenant": tenant},
    )
    assert page.status_code == 200
    assert [(c["status"], c["escalation_level"]) for c in page.json()["complaints"]] == [
        ("escalated", 1),
        ("escalated", 1),
    ]
    assert page.json()["next_cursor"]


async def test_scores_cover_the_tenants_answers_in_the_window(replicas, bus, tenant, customer):
    first, _ = replicas
    answers = [("nps", 10), ("nps", 9), ("nps", 3), ("csat", 5), ("csat", 2), ("ces", 3)]
    events = [
        activity(
            SurveyResponded(survey=kind, score=score), tenant, customer, T0 + timedelta(hours=n)
        )
        for n, (kind, score) in enumerate(answers)
    ]
    outside = activity(
        SurveyResponded(survey="nps", score=0), tenant, customer, T0 - timedelta(days=1)
    )
    await publish_events(bus, *events, outside)
    await until_rows(first, survey_response, 7, tenant_id=tenant)
    window = {"from": T0.isoformat(), "to": (T0 + timedelta(days=1)).isoformat()}

    answer = await first.client.get(
        "/v1/feedback/scores", params=window, headers={"X-CRM-Tenant": tenant}
    )

    assert answer.status_code == 200
    found = answer.json()
    # 95 % intervals: adjusted Wald (clipped at 100), Wilson, Student t (clipped to 1–5);
    # one CES answer has none.
    assert found["nps"].pop("interval") == {"low": -66.19, "high": 100.0}
    assert found["csat"].pop("satisfied_interval") == {"low": 9.45, "high": 90.55}
    assert found["csat"].pop("average_interval") == {"low": 1.0, "high": 5.0}
    assert found["ces"].pop("interval") is None
    assert found.pop("methods")["nps"].startswith("adjusted Wald")
    assert [found.pop(k) for k in ("group_by", "interval", "groups")] == [None, None, None]
    assert found == {
        "from": "2026-06-01T09:00:00Z",
        "to": "2026-06-02T09:00:00Z",
        "nps": {"score": 33.3, "responses": 3, "promoters": 2, "passives": 0, "detractors": 1},
        "csat": {"average": 3.5, "satisfied_pct": 50.0, "responses": 2},
        "ces": {"average": 3.0, "responses": 1},
        # The NPS 3 and the CSAT 2 opened recovery cases; each customer answered again
        # (CSAT 5, CES 3) no longer as a detractor.
        "recovery": {
            "cases": 2, "contacted_within_sla": 0, "contacted_within_sla_pct": 0.0,
            "answered_again": 2, "recovered": 2, "recovered_pct": 100.0,
        },
    }  # fmt: skip
    backwards = {"from": window["to"], "to": window["from"]}
    refused = await first.client.get(
        "/v1/feedback/scores", params=backwards, headers={"X-CRM-Tenant": tenant}
    )
    assert refused.status_code == 422
    empty = await first.client.get(
        "/v1/feedback/scores", params=window, headers={"X-CRM-Tenant": "t-nobody"}
    )
    assert empty.json()["nps"]["score"] is None


async def test_a_sweep_does_the_callers_tenant_only_unless_all_tenants_are_asked(
    replicas, clock, bus, tenant, customer
):
    first, _ = replicas
    other, theirs = f"t-{uuid.uuid4().hex[:10]}", str(uuid.uuid4())
    clock.move_to(T0)
    high = ComplaintFiled(complaint_ref="T-1", severity="high", category="delivery",
                          channel="phone")  # fmt: skip
    await publish_events(
        bus,
        purchase(tenant, customer, "O-1", T0),
        activity(high, tenant, customer, T0),
        purchase(other, theirs, "O-1", T0),
        activity(high, other, theirs, T0),
    )
    for who in (tenant, other):
        await until_rows(first, survey_invitation, 1, tenant_id=who)
        await until_rows(first, complaint, 1, tenant_id=who)
    clock.move_to(T0 + timedelta(hours=25))

    mine = await sweep(first, tenant)

    # The customer's complaint is open when the CSAT falls due: it is suppressed.
    assert mine == {"invited": 0, "suppressed": 1, "expired": 0, "escalated": 1}
    [untouched] = await rows(first, survey_invitation, tenant_id=other)
    [waiting] = await rows(first, complaint, tenant_id=other)
    assert (untouched["status"], waiting["status"]) == ("scheduled", "open")

    everyone = await sweep(first, tenant, all_tenants="true")

    # every tenant's: this one's, and what the module's other tests left due
    assert everyone["suppressed"] >= 1 and everyone["escalated"] >= 1
    [sent] = await rows(first, survey_invitation, tenant_id=other)
    [escalated] = await rows(first, complaint, tenant_id=other)
    assert (sent["status"], escalated["status"]) == ("suppressed", "escalated")
