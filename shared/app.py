"""The app factory: every service is a FastAPI app built the same way.

``create_service_app`` gives a service its lifespan (engine, migrations, bus,
outbox relay, consumers, background jobs, all created at start and disposed at
stop, nothing at import), ``/healthz``, ``/readyz``, ``/metrics``, HTTP
metrics, a bounded body reader and problem+json errors. The service brings its
routers, its tables and its subscriptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, Protocol

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Table, text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import internal, metrics
from shared.body_limit import BodyLimit
from shared.bus import Bus
from shared.bus.kafka import KafkaBus
from shared.clock import Clock, clock_for
from shared.consumer import Consumer, Subscription
from shared.contracts.errors import problem_responses
from shared.contracts.openapi import install_openapi
from shared.db import engine_for
from shared.inbox import InboxPruner
from shared.jobs import Periodic
from shared.migrations import migrate
from shared.outbox import OutboxRelay
from shared.problems import Problem, install_problem_handlers
from shared.settings import ServiceSettings
from shared.uow import Database

log = structlog.get_logger()

STOP_GRACE_SECONDS = 5.0


class Job(Protocol):
    """A background loop of a service: the outbox relay, a consumer, a sweeper."""

    name: str

    async def run(self) -> None:
        """Work until ``stop`` is called, then return."""
        ...

    def stop(self) -> None:
        """Finish the unit of work in hand, then return from ``run``."""
        ...


@dataclass
class Runtime:
    """What a running service's routes and handlers reach: settings, clock, database, bus."""

    settings: ServiceSettings
    clock: Clock
    db: Database
    bus: Bus
    jobs: list[Job] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    resources: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    title: str
    outbox: Table
    inbox: Table
    routers: Sequence[APIRouter] = ()
    subscriptions: Callable[[Runtime], Sequence[Subscription]] = lambda _: ()
    jobs: Callable[[Runtime], Sequence[Job]] = lambda _: ()
    resources: Callable[[Runtime], contextlib.AbstractAsyncContextManager[None]] | None = None
    settings: type[ServiceSettings] = ServiceSettings


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def tenant_header(request: Request, runtime: RuntimeDep) -> str:
    """The tenant the gateway authenticated, believed only when the call carries the
    gateway's signature (``shared.internal``); anything else is a 401."""
    secret = runtime.settings.internal_secret
    if secret is None:
        raise Problem(
            401,
            "internal-auth-unconfigured",
            "This service has no CRM_INTERNAL_SECRET, so it can tell no call from the "
            "gateway's: set the same secret in the gateway and every service.",
        )
    path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string", b"")
    target = (path + (b"?" + query if query else b"")).decode("latin-1")
    try:
        return internal.verify(
            secret.get_secret_value(), request.headers, request.method, target, await request.body()
        )
    except internal.Unauthenticated as refused:
        raise Problem(401, "internal-auth-failed", str(refused)) from refused


TenantDep = Annotated[str, Depends(tenant_header)]


def create_service_app(
    service: ServiceDefinition,
    settings: ServiceSettings | None = None,
    *,
    bus: Bus | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """Build the FastAPI app of one service; pass ``bus`` to share one (embedded mode)."""
    settings = settings or service.settings(service=service.name)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with _running(service, settings, bus, clock or clock_for(settings.frozen_now)) as rt:
            app.state.runtime = rt
            yield

    app = FastAPI(title=service.title, version="0.1.0", lifespan=lifespan)
    install_problem_handlers(app)
    install_openapi(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(HttpMetrics, service=service.name)
    app.include_router(_operations_router())
    for router in service.routers:
        app.include_router(router)
    return app


@contextlib.asynccontextmanager
async def _running(
    service: ServiceDefinition, settings: ServiceSettings, shared_bus: Bus | None, clock: Clock
) -> AsyncIterator[Runtime]:
    engine = engine_for(settings)
    bus: Bus = shared_bus or KafkaBus(
        settings.kafka_servers, client_id=f"crm-{service.name}", topic_prefix=settings.topic_prefix
    )
    runtime: Runtime | None = None
    stack = contextlib.AsyncExitStack()
    try:
        await migrate(engine, service.name)
        if shared_bus is None:
            await bus.start()
        relay = OutboxRelay(
            engine,
            service.outbox,
            bus,
            service=service.name,
            batch_size=settings.relay_batch_size,
            poll_seconds=settings.relay_poll_seconds,
        )
        runtime = Runtime(settings, clock, Database(engine, service.outbox, clock, relay.kick), bus)
        if service.resources:
            await stack.enter_async_context(service.resources(runtime))
        consumers = [
            Consumer(
                subscription,
                service=service.name,
                bus=bus,
                db=runtime.db,
                inbox=service.inbox,
                max_attempts=settings.consumer_max_attempts,
                batch_size=settings.consumer_batch_size,
            )
            for subscription in service.subscriptions(runtime)
        ]
        pruner = InboxPruner(
            engine, service.inbox, clock, timedelta(days=settings.inbox_retention_days)
        )
        pruning = Periodic("inbox-pruner", 3600, pruner.prune)
        runtime.jobs = [relay, pruning, *consumers, *service.jobs(runtime)]
        runtime.tasks = [asyncio.create_task(_supervise(service.name, j)) for j in runtime.jobs]
        log.info("service started", service=service.name, jobs=[j.name for j in runtime.jobs])
        yield runtime
    finally:
        await _stop(runtime, bus if shared_bus is None else None)
        await stack.aclose()
        await engine.dispose()


async def _stop(runtime: Runtime | None, owned_bus: Bus | None) -> None:
    """Let every job finish the batch in hand (a cancelled transaction is safe, but its
    events would be redelivered after every deploy), then cancel the stragglers."""
    if runtime and runtime.tasks:
        for job in runtime.jobs:
            job.stop()
        _, stragglers = await asyncio.wait(runtime.tasks, timeout=STOP_GRACE_SECONDS)
        for task in stragglers:
            task.cancel()
        await asyncio.gather(*runtime.tasks, return_exceptions=True)
    if owned_bus:
        await owned_bus.stop()


async def _supervise(service: str, job: Job) -> None:
    """Keep a background job alive: log a crash and start it again; a job that returns
    has been asked to stop."""
    while True:
        try:
            await job.run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background job crashed; restarting", service=service, job=job.name)
            await asyncio.sleep(1)


def _operations_router() -> APIRouter:
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


async def _select_one(runtime: Runtime) -> None:
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
