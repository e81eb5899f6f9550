"""Run a real service in-process against the integration infrastructure: its own
throwaway PostgreSQL database, the session's prefixed Kafka topics, and an
optional frozen clock. Several replicas of one service may share a database and
consumer groups, as they would in production.

    async with run_service(infra, "loyalty", clock=FrozenClock(...)) as loyalty:
        answer = await loyalty.client.get(f"/v1/customers/{customer}/loyalty")
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import FastAPI
from pydantic import SecretStr

from services import definition
from services.feedback.app import definition as feedback_definition
from shared.app import create_service_app
from shared.clock import Clock
from shared.db import create_engine
from shared.events import CloudEvent, new_event
from shared.events.activity import CustomerRef, inbound_model
from shared.events.payload import Payload
from shared.internal import InternalAuth
from shared.migrations import migrate
from shared.runtime import Runtime, ServiceDefinition
from shared.settings import ServiceSettings
from shared.topics import PARTITIONS

ROOT = Path(__file__).resolve().parents[2]
# What the gateway and the services of one test session share, as CRM_INTERNAL_SECRET.
INTERNAL_SECRET = secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Infra:
    """Where the session's throwaway databases and topics live."""

    settings: ServiceSettings
    prefix: str
    run: str

    def database(self, service: str) -> str:
        return f"crm_it_{self.run}_{service}"

    def database_url(self, service: str) -> str:
        s = self.settings
        return f"postgresql+asyncpg://{s.pg_user}@{s.pg_host}:{s.pg_port}/{self.database(service)}"


@dataclass
class RunningService:
    app: FastAPI
    client: httpx.AsyncClient
    runtime: Runtime


async def create_database(infra: Infra, service: str) -> None:
    """A fresh, empty database for ``service`` (dropped first if a run left it)."""
    admin = await _admin(infra)
    try:
        name = infra.database(service)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def drop_database(infra: Infra, service: str) -> None:
    admin = await _admin(infra)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{infra.database(service)}" WITH (FORCE)')
    finally:
        await admin.close()


async def _admin(infra: Infra) -> asyncpg.Connection:
    s = infra.settings
    return await asyncpg.connect(
        host=s.pg_host,
        port=s.pg_port,
        user=s.pg_user,
        password=s.pg_password.get_secret_value() or None,
        database="postgres",
    )


@contextlib.asynccontextmanager
async def run_service(
    infra: Infra,
    name: str,
    *,
    clock: Clock | None = None,
    tenant: str = "default",
    service: ServiceDefinition[Any, Any] | None = None,
    **settings: object,
) -> AsyncIterator[RunningService]:
    """Start service ``name`` (migrations, relay, consumers, jobs) and stop it after.

    ``settings`` overrides fields of the service's settings class; the HTTP client
    sends ``X-CRM-Tenant: tenant`` signed with the internal secret, as the gateway would.
    ``service``: the service as wired otherwise (reaching another in-process).
    """
    service = service or definition(name)
    config = service.settings(
        service=name,
        database_url=infra.database_url(name),
        topic_prefix=infra.prefix,
        kafka_bootstrap=infra.settings.kafka_servers,
        **({"internal_secret": SecretStr(INTERNAL_SECRET)} | settings),
    )
    secret = config.internal_secret.get_secret_value() if config.internal_secret else ""
    app = create_service_app(service, config, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url=f"http://{name}",
            headers={"X-CRM-Tenant": tenant},
            auth=InternalAuth(secret),
        ) as client:
            yield RunningService(app, client, app.state.runtime)


def feedback_reaching(profile: RunningService) -> ServiceDefinition[Any, Any]:
    """Feedback reaching this profile in-process, as in embedded mode: for the customers'
    keys the desk's resolutions and the answers' comments are sealed with."""
    return feedback_definition(httpx.ASGITransport(app=profile.app))


@contextlib.asynccontextmanager
async def own_infra(
    settings: ServiceSettings, tag: str, services: Iterable[str], *, migrated: bool = False
) -> AsyncIterator[Infra]:
    """Topics and databases of ``services`` no other test uses (``migrated``: with their
    schema), removed afterwards: for a test that rebuilds from the topics or must not
    meet the events other tests leave."""
    run = uuid.uuid4().hex[:8]
    infra, services = Infra(settings, f"it{tag}{run}.", f"{tag}{run}"), tuple(services)
    script = await asyncio.create_subprocess_exec(
        sys.executable, "deploy/local/topics.py", "--prefix", infra.prefix, "--timeout", "30",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    async with asyncio.timeout(90):
        output, _ = await script.communicate()
    assert script.returncode == 0, output.decode()
    for service in services:
        await create_database(infra, service)
        if migrated:
            engine = create_engine(infra.database_url(service))
            try:
                await migrate(engine, service)
            finally:
                await engine.dispose()
    yield infra
    for service in services:
        await drop_database(infra, service)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_servers)
    await admin.start()
    try:
        await admin.delete_topics([infra.prefix + name for name in PARTITIONS])
    finally:
        await admin.close()


def posted(
    tenant: str, customer: CustomerRef, activities: Sequence[Payload], at: datetime
) -> list[CloudEvent]:
    """The activities on crm.inbound as the gateway writes them for partner "pos"."""
    ref = customer.external_id
    return [
        new_event(
            inbound_model(type(a))(
                partner="pos", partner_event_id=f"{ref}-{i}", customer=customer, activity=a
            ),
            source="/partners/pos",
            tenant_id=tenant,
            key=f"pos:{ref}",
            time=at,
            partner="pos",
        )
        for i, a in enumerate(activities)
    ]
