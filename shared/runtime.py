"""What a running service is made of, as its routes, consumers and jobs see it.

``Runtime`` is typed by the service's settings class and by the resources it
opens at start (the gateway's rate limiters and upstream clients, say), so a
route reads ``runtime.settings.programme`` or ``runtime.resources.upstreams``
without a cast. ``ServiceDefinition`` is what a service hands the app factory.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, Protocol, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy import Table

from shared import internal
from shared.bus import Bus
from shared.clock import Clock
from shared.problems import Problem
from shared.settings import ServiceSettings
from shared.subscription import Subscription
from shared.uow import Database

S = TypeVar("S", bound=ServiceSettings)
R = TypeVar("R")


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
class Runtime(Generic[S, R]):
    """What a running service's routes, consumers and jobs reach: its settings, clock,
    database and bus, and the resources it opened at start (None for most services)."""

    settings: S
    clock: Clock
    db: Database
    bus: Bus
    resources: R
    jobs: list[Job] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def _nothing(_: Runtime[Any, Any]) -> Sequence[Any]:
    return ()


@dataclass(frozen=True)
class ServiceDefinition(Generic[S, R]):
    """A service as the app factory builds it: its tables, routes, consumers, jobs and
    the resources its lifespan opens (a context manager yielding them)."""

    name: str
    title: str
    outbox: Table
    inbox: Table
    settings: type[S]
    routers: Sequence[APIRouter] = ()
    subscriptions: Callable[[Runtime[S, R]], Sequence[Subscription]] = _nothing
    # What only a rebuild folds (``services.rebuilding``): decisions made at the service's
    # own API, folded again from the events it announced them with.
    replayed: Callable[[Runtime[S, R]], Sequence[Subscription]] = _nothing
    jobs: Callable[[Runtime[S, R]], Sequence[Job]] = _nothing
    resources: Callable[[Runtime[S, None]], contextlib.AbstractAsyncContextManager[R]] | None = None
    # The service's own outermost middleware (the gateway's CORS), given its settings.
    middleware: Callable[[FastAPI, S], None] | None = None


def get_runtime(request: Request) -> Runtime[Any, Any]:
    return request.app.state.runtime


# A route of a service declares its own, typed: Annotated[Runtime[XSettings, None], ...].
RuntimeDep = Annotated[Runtime[ServiceSettings, Any], Depends(get_runtime)]


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
