"""The gateway's runtime: its settings, and what its lifespan opens (rate limiters, the
record of keys' last use, the clients that reach the services, the webhook sender, the
import runner)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from services.gateway.erased import ErasureWatch
from services.gateway.imports.runner import ImportRunner
from services.gateway.keys import UsageClock
from services.gateway.ratelimit import RateLimiter
from services.gateway.sealing import CacheKey
from services.gateway.settings import GatewaySettings
from services.gateway.upstream import Upstreams
from services.gateway.webhooks.sender import WebhookSender
from shared.runtime import Runtime, get_runtime
from shared.sealing import KeyCache


@dataclass(frozen=True)
class GatewayResources:
    rate_limiter: RateLimiter  # requests per API key
    auth_failures: RateLimiter  # failed authentications per client address
    key_usage: UsageClock  # when each key was last used, written at most once a minute
    upstreams: Upstreams  # HTTP clients to the four services
    webhooks: WebhookSender  # the job posting deliveries; woken by the fan-out and replays
    imports: ImportRunner  # the job registering import files' rows; woken by an upload
    subject_keys: KeyCache[CacheKey]  # the keys partners' personal data is sealed with
    erasures: ErasureWatch  # drops ``subject_keys`` when any replica erased someone


GatewayRuntime = Runtime[GatewaySettings, GatewayResources]
RuntimeDep = Annotated[GatewayRuntime, Depends(get_runtime)]
