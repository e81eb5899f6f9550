"""CORS at the gateway: none by default; an allowed origin's preflight succeeds, any
other's is refused (problem+json), and an answer names only an allowed origin."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from services.gateway.app import definition
from services.gateway.settings import GatewaySettings
from shared.app import create_service_app

SHOP = "https://shop.example"
PREFLIGHT = {"Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type"}  # fmt: skip


def _client(**settings: str) -> httpx.AsyncClient:
    app = create_service_app(definition(), GatewaySettings(service="gateway", **settings))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


async def test_an_allowed_origins_preflight_succeeds() -> None:
    async with _client(cors_origins=f"{SHOP}, https://app.shop.example") as client:
        answer = await client.options("/v1/events", headers={"Origin": SHOP, **PREFLIGHT})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == SHOP
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert "authorization" in answer.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in answer.headers


async def test_another_origins_preflight_fails() -> None:
    async with _client(cors_origins=SHOP) as client:
        answer = await client.options(
            "/v1/events", headers={"Origin": "https://evil.example", **PREFLIGHT}
        )
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "urn:crm:problem:cors-refused"
    assert "access-control-allow-origin" not in answer.headers


async def test_no_origin_is_allowed_by_default() -> None:
    async with _client() as client:
        answer = await client.options("/v1/events", headers={"Origin": SHOP, **PREFLIGHT})
        read = await client.get("/v1/events/asyncapi.json", headers={"Origin": SHOP})
    assert answer.status_code != 200
    assert "access-control-allow-origin" not in answer.headers
    assert read.status_code == 200 and "access-control-allow-origin" not in read.headers


async def test_an_answer_to_an_allowed_origin_names_it() -> None:
    async with _client(cors_origins=SHOP) as client:
        allowed = await client.get("/v1/events/asyncapi.json", headers={"Origin": SHOP})
        other = await client.get(
            "/v1/events/asyncapi.json", headers={"Origin": "https://evil.example"}
        )
    assert allowed.headers["access-control-allow-origin"] == SHOP
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize("origins", ["https://shop.example/path", "shop.example", "ftp://x.y"])
def test_an_origin_that_is_no_origin_stops_the_gateway(origins: str) -> None:
    with pytest.raises(ValidationError, match="CRM_CORS_ORIGINS"):
        GatewaySettings(service="gateway", cors_origins=origins)
