"""API keys on real PostgreSQL, with two gateway processes sharing one database as in
production: listing without secrets, revocation seen at once by every gateway, rotation
with an overlap, expiry, cheap last-use, tenant boundaries, and the bootstrap key."""

from __future__ import annotations

import base64
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from services.gateway.tables import api_key
from shared.auth import new_api_key
from shared.clock import FrozenClock
from tests.integration.services import (
    Infra,
    RunningService,
    create_database,
    drop_database,
    run_service,
)

T0 = datetime(2026, 6, 1, 9, tzinfo=UTC)
OPERATOR_KEY = new_api_key()


@pytest.fixture(scope="module")
async def database(infra: Infra) -> AsyncIterator[None]:
    await create_database(infra, "gateway")
    yield
    await drop_database(infra, "gateway")


@contextlib.asynccontextmanager
async def gateway(
    infra: Infra, clock: FrozenClock, bootstrap: str = OPERATOR_KEY, **settings: object
) -> AsyncIterator[RunningService]:
    async with run_service(
        infra, "gateway", clock=clock, bootstrap_api_key=SecretStr(bootstrap), **settings
    ) as service:
        yield service


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def create(gw: RunningService, as_key: str, **body: Any) -> httpx.Response:
    body = {"name": "shop", "partner": "shop", "scopes": ["admin"]} | body
    return await gw.client.post("/v1/admin/api-keys", json=body, headers=bearer(as_key))


async def new_key(gw: RunningService, as_key: str = OPERATOR_KEY, **body: Any) -> dict[str, Any]:
    answer = await create(gw, as_key, **body)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def listed(gw: RunningService, as_key: str, **params: Any) -> httpx.Response:
    return await gw.client.get("/v1/admin/api-keys", params=params, headers=bearer(as_key))


async def works(gw: RunningService, key: str) -> int:
    """The status of an authenticated read that needs no service behind the gateway."""
    return (await listed(gw, key, limit=1)).status_code


async def test_a_revoked_key_is_refused_at_once_by_every_gateway(
    infra: Infra, database: None
) -> None:
    clock = FrozenClock(T0)
    async with gateway(infra, clock) as first, gateway(infra, clock) as second:
        created = await new_key(first, scopes=["admin"], name="acme admin", tenant_id="acme")
        key = created["api_key"]
        assert (await listed(second, key)).status_code == 200

        revoked = await first.client.delete(
            f"/v1/admin/api-keys/{created['key_id']}", headers=bearer(OPERATOR_KEY)
        )
        assert revoked.status_code == 204
        refused = await listed(second, key)
        assert refused.status_code == 401
        assert refused.json()["type"] == "urn:crm:problem:invalid-api-key"
        assert (await listed(first, key)).status_code == 401

        page = await listed(second, OPERATOR_KEY, tenant_id="acme")
    assert page.status_code == 200
    [shown] = page.json()["keys"]
    assert shown["key_id"] == created["key_id"] and shown["revoked_at"] is not None
    assert key not in page.text and "hash" not in page.text


async def test_the_list_is_paged_and_shows_what_a_key_may_do(infra: Infra, database: None) -> None:
    clock = FrozenClock(T0)
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    async with gateway(infra, clock) as gw:
        made = [
            await new_key(
                gw,
                name=f"pos {n}",
                partner="pos",
                scopes=["events:write"],
                sources=["pos", "web"],
                event_types=["purchase.completed"],
                tenant_id=tenant,
            )
            for n in range(3)
        ]
        first = (await listed(gw, OPERATOR_KEY, tenant_id=tenant, limit=2)).json()
        rest = await listed(gw, OPERATOR_KEY, tenant_id=tenant, cursor=first["next_cursor"])
        bad_cursor = await listed(gw, OPERATOR_KEY, cursor="not-a-cursor")
        far = f"9999-12-31T23:59:59+14:00|{uuid.uuid4()}"
        far_cursor = await listed(
            gw, OPERATOR_KEY, cursor=base64.urlsafe_b64encode(far.encode()).decode()
        )
    shown = first["keys"] + rest.json()["keys"]
    assert [k["key_id"] for k in shown] == sorted(m["key_id"] for m in made)
    assert rest.json()["next_cursor"] is None
    assert shown[0]["sources"] == ["pos", "web"]
    assert shown[0]["event_types"] == ["purchase.completed"]
    assert shown[0]["scopes"] == ["events:write"] and shown[0]["signed"] is False
    assert bad_cursor.status_code == far_cursor.status_code == 422


async def test_a_rotated_key_overlaps_then_only_the_new_secret_works(
    infra: Infra, database: None
) -> None:
    clock = FrozenClock(T0)
    async with gateway(infra, clock) as gw:
        old = await new_key(gw)
        path = f"/v1/admin/api-keys/{old['key_id']}/rotate"
        too_long = await gw.client.post(
            path, json={"overlap_seconds": 8 * 86400}, headers=bearer(OPERATOR_KEY)
        )
        rotated = await gw.client.post(
            path, json={"overlap_seconds": 3600}, headers=bearer(OPERATOR_KEY)
        )
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["api_key"]
        during = (await works(gw, old["api_key"]), await works(gw, new))
        clock.move_to(T0 + timedelta(seconds=3601))
        after_old = await listed(gw, old["api_key"])
        after_new = await works(gw, new)
    assert too_long.status_code == 422
    assert rotated.json()["previous_valid_until"].startswith("2026-06-01T10:00:00")
    assert during == (200, 200)
    assert after_old.status_code == 401 and "rotation" in after_old.json()["detail"]
    assert after_new == 200


async def test_an_expired_key_is_401(infra: Infra, database: None) -> None:
    clock = FrozenClock(T0)
    async with gateway(infra, clock) as gw:
        key = (await new_key(gw, expires_at=(T0 + timedelta(hours=1)).isoformat()))["api_key"]
        in_the_past = await create(gw, OPERATOR_KEY, expires_at="2026-05-01T00:00:00Z")
        before = await works(gw, key)
        clock.move_to(T0 + timedelta(hours=1))
        after = await listed(gw, key)
    assert in_the_past.status_code == 422
    assert before == 200
    assert after.status_code == 401 and "expired" in after.json()["detail"]


async def test_last_use_is_written_at_most_once_a_minute(infra: Infra, database: None) -> None:
    clock = FrozenClock(T0)
    async with gateway(infra, clock) as gw:
        made = await new_key(gw)

        async def last_used() -> datetime | None:
            async with gw.runtime.db.engine.connect() as conn:
                return await conn.scalar(  # type: ignore[no-any-return]
                    select(api_key.c.last_used_at).where(
                        api_key.c.key_id == uuid.UUID(made["key_id"])
                    )
                )

        assert await last_used() is None
        await works(gw, made["api_key"])
        first = await last_used()
        clock.move_to(T0 + timedelta(seconds=30))
        for _ in range(5):
            await works(gw, made["api_key"])
        within_the_minute = await last_used()
        clock.move_to(T0 + timedelta(seconds=61))
        await works(gw, made["api_key"])
        later = await last_used()
    assert first == within_the_minute == T0
    assert later == T0 + timedelta(seconds=61)


async def test_a_tenant_admin_stays_in_its_tenant_and_grants_only_what_it_holds(
    infra: Infra, database: None
) -> None:
    clock = FrozenClock(T0)
    async with gateway(infra, clock) as gw:
        acme = (await new_key(gw, scopes=["admin", "events:write"], tenant_id="acme"))["api_key"]
        default_key = await new_key(gw)
        answers = {
            "other tenant": await create(gw, acme, scopes=["events:write"], tenant_id="default"),
            "operator": await create(gw, acme, scopes=["operator"]),
            "lacking": await create(gw, acme, scopes=["customers:read"]),
            "list other": await listed(gw, acme, tenant_id="default"),
            "revoke other": await gw.client.delete(
                f"/v1/admin/api-keys/{default_key['key_id']}", headers=bearer(acme)
            ),
            "rotate other": await gw.client.post(
                f"/v1/admin/api-keys/{default_key['key_id']}/rotate", headers=bearer(acme)
            ),
            "operator grants operator": await create(gw, OPERATOR_KEY, scopes=["operator"]),
            "own": await create(gw, acme, scopes=["events:write"], sources=["shop", "web"]),
        }
        own_list = (await listed(gw, acme)).json()["keys"]
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses == {
        "other tenant": 403,
        "operator": 403,
        "lacking": 403,
        "list other": 403,
        "revoke other": 404,
        "rotate other": 404,
        "operator grants operator": 403,
        "own": 201,
    }
    assert answers["other tenant"].json()["type"] == "urn:crm:problem:foreign-tenant"
    assert answers["lacking"].json()["type"] == "urn:crm:problem:scope-not-grantable"
    assert {k["tenant_id"] for k in own_list} == {"acme"}


@pytest.mark.parametrize(
    "body",
    [
        {"signed": "yes"},
        {"signed": 1},
        {"sources": ["POS!"]},
        {"sources": []},
        {"event_types": ["purchase.done"]},
        {"expires_at": "2026-07-01T00:00:00"},
        {"unknown": True},
    ],
    ids=["signed yes", "signed 1", "bad source", "no source", "bad type", "naive", "unknown"],
)
async def test_a_bad_key_request_is_422(infra: Infra, database: None, body: dict[str, Any]) -> None:
    async with gateway(infra, FrozenClock(T0)) as gw:
        answer = await create(gw, OPERATOR_KEY, **body)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_changing_the_bootstrap_key_revokes_the_previous_one(
    infra: Infra, database: None
) -> None:
    clock = FrozenClock(T0)
    old, new = new_api_key(), new_api_key()
    async with gateway(infra, clock, bootstrap=old) as gw:
        assert await works(gw, old) == 200
    async with gateway(infra, clock, bootstrap=new) as gw:
        old_answer = await works(gw, old)
        new_answer = await works(gw, new)
        keys = (await listed(gw, new, limit=200)).json()["keys"]
        bootstrap = next(k for k in keys if k["bootstrap"] and k["revoked_at"] is None)
        undeletable = await gw.client.delete(
            f"/v1/admin/api-keys/{bootstrap['key_id']}", headers=bearer(new)
        )
    assert (old_answer, new_answer) == (401, 200)
    assert "operator" in bootstrap["scopes"]
    assert undeletable.status_code == 409
