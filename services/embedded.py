"""Embedded mode: the five services in one process, on SQLite and the in-memory bus.

For a front-end developer on a laptop: no infrastructure, demo data seeded.
The services are the very same apps and handlers; only the adapters differ
(SQLite for PostgreSQL, the in-memory bus for Kafka, in-process HTTP from the
gateway to the services).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import structlog
from fastapi import FastAPI
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount

from services import NAMES, definition
from services.demo import seed_demo_data
from services.feedback.app import definition as feedback_definition
from services.gateway.app import definition as gateway_definition
from services.gateway.settings import GatewaySettings
from shared.app import create_service_app
from shared.auth import new_api_key
from shared.bus.memory import MemoryBus
from shared.problems import Problem

log = structlog.get_logger()


def bootstrap_key(data_dir: Path, configured: SecretStr | None) -> str:
    """The operator's key: configured, or kept in ``.data/bootstrap-api-key``, or made now."""
    if configured:
        return configured.get_secret_value()
    path = data_dir / "bootstrap-api-key"
    if path.exists():
        path.chmod(0o600)
        return path.read_text().strip()
    key = new_api_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created private: a write followed by a chmod leaves a moment when anyone can read it.
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
        file.write(key + "\n")
    return key


def private_folder(folder: Path) -> Path:
    """A folder only its owner may enter (0700): it holds every customer's data."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder


def private_file(path: Path) -> Path:
    """A database file only its owner may read or write (0600), created so before SQLite
    opens it; SQLite gives its -wal and -shm files the same permissions."""
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    path.chmod(0o600)
    for companion in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if companion.exists():
            companion.chmod(0o600)
    return path


def _where_kept(data_dir: Path, configured: bool) -> str:
    """Where the operator finds the key: never the key itself, which would end up in
    terminal scrollback and captured logs."""
    if configured:
        return "the one set in CRM_BOOTSTRAP_API_KEY"
    return f"in {(data_dir / 'bootstrap-api-key').resolve()} (mode 600; cat it)"


def create_embedded_app(data_dir: Path, seed: bool = True) -> Starlette:
    """All five services in one ASGI app; the gateway answers at the root."""
    folder = private_folder(data_dir / "embedded")
    bus = MemoryBus()
    # One process: the gateway's calls to the services never leave it, so a fresh
    # secret per start is enough, and none is kept on disk.
    internal_secret = SecretStr(secrets.token_urlsafe(32))

    def database(name: str) -> str:
        return f"sqlite+aiosqlite:///{private_file(folder / f'{name}.db')}"

    services: dict[str, FastAPI] = {}
    for name in (n for n in NAMES if n != "gateway"):  # profile first: feedback reaches it
        service = definition(name)
        if name == "feedback":
            service = feedback_definition(httpx.ASGITransport(app=services["profile"]))
        settings = service.settings(
            service=name, database_url=database(name), internal_secret=internal_secret
        )
        services[name] = create_service_app(service, settings, bus=bus)
    gateway_settings = GatewaySettings(
        service="gateway", database_url=database("gateway"), internal_secret=internal_secret
    )
    configured = gateway_settings.bootstrap_api_key is not None
    key = bootstrap_key(data_dir, gateway_settings.bootstrap_api_key)
    gateway_settings.bootstrap_api_key = SecretStr(key)
    transports = {name: httpx.ASGITransport(app=app) for name, app in services.items()}
    gateway = create_service_app(gateway_definition(transports), gateway_settings, bus=bus)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for app in [*services.values(), gateway]:
                await stack.enter_async_context(app.router.lifespan_context(app))
            if seed:
                await seed_demo_data(gateway, key)
            print(f"\n  CRM embedded mode: http://127.0.0.1:{gateway_settings.gateway_port}/docs")
            print(f"  bootstrap API key: {_where_kept(data_dir, configured)}\n")
            yield

    return Starlette(
        routes=[Mount("/", app=gateway)],
        lifespan=lifespan,
        exception_handlers={404: _unrouted},
    )


async def _unrouted(_: Request, __: Exception) -> Response:
    """A path the mount cannot match (a raw newline in it, say) is a problem+json 404,
    as the gateway answers every other unknown path."""
    return Problem(404, "not-found", "No such path; see /openapi.json for the routes.").response()
