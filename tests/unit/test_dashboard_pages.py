"""The dashboard's files as the gateway serves them: the page with its content security
policy, only the files shipped with it, and nothing of it in the OpenAPI document (its
routes are no JSON operations)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from services.gateway.app import definition
from services.gateway.dashboard import pages
from shared.app import create_service_app


@pytest.fixture
async def client() -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(pages.router)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


async def test_the_page_is_served_with_a_policy_that_keeps_it_to_its_gateway(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/dashboard")

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    policy = answer.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["cache-control"] == "no-store"
    assert "<script" in answer.text and "http" not in answer.text.split("<body>")[0]


async def test_the_page_loads_its_modules_and_the_vendored_chart_library(
    client: httpx.AsyncClient,
) -> None:
    app = await client.get("/dashboard/assets/js/app.js")
    chart = await client.get("/dashboard/assets/vendor/chart.umd.min.js")

    assert app.status_code == chart.status_code == 200
    assert app.headers["content-type"] == "text/javascript; charset=utf-8"
    assert chart.text.startswith("/*!\n * Chart.js v4.")
    assert "sourceMappingURL" not in chart.text  # no request for a map it does not ship


@pytest.mark.parametrize(
    "name", ["missing.js", "../pages.py", "%2e%2e/pages.py", "vendor/README.md", "index.html"]
)
async def test_only_the_pages_own_scripts_and_styles_are_served(
    client: httpx.AsyncClient, name: str
) -> None:
    answer = await client.get(f"/dashboard/assets/{name}")

    assert answer.status_code == 404
    assert "router" not in answer.text and "<html" not in answer.text


def test_the_dashboard_is_not_an_operation_of_the_openapi_document() -> None:
    paths = create_service_app(definition()).openapi()["paths"]

    assert not [path for path in paths if path.startswith("/dashboard")]
