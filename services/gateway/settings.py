"""The gateway's settings: the shared ones plus where the services answer."""

from __future__ import annotations

import math
import re

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from shared.events.envelope import MAX_ENVELOPE_BYTES
from shared.settings import ServiceSettings

_ORIGIN = re.compile(
    r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?"
)


class GatewaySettings(ServiceSettings):
    bootstrap_api_key: SecretStr | None = None
    """The operator's admin key (scopes admin and operator), created at start if missing; changing
    it revokes the previous one."""
    signing_master_key: SecretStr | None = Field(
        default=None,
        description="Derives partners' signing secrets; without it no key can require signing",
    )
    profile_url: str | None = None
    """Where the gateway reaches profile, and feedback the keys of sealed complaint texts
    (default ``http://127.0.0.1:<CRM_PROFILE_PORT>``)."""
    lifecycle_url: str | None = None
    """Where the gateway reaches lifecycle."""
    feedback_url: str | None = None
    """Where the gateway reaches feedback."""
    loyalty_url: str | None = None
    """Where the gateway reaches loyalty."""
    max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=2 * MAX_ENVELOPE_BYTES,
        description="The largest request body the gateway reads (a batch above it is refused "
        "whole, before parsing); the services' limit is smaller",
    )
    max_event_age_days: int = Field(
        default=3650, ge=1, description="How far in the past an event's occurred_at may lie"
    )
    import_max_rows: int = Field(
        default=100_000, ge=1, le=1_000_000, description="Rows an import file may hold"
    )
    import_max_line_bytes: int = Field(
        default=16 * 1024,
        ge=1024,
        le=MAX_ENVELOPE_BYTES,
        description="Bytes a line of an import file may hold",
    )
    import_chunk_rows: int = Field(
        default=500,
        ge=1,
        le=5_000,
        description="Rows an import job commits at once (the step it resumes from)",
    )
    import_max_rejections: int = Field(
        default=1_000, ge=1, le=10_000, description="Rejected rows an import job lists, by line"
    )
    upstream_timeout_seconds: float = 5.0
    """How long the gateway waits for a service's answer."""
    # Below what one gateway process serves (about 160 forwarded or 200 own authenticated
    # GETs a second on a loaded 2-core box), so that one key alone cannot saturate it.
    rate_limit_per_second: float = Field(
        default=100.0, description="Requests per second per API key and gateway process"
    )
    rate_limit_burst: int = 200
    """Requests one API key may make at once above its rate."""
    auth_failures_per_second: float = Field(
        default=5.0, description="Failed authentications per second per client address"
    )
    auth_failure_burst: int = 100
    """Failed authentications one client address may make at once above its rate."""
    cors_origins: str = ""
    """Browser origins allowed to call the API, comma-separated (``https://shop.example``);
    none by default, so no page of another origin can read an answer."""
    webhook_allowed_hosts: str = ""
    """Webhook hosts (as written in the URL, comma-separated) that may resolve to private,
    loopback or link-local addresses; any other such host is refused (against SSRF)."""
    webhook_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="How long a webhook receiver has to answer"
    )
    webhook_max_attempts: int = Field(
        default=16,
        ge=1,
        le=50,
        description="Attempts of one delivery before it fails (the default spans about a day); "
        "a subscription whose delivery fails them all, with no success since, is disabled",
    )
    webhook_retry_base_seconds: float = Field(
        default=5.0, gt=0, description="The first retry's delay; each next one doubles, jittered"
    )
    webhook_retry_max_seconds: float = Field(
        default=6 * 3600.0, gt=0, description="The longest delay between two attempts"
    )
    webhook_concurrency: int = Field(
        default=32, ge=1, le=1000, description="Deliveries in flight at once per gateway process"
    )
    webhook_poll_seconds: float = Field(
        default=1.0, gt=0, le=60, description="How often the sender looks for due retries"
    )
    webhook_log_retention_days: int = Field(
        default=30, ge=1, description="How long delivered and failed deliveries stay in the log"
    )
    webhook_max_subscriptions: int = Field(
        default=50, ge=1, le=10_000, description="Webhook subscriptions per tenant"
    )

    @property
    def cors_origin_list(self) -> list[str]:
        return _listed(self.cors_origins)

    @property
    def webhook_allowed_host_list(self) -> frozenset[str]:
        return frozenset(host.lower() for host in _listed(self.webhook_allowed_hosts))

    def url_of(self, service: str) -> str:
        """Where the gateway reaches ``service``: ``CRM_<SERVICE>_URL``, else its local port."""
        explicit: str | None = getattr(self, f"{service}_url")
        return explicit or f"http://127.0.0.1:{self.port_of(service)}"

    @field_validator(
        "rate_limit_per_second",
        "rate_limit_burst",
        "auth_failures_per_second",
        "auth_failure_burst",
    )
    @classmethod
    def _a_real_limit(cls, value: float, info: ValidationInfo) -> float:
        # There is no "unlimited": a limit of 0 would refuse everything, so it is refused
        # here, at start, with the setting's name, rather than as a 500 on every request.
        if not math.isfinite(value) or value <= 0:
            name = f"CRM_{str(info.field_name).upper()}"
            raise ValueError(f"{name} must be a positive number (a large one for 'no limit')")
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in _listed(value):
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"CRM_CORS_ORIGINS: {origin[:100]!r} is no origin; write scheme://host[:port] "
                    "with no path, e.g. https://shop.example"
                )
        return value

    @field_validator("signing_master_key")
    @classmethod
    def _strong_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("CRM_SIGNING_MASTER_KEY must be at least 32 random characters")
        return value


def _listed(setting: str) -> list[str]:
    """The members of a comma-separated setting, trimmed, empty ones left out."""
    return [item.strip() for item in setting.split(",") if item.strip()]
