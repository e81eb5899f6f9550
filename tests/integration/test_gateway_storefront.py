"""Publishable keys on real PostgreSQL and Kafka: a shop's server mints one per shopper
session; in a browser it records engagement and survey answers for its own customer
only, reads nothing of any other customer (403 on every customer route), and expires."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from shared import topics
from shared.auth import new_api_key
from shared.clock import FrozenClock
from shared.events import decode
from tests.integration.conftest import eventually, read_topic
from tests.integration.services import (
    Infra,
    RunningService,
    create_database,
    drop_database,
    run_service,
)

OPERATOR_KEY = new_api_key()
T0 = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
async def database(infra: Infra) -> AsyncIterator[None]:
    await create_database(infra, "gateway")
    yield
    await drop_database(infra, "gateway")


@contextlib.asynccontextmanager
async def gateway(infra: Infra, clock: FrozenClock) -> AsyncIterator[RunningService]:
    async with run_service(
        infra, "gateway", clock=clock, bootstrap_api_key=SecretStr(OPERATOR_KEY)
    ) as service:
        yield service


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def shop_server_key(gw: RunningService, tenant: str) -> str:
    body = {"name": "shop server", "partner": "shop", "sources": ["shop"], "tenant_id": tenant,
            "scopes": ["storefront:sessions"]}  # fmt: skip
    answer = await gw.client.post("/v1/admin/api-keys", json=body, headers=bearer(OPERATOR_KEY))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["api_key"])


async def session(gw: RunningService, server: str, external_id: str, **more: Any) -> Any:
    body = {"customer": {"source": "shop", "external_id": external_id}, **more}
    answer = await gw.client.post("/v1/storefront/sessions", json=body, headers=bearer(server))
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_a_publishable_key_reads_no_other_customer(
    infra: Infra, database: None, tenant: str
) -> None:
    async with gateway(infra, FrozenClock(T0)) as gw:
        minted = await session(gw, await shop_server_key(gw, tenant), "C-1")
        key = minted["publishable_key"]
        assert key.startswith("crm_pk_") and minted["customer"]["external_id"] == "C-1"
        other = uuid.uuid4()
        for path in (
            f"/v1/customers/{other}",
            f"/v1/customers/{other}/loyalty",
            f"/v1/customers/{other}/loyalty/ledger",
            f"/v1/customers/{other}/complaints",
            "/v1/customers/lookup?source=shop&external_id=C-2",
            "/v1/lifecycle/customers",
            "/v1/admin/api-keys",
            "/v1/webhooks",
        ):
            answer = await gw.client.get(path, headers=bearer(key))
            assert answer.status_code == 403, (path, answer.text)
            assert answer.json()["type"] == "urn:crm:problem:insufficient-scope"
        partner_post = {"id": "e-1", "type": "purchase.completed", "occurred_at": T0.isoformat(),
                        "customer": {"source": "shop", "external_id": "C-2"},
                        "data": {"order_id": "O", "amount_minor": 1, "currency": "CNY",
                                 "channel": "web"}}  # fmt: skip
        posted = await gw.client.post("/v1/events", json=partner_post, headers=bearer(key))
        assert posted.status_code == 403
        minting = {"customer": {"source": "shop", "external_id": "C-2"}}
        again = await gw.client.post("/v1/storefront/sessions", json=minting, headers=bearer(key))
        assert again.status_code == 403


async def test_engagement_and_survey_answers_are_its_own_customers(
    infra: Infra, database: None, tenant: str
) -> None:
    async with gateway(infra, FrozenClock(T0)) as gw:
        key = (await session(gw, await shop_server_key(gw, tenant), "C-7"))["publishable_key"]
        at = (T0 - timedelta(minutes=1)).isoformat()
        seen = {"id": "v-1", "occurred_at": at, "kind": "cart", "channel": "web"}
        engaged = await gw.client.post("/v1/storefront/engagements", json=seen, headers=bearer(key))
        assert engaged.status_code == 202, engaged.text
        nps = {"id": "s-1", "occurred_at": at, "survey": "nps", "score": 9}
        answered = await gw.client.post("/v1/storefront/surveys", json=nps, headers=bearer(key))
        assert answered.status_code == 202, answered.text
        posted = {engaged.json()["event_id"], answered.json()["event_id"]}

        someone_else = {**seen, "id": "v-2", "customer": {"source": "shop", "external_id": "C-8"}}
        refused = await gw.client.post(
            "/v1/storefront/engagements", json=someone_else, headers=bearer(key)
        )
        assert refused.status_code == 422
        off_scale = {**nps, "id": "s-2", "survey": "csat", "score": 7}
        refused = await gw.client.post(
            "/v1/storefront/surveys", json=off_scale, headers=bearer(key)
        )
        assert refused.status_code == 422

        async def published() -> list[Any]:
            records = await read_topic(infra.settings.kafka_servers, infra.prefix, topics.INBOUND)
            return [e for e in map(decode, (r.value for r in records)) if str(e.id) in posted]

        await eventually(lambda: _count(published(), 2))
        for event in await published():
            assert event.tenantid == tenant
            customer = event.data["customer"]
            assert (customer["source"], customer["external_id"]) == ("shop", "C-7")


async def _count(found: Any, count: int) -> bool:
    return len(await found) == count


async def test_a_publishable_key_expires(infra: Infra, database: None, tenant: str) -> None:
    clock = FrozenClock(T0)
    async with gateway(infra, clock) as gw:
        minted = await session(gw, await shop_server_key(gw, tenant), "C-9", ttl_seconds=600)
        assert datetime.fromisoformat(minted["expires_at"]) == T0 + timedelta(seconds=600)
        seen = {"id": "v-1", "occurred_at": T0.isoformat(), "kind": "visit", "channel": "web"}
        clock.move_to(T0 + timedelta(seconds=601))
        late = await gw.client.post(
            "/v1/storefront/engagements", json=seen, headers=bearer(minted["publishable_key"])
        )
        assert late.status_code == 401
        too_long = {"customer": {"source": "shop", "external_id": "C-9"}, "ttl_seconds": 86401}
        server = await shop_server_key(gw, tenant)
        refused = await gw.client.post(
            "/v1/storefront/sessions", json=too_long, headers=bearer(server)
        )
        assert refused.status_code == 422
