"""Satisfaction and channel analytics on real PostgreSQL and Kafka: feedback folds the
tier loyalty announces and each order's channel from crm.activity, and its grouped
scores (by tier, per day) and channel figures, read over HTTP, match a hand
computation; the CSV answers parse to the same figures."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from services.feedback.tables import channel_order, respondent, survey_response
from shared.clock import FrozenClock
from shared.events import CloudEvent, new_event
from shared.events.activity import PurchaseCompleted, SurveyResponded
from shared.events.loyalty import TierChanged
from shared.events.payload import Payload
from tests.integration.conftest import publish_events
from tests.integration.services import Infra, RunningService, create_database, run_service
from tests.integration.test_feedback_sweep import until_rows

T0 = datetime(2026, 9, 7, 9, tzinfo=UTC)  # a Monday
DAY = timedelta(days=1)


@pytest.fixture(scope="module")
async def feedback(infra: Infra) -> AsyncIterator[RunningService]:
    await create_database(infra, "feedback")
    clock = FrozenClock(T0 + 30 * DAY)
    async with run_service(infra, "feedback", clock=clock) as service:  # type: ignore[arg-type]
        yield service


def _event(payload: Payload, tenant: str, customer: str, at: datetime, source: str) -> CloudEvent:
    return new_event(
        payload, source=source, tenant_id=tenant, key=customer, subject=customer, time=at
    )


def answered(tenant: str, customer: str, score: int, at: datetime, channel: str) -> CloudEvent:
    data = SurveyResponded(survey="nps", score=score, channel=channel)
    return _event(data, tenant, customer, at, "/crm/profile")


def bought(tenant: str, customer: str, order: str, amount: int, channel: str) -> CloudEvent:
    data = PurchaseCompleted(order_id=order, amount_minor=amount, currency="CNY", channel=channel)
    return _event(data, tenant, customer, T0, "/crm/profile")


def tiered(tenant: str, customer: str, tier: str) -> CloudEvent:
    data = TierChanged(from_tier=None, to_tier=tier, cause="spend", at=T0)
    return _event(data, tenant, customer, T0, "/crm/loyalty")


async def test_scores_by_tier_per_day_and_channel_figures_on_postgresql(
    feedback: RunningService, bus, tenant: str
) -> None:
    gold, member = str(uuid.uuid4()), str(uuid.uuid4())
    await publish_events(
        bus,
        tiered(tenant, gold, "gold"), tiered(tenant, member, "member"),
        bought(tenant, gold, "G-1", 10_000, "web"), bought(tenant, gold, "G-2", 5_001, "web"),
        bought(tenant, member, "M-1", 2_000, "store"),
        answered(tenant, gold, 10, T0, "web"), answered(tenant, gold, 6, T0 + DAY, "web"),
        answered(tenant, member, 8, T0, "store"), answered(tenant, member, 9, T0, "store"),
    )  # fmt: skip
    await until_rows(feedback, survey_response, 4, tenant_id=tenant)
    await until_rows(feedback, channel_order, 3, tenant_id=tenant)
    await until_rows(feedback, respondent, 2, tenant_id=tenant)
    headers = {"X-CRM-Tenant": tenant}
    window = {"from": T0.isoformat(), "to": (T0 + 7 * DAY).isoformat()}

    read = await feedback.client.get(
        "/v1/feedback/scores", params={**window, "group_by": "tier", "interval": "day"},
        headers=headers,
    )  # fmt: skip

    assert read.status_code == 200, read.text
    got = {(g["period"][:10], g["group"]): (g["nps"]["score"], g["nps"]["responses"])
           for g in read.json()["groups"]}  # fmt: skip
    assert got == {
        ("2026-09-07", "gold"): (100.0, 1),
        ("2026-09-07", "member"): (50.0, 2),  # a passive and a promoter
        ("2026-09-08", "gold"): (-100.0, 1),
    }
    channels = await feedback.client.get("/v1/analytics/channels", params=window, headers=headers)
    assert channels.status_code == 200, channels.text
    found = {c["channel"]: c for c in channels.json()["channels"]}
    assert found["web"]["revenue"] == [
        {"currency": "CNY", "orders": 2, "revenue_minor": 15_001, "average_order_minor": 7_501}
    ]
    assert (found["web"]["nps"]["score"], found["store"]["nps"]["score"]) == (0.0, 50.0)
    assert [found[c]["preferred_share"] for c in ("store", "web")] == [0.5, 0.5]
    table = await feedback.client.get(
        "/v1/analytics/channels", params=window, headers={**headers, "accept": "text/csv"}
    )
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert {r["channel"]: r["revenue_minor"] for r in rows} == {"store": "2000", "web": "15001"}
