"""The app factory: every service is a FastAPI app built the same way.

``create_service_app`` gives a service its lifespan (``shared.supervision``:
engine, migrations, bus, outbox relay, consumers and jobs, created at start and
stopped at batch boundaries, nothing at import), the operators' routes
(``shared.operations``: ``/healthz``, ``/readyz``, ``/metrics``), HTTP timing,
a request id (``shared.requestid``), a span per request when tracing is on
(``shared.tracing``), a bounded body reader, problem+json errors and its OpenAPI. The service brings
its ``ServiceDefinition`` (``shared.runtime``): tables, routers, subscriptions,
jobs and resources.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from shared import tracing
from shared.body_limit import BodyLimit
from shared.bus import Bus
from shared.clock import Clock, clock_for
from shared.contracts.openapi import install_openapi
from shared.operations import HttpMetrics, operations_router
from shared.problems import install_problem_handlers
from shared.requestid import install_request_id
from shared.runtime import S, ServiceDefinition
from shared.supervision import running

__all__ = ["create_service_app"]


def create_service_app(
    service: ServiceDefinition[S, Any],
    settings: S | None = None,
    *,
    bus: Bus | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """Build the FastAPI app of one service; pass ``bus`` to share one (embedded mode)."""
    settings = settings or service.settings(service=service.name)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running(service, settings, bus, clock or clock_for(settings.frozen_now)) as rt:
            app.state.runtime = rt
            yield

    app = FastAPI(title=service.title, version="0.1.0", lifespan=lifespan)
    install_problem_handlers(app, service.name)
    install_openapi(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(HttpMetrics, service=service.name)
    app.include_router(operations_router())
    for router in service.routers:
        app.include_router(router)
    if service.middleware is not None:
        service.middleware(app, settings)
    tracing.instrument_app(app, service.name)  # when tracing is on: a span per request
    install_request_id(app)  # outermost: the id is on every answer and log line, a 500's too
    return app
