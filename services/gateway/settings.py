"""The gateway's settings: the shared ones plus where the services answer."""

from __future__ import annotations

import math

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from shared.events.envelope import MAX_ENVELOPE_BYTES
from shared.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    bootstrap_api_key: SecretStr | None = None
    """The operator's admin key (scopes admin and operator), created at start if missing; changing
    it revokes the previous one."""
    signing_master_key: SecretStr | None = Field(
        default=None,
        description="Derives partners' signing secrets; without it no key can require signing",
    )
    profile_url: str | None = None
    """Where the gateway reaches profile (default ``http://127.0.0.1:<CRM_PROFILE_PORT>``)."""
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

    @field_validator("signing_master_key")
    @classmethod
    def _strong_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("CRM_SIGNING_MASTER_KEY must be at least 32 random characters")
        return value
