"""The closed loop on real PostgreSQL and Kafka, feedback and loyalty as two services
with one frozen clock: a purchase earns a CSAT invitation after its delay; the answer
posted with its token is readable; a detractor's opens a recovery case on the desk,
which an agent takes up and resolves granting goodwill (the desk's cap refuses more,
loyalty grants it in its ledger); the resolution earns the CES follow-up. A token
works once and never past its expiry (the lapse is announced), a forged one never;
and two replicas sweeping together invite each customer once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from services.feedback.tables import survey_invitation
from shared.clock import FrozenClock
from shared.events.activity import PurchaseCompleted
from tests.integration.conftest import eventually, publish_events
from tests.integration.services import (
    Infra,
    RunningService,
    create_database,
    feedback_reaching,
    run_service,
)
from tests.integration.test_feedback_sweep import activity, of_type, rows, until_rows

T0 = datetime(2026, 7, 1, 9, tzinfo=UTC)
DAY = timedelta(days=1)
INVITED = "crm.feedback.survey_invited.v1"
EXPIRED = "crm.feedback.invitation_expired.v1"


@pytest.fixture(scope="module")
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture(scope="module")
async def stack(infra: Infra, clock: FrozenClock) -> AsyncIterator[list[RunningService]]:
    """Two feedback replicas on one database and loyalty, and profile for the keys the
    texts on crm.feedback are sealed with; the tests run the sweeps."""
    for name in ("profile", "feedback", "loyalty"):
        await create_database(infra, name)
    async with run_service(infra, "profile") as profile:
        service = feedback_reaching(profile)
        options = {"clock": clock, "feedback_sweep_seconds": 3600, "service": service}
        async with (
            run_service(infra, "feedback", **options) as first,  # type: ignore[arg-type]
            run_service(infra, "feedback", **options) as second,  # type: ignore[arg-type]
            run_service(infra, "loyalty", clock=clock, loyalty_sweep_seconds=3600) as loyalty,
        ):
            yield [first, second, loyalty]


def bought(tenant: str, customer: str, order: str, at: datetime):  # type: ignore[no-untyped-def]
    data = PurchaseCompleted(order_id=order, amount_minor=1000, currency="CNY", channel="web")
    return activity(data, tenant, customer, at)


async def swept(service: RunningService, tenant: str) -> dict[str, int]:
    answer = await service.client.post("/v1/feedback/sweep", headers=_as(tenant))
    assert answer.status_code == 200, answer.text
    return answer.json()


def _as(tenant: str) -> dict[str, str]:
    return {"X-CRM-Tenant": tenant}


async def invited_token(service: RunningService, tenant: str, customer: str) -> dict:
    page = await service.client.get(
        f"/v1/customers/{customer}/survey-invitations", headers=_as(tenant)
    )
    assert page.status_code == 200, page.text
    [invitation] = page.json()["invitations"]
    return invitation


async def test_purchase_to_csat_to_recovery_to_goodwill_to_ces(
    stack, clock, infra, bus, tenant, customer
):
    feedback, _, loyalty = stack
    clock.move_to(T0)
    await publish_events(bus, bought(tenant, customer, "O-1", T0))
    await until_rows(feedback, survey_invitation, 1, customer_id=uuid.UUID(customer))
    clock.move_to(T0 + DAY)  # feedback.toml: the CSAT 24 hours after the purchase
    assert (await swept(feedback, tenant))["invited"] == 1
    invitation = await invited_token(feedback, tenant, customer)
    assert (invitation["survey"], invitation["channel"]) == ("csat", "email")

    answer = {"answer_token": invitation["answer_token"], "score": 1, "comment": "Arrived broken"}
    posted = await feedback.client.post("/v1/survey-responses", json=answer, headers=_as(tenant))
    again = await feedback.client.post("/v1/survey-responses", json=answer, headers=_as(tenant))

    assert posted.status_code == 201, posted.text
    assert (again.status_code, again.json()["type"].rsplit(":", 1)[-1]) == (
        409,
        "invitation-closed",
    )
    read = await feedback.client.get(
        f"/v1/customers/{customer}/survey-responses", headers=_as(tenant)
    )
    [kept] = read.json()["responses"]
    assert (kept["score"], kept["comment"], kept["channel"]) == (1, "Arrived broken", "email")
    assert kept["invitation_id"] == invitation["invitation_id"]
    queue = await feedback.client.get(
        "/v1/feedback/complaints", params={"category": "detractor_recovery"}, headers=_as(tenant)
    )
    [case] = queue.json()["complaints"]
    assert (case["customer_id"], case["response_id"]) == (customer, kept["response_id"])
    assert case["due_at"] == "2026-07-04T09:00:00Z"  # [recovery] 48 hours after the answer

    one = f"/v1/customers/{customer}/complaints/{case['complaint_id']}"
    taken = await feedback.client.patch(
        one, json={"status": "in_progress", "assignee": "agent-7", "actor": "api-key:x"},
        headers=_as(tenant),
    )  # fmt: skip
    over = await feedback.client.post(
        f"{one}/resolution", json={"resolution": "Replaced", "compensation_points": 20000},
        headers=_as(tenant),
    )  # fmt: skip
    resolved = await feedback.client.post(
        f"{one}/resolution", json={"resolution": "Replaced", "compensation_points": 800},
        headers=_as(tenant),
    )  # fmt: skip

    assert (taken.status_code, taken.json()["assignee"]) == (200, "agent-7")
    assert (over.status_code, over.json()["type"].rsplit(":", 1)[-1]) == (409, "goodwill-over-cap")
    assert (resolved.status_code, resolved.json()["status"]) == (200, "resolved")

    async def granted() -> bool:
        page = await loyalty.client.get(
            f"/v1/customers/{customer}/loyalty/ledger", headers=_as(tenant)
        )
        entries = page.json().get("entries", []) if page.status_code == 200 else []
        adjusted = [(e["ref"], e["points"]) for e in entries if e["kind"] == "adjust"]
        return adjusted == [(f"compensation:{case['complaint_id']}", 800)]

    await eventually(granted, within=30)
    clock.move_to(T0 + 2 * DAY + timedelta(hours=1))  # the CES 24 hours after the resolution
    assert (await swept(feedback, tenant))["invited"] == 1
    invitations = await of_type(infra, customer, INVITED, 2)
    ces = invitations[-1].payload()
    assert (ces.survey, ces.occasion, ces.answer_token is not None) == (
        "ces",
        "complaint_resolved",
        True,
    )
    scores = await feedback.client.get(
        "/v1/feedback/scores",
        params={"from": T0.isoformat(), "to": (T0 + 3 * DAY).isoformat()},
        headers=_as(tenant),
    )
    assert scores.json()["recovery"] | {"recovered_pct": None} == {
        "cases": 1, "contacted_within_sla": 1, "contacted_within_sla_pct": 100.0,
        "answered_again": 0, "recovered": 0, "recovered_pct": None,
    }  # fmt: skip


async def test_an_expired_or_forged_token_is_refused_and_the_lapse_announced(
    stack, clock, infra, bus, tenant, customer
):
    feedback, _, _ = stack
    clock.move_to(T0)
    await publish_events(bus, bought(tenant, customer, "O-1", T0))
    await until_rows(feedback, survey_invitation, 1, customer_id=uuid.UUID(customer))
    clock.move_to(T0 + DAY)
    await swept(feedback, tenant)
    token = (await invited_token(feedback, tenant, customer))["answer_token"]
    head, claims, _ = token.split(".")
    forged = f"{head}.{claims}.{'A' * 43}"

    refused = await feedback.client.post(
        "/v1/survey-responses", json={"answer_token": forged, "score": 5}, headers=_as(tenant)
    )
    clock.move_to(T0 + 15 * DAY)  # feedback.toml: expires after 14 days
    late = await feedback.client.post(
        "/v1/survey-responses", json={"answer_token": token, "score": 5}, headers=_as(tenant)
    )
    assert (await swept(feedback, tenant))["expired"] == 1

    assert (refused.status_code, refused.json()["type"].rsplit(":", 1)[-1]) == (
        401, "invalid-answer-token",
    )  # fmt: skip
    assert (late.status_code, late.json()["type"].rsplit(":", 1)[-1]) == (409, "invitation-expired")
    [lapsed] = await of_type(infra, customer, EXPIRED, 1)
    assert lapsed.payload().expires_at == T0 + 15 * DAY  # sent at T0 + 1 day
    assert (await rows(feedback, survey_invitation, customer_id=uuid.UUID(customer)))[0][
        "status"
    ] == "expired"


async def test_two_replicas_sweeping_together_invite_each_customer_once(
    stack, clock, infra, bus, tenant
):
    first, second, _ = stack
    clock.move_to(T0)
    customers = [str(uuid.uuid4()) for _ in range(40)]
    await publish_events(bus, *(bought(tenant, c, f"O-{n}", T0) for n, c in enumerate(customers)))
    await until_rows(first, survey_invitation, 40, tenant_id=tenant)
    clock.move_to(T0 + DAY)

    answers = await asyncio.gather(*(swept(s, tenant) for s in (first, second, first, second)))

    assert sum(a["invited"] for a in answers) == 40
    sent = await rows(first, survey_invitation, tenant_id=tenant, status="sent")
    assert len(sent) == 40
    for customer in customers[:5]:
        assert len(await of_type(infra, customer, INVITED, 1)) == 1
