"""The gateway: authentication, ingestion, and the public API in front of the services."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

import httpx

from services.gateway import api, customers, feedback, keys, lifecycle, loyalty, profile
from services.gateway.ratelimit import RateLimiter
from services.gateway.settings import GatewaySettings
from services.gateway.tables import inbox, outbox
from services.gateway.upstream import UPSTREAMS, upstreams
from shared.app import Runtime, ServiceDefinition


def definition(
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> ServiceDefinition:
    """The gateway; ``transports`` reach the services in-process (embedded mode)."""

    @contextlib.asynccontextmanager
    async def resources(runtime: Runtime) -> AsyncIterator[None]:
        settings: GatewaySettings = runtime.settings  # type: ignore[assignment]
        if settings.bootstrap_api_key:
            secret = settings.bootstrap_api_key.get_secret_value()
            await keys.ensure_bootstrap_key(runtime.db, secret, runtime.clock.now())
        runtime.resources["rate_limiter"] = RateLimiter(
            settings.rate_limit_per_second, settings.rate_limit_burst
        )
        urls = {name: settings.url_of(name) for name in UPSTREAMS}
        async with upstreams(urls, transports, settings.upstream_timeout_seconds) as clients:
            runtime.resources["upstreams"] = clients
            yield

    return ServiceDefinition(
        name="gateway",
        title="CRM lifecycle platform API",
        outbox=outbox,
        inbox=inbox,
        routers=[
            api.router,
            customers.router,
            lifecycle.router,
            loyalty.router,
            feedback.router,
            profile.router,
        ],
        resources=resources,
        settings=GatewaySettings,
    )


SERVICE = definition()
