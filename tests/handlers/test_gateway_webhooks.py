"""The gateway's webhook consumer group on the fast tier: an event becomes one pending
delivery per enabled subscription of its tenant that wants its type, body and id
ready to sign; a redelivered event records nothing twice; other tenants', unwanted
types and disabled subscriptions get nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

import orjson

from services.gateway.tables import webhook_delivery, webhook_subscription
from services.gateway.webhooks import domain
from shared.events.lifecycle import StageCause, StageChanged
from shared.events.loyalty import TierChanged
from tests.handlers.bench import NOW, TENANT, Bench, event

GROUP = "gateway-webhooks"


async def subscribed(bench: Bench, types: list[str], **more: object) -> uuid.UUID:
    subscription_id = uuid.uuid4()
    row = {
        "subscription_id": subscription_id,
        "tenant_id": TENANT,
        "url": "https://hooks.example.com/crm",
        "event_types": types,
        "description": "",
        "created_at": NOW,
        "created_by": "api-key:test",
        **more,
    }
    async with bench.engine.begin() as conn:
        await conn.execute(webhook_subscription.insert().values(**row))
    return subscription_id


def stage_change(customer: uuid.UUID, tenant: str = TENANT):  # type: ignore[no-untyped-def]
    payload = StageChanged.model_validate(
        {"from": "new_customer", "to": "active", "at": NOW,
         "cause": StageCause(kind="event", ref="e-1")}
    )  # fmt: skip
    return event(payload, customer, tenant=tenant, source="/crm/lifecycle")


async def test_an_event_becomes_a_pending_delivery_for_each_subscription_that_wants_it(
    bench_of,
) -> None:
    bench = await bench_of("gateway")
    every = await subscribed(bench, ["*"])
    stages = await subscribed(bench, ["crm.lifecycle.stage_changed.v1"])
    await subscribed(bench, ["crm.loyalty.tier_changed.v1"])  # another type
    await subscribed(bench, ["*"], disabled_at=NOW - timedelta(hours=1))  # disabled
    changed = stage_change(uuid.uuid4())

    await bench.consume(GROUP, changed, stage_change(uuid.uuid4(), tenant="other"))
    await bench.consume(GROUP, changed)  # redelivered

    rows = await bench.rows(webhook_delivery)
    assert {r["subscription_id"] for r in rows} == {every, stages}
    for row in rows:
        assert row["event_id"] == changed.id and row["status"] == "pending"
        assert row["delivery_id"] == domain.delivery_id(row["subscription_id"], changed.id)
        assert row["attempts"] == 0 and row["next_attempt_at"] is not None
        assert orjson.loads(row["body"])["id"] == str(changed.id)


async def test_a_tier_change_reaches_only_subscriptions_of_its_type(bench_of) -> None:
    bench = await bench_of("gateway")
    tiers = await subscribed(bench, ["crm.loyalty.tier_changed.v1"])
    await subscribed(bench, ["crm.lifecycle.stage_changed.v1"])
    upgraded = event(
        TierChanged(from_tier="member", to_tier="silver", cause="spend", at=NOW), uuid.uuid4()
    )
    await bench.consume(GROUP, upgraded)
    [row] = await bench.rows(webhook_delivery)
    assert (row["subscription_id"], row["event_type"]) == (tiers, "crm.loyalty.tier_changed.v1")
