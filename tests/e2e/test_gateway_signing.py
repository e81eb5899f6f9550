"""A key created to sign its posts is refused unless each post carries a fresh HMAC
signature of its body; other keys carry on as before."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import orjson
from pydantic import SecretStr

from services.gateway.app import definition
from services.gateway.settings import GatewaySettings
from services.gateway.signing import signature
from shared.app import create_service_app
from shared.auth import new_api_key
from shared.bus.memory import MemoryBus
from tests.e2e.conftest import purchase


def without_name(event: dict[str, Any]) -> dict[str, Any]:
    """The gateway runs alone here, and personal fields are sealed with keys profile
    keeps (without it they are a 503): these purchases carry none."""
    event["customer"].pop("name")
    return event


def _gateway(tmp_path: Path, admin: str, master: str | None) -> Any:
    settings = GatewaySettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
        bootstrap_api_key=SecretStr(admin),
        internal_secret=SecretStr("i" * 32),
        signing_master_key=SecretStr(master) if master else None,
    )
    return create_service_app(definition(), settings, bus=MemoryBus())


async def test_a_signing_key_needs_a_fresh_signature_of_the_body(tmp_path: Path) -> None:
    admin = new_api_key()
    app = _gateway(tmp_path, admin, master="x" * 48)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway"
        ) as client,
    ):
        created = await client.post(
            "/v1/admin/api-keys",
            json={"name": "pos", "partner": "pos", "scopes": ["events:write"], "signed": True},
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert created.status_code == 201
        key, secret = created.json()["api_key"], created.json()["signing_secret"]
        body = orjson.dumps(without_name(purchase("s-1", "S-1", "O-1")))
        stamp = str(int(time.time()))

        async def post(extra: dict[str, str], content: bytes = body) -> httpx.Response:
            headers = {"Authorization": f"Bearer {key}", "content-type": "application/json"}
            return await client.post("/v1/events", content=content, headers=headers | extra)

        unsigned = await post({})
        tampered = await post(
            {"X-CRM-Timestamp": stamp, "X-CRM-Signature": signature(secret, stamp, body)},
            content=body.replace(b"129900", b"999900"),
        )
        signed = await post(
            {"X-CRM-Timestamp": stamp, "X-CRM-Signature": signature(secret, stamp, body)}
        )
        unsigned_admin_post = await client.post(
            "/v1/events",
            json=without_name(purchase("s-2", "S-2", "O-2")),
            headers={"Authorization": f"Bearer {admin}"},
        )

    for refused in (unsigned, tampered):
        assert refused.status_code == 401
        assert refused.json()["type"] == "urn:crm:problem:invalid-signature"
    assert signed.status_code == 202 and signed.json()["status"] == "accepted"
    assert unsigned_admin_post.status_code == 202


async def test_no_signing_key_without_a_master_key(tmp_path: Path) -> None:
    admin = new_api_key()
    app = _gateway(tmp_path, admin, master=None)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway"
        ) as client,
    ):
        refused = await client.post(
            "/v1/admin/api-keys",
            json={"name": "pos", "partner": "pos", "scopes": ["events:write"], "signed": True},
            headers={"Authorization": f"Bearer {admin}"},
        )
    assert refused.status_code == 422
    assert refused.json()["type"] == "urn:crm:problem:signing-not-configured"
