"""The gateway: authentication, ingestion, and the public API in front of the services."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

import httpx

from services.gateway import (
    admin,
    api,
    complaints,
    customers,
    feedback,
    keys,
    lifecycle,
    loyalty,
    profile,
    records,
)
from services.gateway.ratelimit import RateLimiter
from services.gateway.runtime import GatewayResources
from services.gateway.settings import GatewaySettings
from services.gateway.tables import inbox, outbox
from services.gateway.upstream import UPSTREAMS, upstreams
from shared.runtime import Runtime, ServiceDefinition


def definition(
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> ServiceDefinition[GatewaySettings, GatewayResources]:
    """The gateway; ``transports`` reach the services in-process (embedded mode)."""

    @contextlib.asynccontextmanager
    async def resources(
        runtime: Runtime[GatewaySettings, None],
    ) -> AsyncIterator[GatewayResources]:
        settings = runtime.settings
        if settings.internal_secret is None:
            raise RuntimeError(
                "Set CRM_INTERNAL_SECRET (32+ random characters, the same in every service): "
                "the services answer no call the gateway has not signed with it."
            )
        if settings.bootstrap_api_key:
            secret = settings.bootstrap_api_key.get_secret_value()
            await keys.ensure_bootstrap_key(runtime.db, secret, runtime.clock.now())
        urls = {name: settings.url_of(name) for name in UPSTREAMS}
        async with upstreams(
            urls,
            transports,
            settings.upstream_timeout_seconds,
            settings.internal_secret.get_secret_value(),
        ) as clients:
            yield GatewayResources(
                rate_limiter=RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
                auth_failures=RateLimiter(
                    settings.auth_failures_per_second, settings.auth_failure_burst
                ),
                key_usage=keys.UsageClock(),
                upstreams=clients,
            )

    return ServiceDefinition(
        name="gateway",
        title="CRM lifecycle platform API",
        outbox=outbox,
        inbox=inbox,
        routers=[
            api.router,
            admin.router,
            customers.router,
            lifecycle.router,
            loyalty.router,
            feedback.router,
            profile.router,
            records.router,
            complaints.router,
        ],
        resources=resources,
        settings=GatewaySettings,
    )


SERVICE = definition()
