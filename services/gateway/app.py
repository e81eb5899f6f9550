"""The gateway: authentication, ingestion, and the public API in front of the services."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import timedelta

import httpx

from services.gateway import (
    admin,
    api,
    audit,
    audit_api,
    complaints,
    customers,
    desk,
    feedback,
    keys,
    lifecycle,
    loyalty,
    merges,
    privacy,
    profile,
    records,
    rules,
    segments,
    storefront,
    surveys,
)
from services.gateway.cors import install_cors
from services.gateway.dashboard import pages as dashboard
from services.gateway.erased import ErasureWatch
from services.gateway.imports import api as imports
from services.gateway.imports.runner import ImportRunner
from services.gateway.ratelimit import RateLimiter
from services.gateway.runtime import GatewayResources, GatewayRuntime
from services.gateway.settings import GatewaySettings
from services.gateway.tables import inbox, ingestion_receipt, outbox
from services.gateway.upstream import UPSTREAMS, upstreams
from services.gateway.webhooks import api as webhooks
from services.gateway.webhooks.fanout import webhook_fanout
from services.gateway.webhooks.sender import WebhookSender, prune_log
from shared.jobs import Periodic
from shared.keyring import key_ring
from shared.retention import Kept, retention_job
from shared.runtime import Job, Runtime, ServiceDefinition
from shared.sealing import KeyCache
from shared.subscription import Subscription

PRUNE_SECONDS = 3600.0
SETTLE_SECONDS = 15.0  # how often unanswered audit notes are looked for
# Raw activity kept for the tenant's retention (``activity_retention_days``): receipts.
RETAINED = [Kept(ingestion_receipt, ingestion_receipt.c.received_at)]


def subscriptions(runtime: GatewayRuntime) -> Sequence[Subscription]:
    """The webhooks' own consumer group: it records deliveries, the sender posts them
    (woken at once; without a sender, as on the handlers' bench, it finds them by polling)."""
    sender = runtime.resources.webhooks if runtime.resources is not None else None
    return [webhook_fanout(sender.wake if sender else lambda: None)]


def jobs(runtime: GatewayRuntime) -> Sequence[Job]:
    retention = timedelta(days=runtime.settings.webhook_log_retention_days)
    unanswered = audit.unanswered_after(runtime.settings.upstream_timeout_seconds)
    return [
        runtime.resources.webhooks,
        runtime.resources.imports,
        Periodic("webhook-log-prune", PRUNE_SECONDS, lambda: prune_log(runtime.db, retention)),
        Periodic(
            "audit-unanswered",
            SETTLE_SECONDS,
            lambda: audit.settle_unanswered(runtime.db, unanswered),
        ),
        retention_job("gateway", runtime.db, runtime.settings, RETAINED),
    ]


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
        async with (
            upstreams(
                urls,
                transports,
                settings.upstream_timeout_seconds,
                settings.internal_secret.get_secret_value(),
            ) as clients,
            key_ring(
                settings.url_of("profile"),
                settings.internal_secret.get_secret_value(),
                (transports or {}).get("profile"),
            ) as ring,
        ):
            subject_keys: KeyCache[tuple[str, str, str]] = KeyCache()
            erasures = ErasureWatch(runtime.db, subject_keys)
            yield GatewayResources(
                rate_limiter=RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
                auth_failures=RateLimiter(
                    settings.auth_failures_per_second, settings.auth_failure_burst
                ),
                key_usage=keys.UsageClock(),
                upstreams=clients,
                webhooks=WebhookSender(runtime.db, settings, keys=ring.keys),
                imports=ImportRunner(runtime.db, settings, clients, erasures),
                subject_keys=subject_keys,
                erasures=erasures,
            )

    return ServiceDefinition(
        name="gateway",
        title="CRM lifecycle platform API",
        outbox=outbox,
        inbox=inbox,
        routers=[
            api.router,
            admin.router,
            audit_api.router,
            merges.router,  # before customers: /v1/customers/merges is no customer id
            customers.router,
            lifecycle.router,
            loyalty.router,
            feedback.router,
            profile.router,
            records.router,
            rules.router,
            segments.router,
            complaints.router,
            desk.router,
            surveys.router,
            webhooks.router,
            storefront.router,
            dashboard.router,
            privacy.router,
            imports.router,
        ],
        subscriptions=subscriptions,
        jobs=jobs,
        resources=resources,
        middleware=install_cors,
        settings=GatewaySettings,
    )


SERVICE = definition()
