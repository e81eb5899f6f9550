"""Outbound webhooks on real PostgreSQL and Kafka, to a receiver on a real local port:
a stage change arrives signed (checked by the official Standard Webhooks library); a
receiver failing three times gets the same delivery again, same webhook-id, until it
takes it; one that always fails is disabled after the configured attempts and the
tenant is told (an event); a replay sends it once more; private addresses are refused."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook

from shared import topics
from shared.auth import new_api_key
from shared.bus.kafka import KafkaBus
from shared.events import CloudEvent, decode, new_event
from shared.events.lifecycle import StageCause, StageChanged
from tests.integration.conftest import about, eventually, publish_events
from tests.integration.receiver import Receiver, receiving
from tests.integration.services import (
    Infra,
    RunningService,
    create_database,
    drop_database,
    run_service,
)

OPERATOR_KEY = new_api_key()
STAGE_CHANGED = "crm.lifecycle.stage_changed.v1"
FAST_RETRIES = {
    "webhook_retry_base_seconds": 0.05,
    "webhook_retry_max_seconds": 0.2,
    "webhook_poll_seconds": 0.05,
    "webhook_allowed_hosts": "127.0.0.1",
    "signing_master_key": SecretStr("w" * 40),
}


@pytest.fixture(scope="module")
async def database(infra: Infra) -> AsyncIterator[None]:
    await create_database(infra, "gateway")
    yield
    await drop_database(infra, "gateway")


@contextlib.asynccontextmanager
async def gateway(infra: Infra, **settings: object) -> AsyncIterator[RunningService]:
    async with run_service(
        infra, "gateway", bootstrap_api_key=SecretStr(OPERATOR_KEY), **(FAST_RETRIES | settings)
    ) as service:
        yield service


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def tenant_admin(gw: RunningService, tenant: str) -> str:
    body = {"name": "ops", "partner": "ops", "scopes": ["admin"], "tenant_id": tenant}
    answer = await gw.client.post("/v1/admin/api-keys", json=body, headers=bearer(OPERATOR_KEY))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["api_key"])


async def subscribe(gw: RunningService, key: str, url: str, *types: str) -> dict[str, Any]:
    body = {"url": url, "event_types": list(types or [STAGE_CHANGED]), "description": "test"}
    answer = await gw.client.post("/v1/webhooks", json=body, headers=bearer(key))
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def stage_change(tenant: str) -> CloudEvent:
    customer = str(uuid.uuid4())
    payload = StageChanged.model_validate(
        {
            "from": "new_customer",
            "to": "active",
            "at": datetime.now(UTC),
            "cause": StageCause(kind="event", ref=str(uuid.uuid4())),
        }
    )
    return new_event(
        payload,
        source="/crm/lifecycle",
        tenant_id=tenant,
        key=customer,
        subject=customer,
        time=datetime.now(UTC),
    )


def verified(receiver: Receiver, secret: str) -> list[dict[str, Any]]:
    """Every request the receiver got, each checked with the official library."""
    return [Webhook(secret).verify(r.body, r.headers) for r in receiver.got]


async def test_a_stage_change_reaches_the_receiver_signed(
    infra: Infra, database: None, bus: KafkaBus, tenant: str
) -> None:
    async with gateway(infra) as gw, receiving() as receiver:
        key = await tenant_admin(gw, tenant)
        created = await subscribe(gw, key, receiver.url)
        assert created["secret"].startswith("whsec_") and created["status"] == "active"
        event = stage_change(tenant)
        await publish_events(bus, event)

        [got] = await receiver.wait_for(1)
        [body] = verified(receiver, created["secret"])
        assert got.headers["webhook-id"] == str(event.id)
        assert body["type"] == STAGE_CHANGED and body["subject"] == event.subject
        assert body["data"]["to"] == "active" and body["tenant_id"] == tenant

        listed = await gw.client.get("/v1/webhooks", headers=bearer(key))
        assert [w["webhook_id"] for w in listed.json()["webhooks"]] == [created["webhook_id"]]
        assert "secret" not in listed.json()["webhooks"][0]


async def test_a_receiver_failing_three_times_gets_the_same_delivery_until_it_takes_it(
    infra: Infra, database: None, bus: KafkaBus, tenant: str
) -> None:
    async with gateway(infra, webhook_max_attempts=5) as gw, receiving([500, 503, 500]) as rx:
        key = await tenant_admin(gw, tenant)
        created = await subscribe(gw, key, rx.url)
        event = stage_change(tenant)
        await publish_events(bus, event)

        got = await rx.wait_for(4)
        assert {r.headers["webhook-id"] for r in got} == {str(event.id)}
        assert len(verified(rx, created["secret"])) == 4
        log = f"/v1/webhooks/{created['webhook_id']}/deliveries"

        async def delivered() -> bool:
            page = (await gw.client.get(log, headers=bearer(key))).json()
            return bool(page["deliveries"]) and page["deliveries"][0]["status"] == "delivered"

        await eventually(delivered)
        [delivery] = (await gw.client.get(log, headers=bearer(key))).json()["deliveries"]
        assert delivery["event_id"] == str(event.id) and delivery["attempts"] == 4
        assert delivery["last_status_code"] == 204
        assert len(rx.got) == 4  # delivered: never sent again


async def test_a_receiver_that_always_fails_is_disabled_and_the_tenant_told(
    infra: Infra, database: None, bus: KafkaBus, tenant: str
) -> None:
    async with gateway(infra, webhook_max_attempts=3) as gw, receiving(otherwise=500) as rx:
        key = await tenant_admin(gw, tenant)
        created = await subscribe(gw, key, rx.url)
        webhook = f"/v1/webhooks/{created['webhook_id']}"
        event = stage_change(tenant)
        await publish_events(bus, event)

        async def disabled() -> bool:
            found = (await gw.client.get(webhook, headers=bearer(key))).json()
            return found["status"] == "disabled"

        await eventually(disabled)
        assert len(await rx.wait_for(3)) == 3
        found = (await gw.client.get(webhook, headers=bearer(key))).json()
        assert "3 attempts" in found["disabled_reason"] and "500" in found["disabled_reason"]
        [failed] = (await gw.client.get(f"{webhook}/deliveries", headers=bearer(key))).json()[
            "deliveries"
        ]
        assert failed["status"] == "failed" and failed["attempts"] == 3

        async def told() -> list[CloudEvent]:
            servers = infra.settings.kafka_servers
            found = await about(servers, infra.prefix, topics.GATEWAY, created["webhook_id"])
            return [decode(r.value) for r in found]

        await eventually(lambda: _nonempty(told()))
        [notice] = await told()
        assert notice.type == "crm.gateway.webhook_disabled.v1" and notice.tenantid == tenant
        assert notice.data["host"] == "127.0.0.1"

        # Fixed: enable the subscription, replay the failed delivery, same webhook-id.
        rx.otherwise = 204
        assert (await gw.client.post(f"{webhook}/enable", headers=bearer(key))).status_code == 200
        replay = f"{webhook}/deliveries/{failed['delivery_id']}/replay"
        replayed = await gw.client.post(replay, headers=bearer(key))
        assert replayed.status_code == 202, replayed.text
        got = await rx.wait_for(4)
        assert got[3].headers["webhook-id"] == str(event.id)
        assert Webhook(created["secret"]).verify(got[3].body, got[3].headers)["id"] == str(event.id)


async def _nonempty(found: Any) -> bool:
    return bool(await found)


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:8080/hook",
        "http://[::1]/hook",
        "http://192.168.1.20:9000/hook",
    ],
)
async def test_a_private_address_is_refused(
    infra: Infra, database: None, tenant: str, url: str
) -> None:
    async with gateway(infra) as gw:
        key = await tenant_admin(gw, tenant)
        body = {"url": url, "event_types": ["*"]}
        answer = await gw.client.post("/v1/webhooks", json=body, headers=bearer(key))
        assert answer.status_code == 422, answer.text
        problem = orjson.loads(answer.content)
        assert problem["type"] == "urn:crm:problem:webhook-url-refused"
        assert "CRM_WEBHOOK_ALLOWED_HOSTS" in problem["detail"]
        listed = await gw.client.get("/v1/webhooks", headers=bearer(key))
        assert listed.json()["webhooks"] == []
