"""A signed key signs every write it makes, on any route, not only ``/v1/events``; odd
signature headers are a 401, never a 500. On real PostgreSQL, through the gateway."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import orjson
import pytest
from pydantic import SecretStr

from services.gateway.signing import signature
from shared.auth import new_api_key
from tests.integration.services import (
    Infra,
    RunningService,
    create_database,
    drop_database,
    run_service,
)

OPERATOR_KEY = new_api_key()


@pytest.fixture(scope="module")
async def gw(infra: Infra) -> AsyncIterator[RunningService]:
    await create_database(infra, "gateway")
    async with run_service(
        infra,
        "gateway",
        bootstrap_api_key=SecretStr(OPERATOR_KEY),
        signing_master_key=SecretStr("m" * 40),
    ) as service:
        yield service
    await drop_database(infra, "gateway")


@pytest.fixture(scope="module")
async def signed_admin(gw: RunningService) -> tuple[str, str]:
    created = await gw.client.post(
        "/v1/admin/api-keys",
        json={"name": "ops", "partner": "ops", "scopes": ["admin"], "signed": True},
        headers={"Authorization": f"Bearer {OPERATOR_KEY}"},
    )
    assert created.status_code == 201, created.text
    return created.json()["api_key"], created.json()["signing_secret"]


NEW_KEY = {"name": "dashboard", "partner": "web", "scopes": ["admin"]}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/admin/api-keys"),
        ("POST", "/v1/loyalty/sweep"),
        ("POST", "/v1/lifecycle/model/fit"),
        ("DELETE", "/v1/admin/api-keys/00000000-0000-0000-0000-000000000000"),
    ],
)
async def test_an_unsigned_write_of_a_signed_key_is_401_on_any_route(
    gw: RunningService, signed_admin: tuple[str, str], method: str, path: str
) -> None:
    key, _ = signed_admin
    answer = await gw.client.request(
        method, path, json=NEW_KEY, headers={"Authorization": f"Bearer {key}"}
    )
    assert answer.status_code == 401, answer.text
    assert answer.json()["type"] == "urn:crm:problem:invalid-signature"


async def test_a_signed_write_goes_through_and_reads_need_no_signature(
    gw: RunningService, signed_admin: tuple[str, str]
) -> None:
    key, secret = signed_admin
    body = orjson.dumps(NEW_KEY)
    stamp = str(int(time.time()))
    headers = {
        "Authorization": f"Bearer {key}",
        "content-type": "application/json",
        "X-CRM-Timestamp": stamp,
        "X-CRM-Signature": signature(secret, stamp, body),
    }
    created = await gw.client.post("/v1/admin/api-keys", content=body, headers=headers)
    tampered = await gw.client.post(
        "/v1/admin/api-keys", content=body.replace(b"web", b"pos"), headers=headers
    )
    read = await gw.client.get("/v1/admin/api-keys", headers={"Authorization": f"Bearer {key}"})
    assert created.status_code == 201, created.text
    assert tampered.status_code == 401
    assert read.status_code == 200


@pytest.mark.parametrize(
    "stamp",
    ["²³".encode(), "١٧٦٣".encode(), b"9" * 5000, b"-1763812500", b"17638 12500", b"\x01"],
    ids=["superscript", "arabic digits", "huge", "negative", "space", "control"],
)
async def test_an_odd_timestamp_is_401_never_500(
    gw: RunningService, signed_admin: tuple[str, str], stamp: bytes
) -> None:
    key, _ = signed_admin
    answer = await gw.client.post(
        "/v1/admin/api-keys",
        json=NEW_KEY,
        headers={
            "Authorization": f"Bearer {key}",
            "X-CRM-Timestamp": stamp,  # type: ignore[dict-item]
            "X-CRM-Signature": "v1=" + "0" * 64,
        },
    )
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_a_signed_key_may_not_be_asked_for_with_a_string(gw: RunningService) -> None:
    answer = await gw.client.post(
        "/v1/admin/api-keys",
        json=NEW_KEY | {"signed": "yes"},
        headers={"Authorization": f"Bearer {OPERATOR_KEY}"},
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "signed"


async def test_a_rotation_issues_a_new_signing_secret_beside_the_old(gw: RunningService) -> None:
    operator = {"Authorization": f"Bearer {OPERATOR_KEY}"}
    created = (
        await gw.client.post(
            "/v1/admin/api-keys",
            json=NEW_KEY | {"name": "rolling", "signed": True},
            headers=operator,
        )
    ).json()
    rotated = await gw.client.post(
        f"/v1/admin/api-keys/{created['key_id']}/rotate", headers=operator
    )
    assert rotated.status_code == 200, rotated.text
    new_key, new_secret = rotated.json()["api_key"], rotated.json()["signing_secret"]
    assert new_secret and new_secret != created["signing_secret"]

    async def post_signed(key: str, secret: str) -> int:
        body = orjson.dumps(NEW_KEY)
        stamp = str(int(time.time()))
        headers = {
            "Authorization": f"Bearer {key}",
            "content-type": "application/json",
            "X-CRM-Timestamp": stamp,
            "X-CRM-Signature": signature(secret, stamp, body),
        }
        return (
            await gw.client.post("/v1/admin/api-keys", content=body, headers=headers)
        ).status_code

    assert await post_signed(created["api_key"], created["signing_secret"]) == 201  # overlap
    assert await post_signed(new_key, new_secret) == 201
    assert await post_signed(new_key, created["signing_secret"]) == 401
