"""The gateway's settings: the shared ones plus where the services answer."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from shared.events.envelope import MAX_ENVELOPE_BYTES
from shared.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    bootstrap_api_key: SecretStr | None = None
    signing_master_key: SecretStr | None = Field(
        default=None,
        description="Derives partners' signing secrets; without it no key can require signing",
    )
    profile_url: str | None = None
    lifecycle_url: str | None = None
    feedback_url: str | None = None
    loyalty_url: str | None = None
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
    rate_limit_per_second: float = 500.0
    rate_limit_burst: int = 1000

    def url_of(self, service: str) -> str:
        """Where the gateway reaches ``service``: ``CRM_<SERVICE>_URL``, else its local port."""
        explicit: str | None = getattr(self, f"{service}_url")
        return explicit or f"http://127.0.0.1:{self.port_of(service)}"

    @field_validator("signing_master_key")
    @classmethod
    def _strong_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("CRM_SIGNING_MASTER_KEY must be at least 32 random characters")
        return value
