"""What an operator sees of a request or a service: a request id on every answer and log
line, JSON lines from every logger, and the metrics beyond throughput (outbox backlog and
age, upstream latency and errors at the gateway, 429s)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import MetaData, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import outgoing, topics
from shared.clock import FrozenClock
from shared.db import create_engine
from shared.outbox import measure_backlog
from shared.problems import Problem, install_problem_handlers
from shared.requestid import HEADER, install_request_id
from shared.tables import kernel_tables
from tests.e2e.embedded import embedded_client

ROOT = Path(__file__).resolve().parents[2]
METADATA = MetaData()
OUTBOX, _ = kernel_tables(METADATA)


def _app(forwarded: list[httpx.Request] | None = None) -> FastAPI:
    """An app of the kernel's shape: problems, the request id outermost, and a route
    that calls an upstream as the gateway does."""
    app = FastAPI()
    install_problem_handlers(app, "obs-unit")

    @app.get("/limited")
    async def limited() -> None:
        raise Problem(429, "rate-limited", "Slow down.")

    @app.get("/broken")
    async def broken() -> None:
        raise RuntimeError("bug")

    @app.get("/forward")
    async def forward() -> dict[str, str]:
        def answer(request: httpx.Request) -> httpx.Response:
            (forwarded if forwarded is not None else []).append(request)
            return httpx.Response(200, json={})

        transport = httpx.MockTransport(answer)
        async with outgoing.client("obs-profile", transport=transport, base_url="http://p") as up:
            await up.get("/x")
        return {}

    install_request_id(app)
    return app


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://svc")


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("req-42.a:b", True), ("has space", False), ("x" * 129, False), (None, False)],
)
async def test_every_answer_carries_a_request_id_the_callers_when_sane(
    sent: str | None, kept: bool
) -> None:
    async with _client(_app()) as client:
        answer = await client.get("/limited", headers={HEADER: sent} if sent else {})
    assert answer.status_code == 429
    if kept:
        assert answer.headers[HEADER] == sent
    else:
        assert uuid.UUID(answer.headers[HEADER])


async def test_an_unexpected_500_carries_its_request_id_too() -> None:
    async with _client(_app()) as client:
        answer = await client.get("/broken", headers={HEADER: "req-500"})
    assert answer.status_code == 500
    assert answer.headers[HEADER] == "req-500"


async def test_the_request_id_is_passed_on_to_the_upstream_and_the_call_measured() -> None:
    forwarded: list[httpx.Request] = []
    before = _sample("crm_upstream_request_seconds_count", upstream="obs-profile", method="GET",
                     status="200")  # fmt: skip
    async with _client(_app(forwarded)) as client:
        await client.get("/forward", headers={HEADER: "req-up"})
    assert forwarded[0].headers[HEADER] == "req-up"
    after = _sample("crm_upstream_request_seconds_count", upstream="obs-profile", method="GET",
                    status="200")  # fmt: skip
    assert after == before + 1


async def test_upstream_failures_are_counted_by_reason() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/slow":
            raise httpx.ReadTimeout("slow", request=request)
        if request.url.path == "/away":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(503)

    reasons = ("timeout", "unreachable", "status_5xx")
    before = [_sample("crm_upstream_errors_total", upstream="obs-x", reason=r) for r in reasons]
    transport = httpx.MockTransport(answer)
    async with outgoing.client("obs-x", transport=transport, base_url="http://x") as up:
        for path in ("/slow", "/away"):
            with pytest.raises(httpx.HTTPError):
                await up.get(path)
        assert (await up.get("/fail")).status_code == 503
    after = [_sample("crm_upstream_errors_total", upstream="obs-x", reason=r) for r in reasons]
    assert after == [b + 1 for b in before]


async def test_429s_are_counted_by_the_limit_that_refused() -> None:
    before = _sample("crm_rate_limited_total", service="obs-unit", limit="rate-limited")
    async with _client(_app()) as client:
        await client.get("/limited")
    assert _sample("crm_rate_limited_total", service="obs-unit", limit="rate-limited") == before + 1


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/outbox.db")
    async with engine.begin() as conn:
        await conn.run_sync(METADATA.create_all)
    yield engine
    await engine.dispose()


async def test_the_outbox_backlog_and_the_age_of_its_oldest_row_are_measured(
    engine: AsyncEngine,
) -> None:
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    clock = FrozenClock(now)
    await measure_backlog(engine, OUTBOX, clock, "obs-outbox")
    assert _sample("crm_outbox_backlog", service="obs-outbox") == 0
    assert _sample("crm_outbox_oldest_age_seconds", service="obs-outbox") == 0
    async with engine.begin() as conn:
        for age in (90, 30):
            await conn.execute(
                insert(OUTBOX).values(event_id=uuid.uuid4(), topic=topics.ACTIVITY, key="k",
                                      value=b"{}", created_at=now - timedelta(seconds=age))
            )  # fmt: skip
    await measure_backlog(engine, OUTBOX, clock, "obs-outbox")
    assert _sample("crm_outbox_backlog", service="obs-outbox") == 2
    assert _sample("crm_outbox_oldest_age_seconds", service="obs-outbox") == 90


_LOGGING = """
import asyncio, logging, httpx, structlog
from fastapi import FastAPI
from shared.logging import configure_logging
from shared.requestid import install_request_id
configure_logging("INFO", "json")
app = FastAPI()
@app.get("/")
async def root():
    structlog.get_logger().info("ours", customers=1)
    for name in ("uvicorn.error", "sqlalchemy.engine.Engine", "aiokafka.consumer"):
        logging.getLogger(name).warning("from %s", name)
    return {}
install_request_id(app)
async def main():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        await client.get("/", headers={"X-Request-Id": "req-log"})
    logging.getLogger("uvicorn.error").warning("outside a request")
asyncio.run(main())
"""


def test_every_logger_writes_json_lines_with_the_request_id() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _LOGGING], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in (done.stdout + done.stderr).splitlines() if line]
    by_event = {line["event"]: line for line in lines}
    for event in ("ours", "from uvicorn.error", "from sqlalchemy.engine.Engine",
                  "from aiokafka.consumer"):  # fmt: skip
        assert by_event[event]["request_id"] == "req-log", by_event[event]
        assert by_event[event]["timestamp"].endswith("Z")
    assert by_event["from aiokafka.consumer"]["logger"] == "aiokafka.consumer"
    assert "request_id" not in by_event["outside a request"]


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_the_services_answer_with_the_request_id_a_forwarded_404_too(tmp_path: Path) -> None:
    async with embedded_client(tmp_path) as client:
        params = {"source": "pos", "external_id": "nobody"}
        answer = await client.get("/v1/customers/lookup", params=params,
                                  headers={HEADER: "req-gw"})  # fmt: skip
        health = await client.get("/healthz")
    assert answer.status_code == 404 and answer.headers[HEADER] == "req-gw"
    assert uuid.UUID(health.headers[HEADER])
