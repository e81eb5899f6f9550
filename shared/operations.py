"""What every service answers operators: ``/healthz``, ``/readyz`` and ``/metrics``, and
the HTTP timing every request goes through."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import metrics
from shared.contracts.errors import problem_responses
from shared.problems import Problem
from shared.runtime import Runtime, RuntimeDep

log = structlog.get_logger()


def operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Alive: the process answers."""
        return {"status": "ok"}

    @router.get("/readyz", responses=problem_responses(503))
    async def readyz(runtime: RuntimeDep) -> dict[str, str]:
        """Ready: the service's database and the bus answer, and its jobs run."""
        await _answers("database", lambda: _select_one(runtime))
        await _answers("bus", runtime.bus.ping)
        if any(task.done() for task in runtime.tasks):
            raise Problem(503, "not-ready", "A background job has stopped.")
        return {"status": "ready"}

    @router.get("/metrics", response_class=PlainTextResponse)
    async def prometheus_metrics() -> Response:
        """Prometheus text exposition."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


async def _select_one(runtime: Runtime[Any, Any]) -> None:
    async with runtime.db.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _answers(dependency: str, probe: Callable[[], Awaitable[None]]) -> None:
    """Run ``probe``; if it fails, answer 503 naming the dependency. The error's text
    (which may hold a host, a user or a password) is never shown, and only its class is
    logged."""
    try:
        await probe()
    except Exception as error:
        log.warning("not ready", dependency=dependency, error=type(error).__name__)
        raise Problem(
            503,
            "not-ready",
            f"The {dependency} does not answer; the service's log says why.",
            dependency=dependency,
        ) from None


class HttpMetrics:
    """Times every request, labelled by route template (not raw path, to bound cardinality)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            metrics.HTTP_REQUESTS.labels(self.service, scope["method"], route, str(status)).observe(
                time.perf_counter() - started
            )
