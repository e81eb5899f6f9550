"""Typed settings read from ``CRM_``-prefixed environment variables.

One base class for every service; a service adds its own fields by
subclassing. Nothing reads ``os.environ`` directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import URL

from shared.bus import security as kafka_security


class ServiceSettings(BaseSettings):
    """What every service process needs to know to start."""

    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore")

    service: str = "gateway"
    gateway_port: int = 8000
    profile_port: int = 8001
    lifecycle_port: int = 8002
    feedback_port: int = 8003
    loyalty_port: int = 8004
    database_url: str | None = None
    pg_host: str = "127.0.0.1"
    pg_port: int = 55432
    pg_user: str = "crm"
    pg_password: SecretStr = SecretStr("")
    kafka_port: int = 59092
    kafka_bootstrap: str | None = None
    topic_prefix: str = ""
    frozen_now: AwareDatetime | None = None
    data_dir: Path = Path(".data")
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "console"
    consumer_batch_size: int = Field(500, ge=1, le=10_000)  # records a consumer applies at once
    consumer_max_attempts: int = 3
    relay_batch_size: int = 500
    relay_poll_seconds: float = 0.2
    inbox_retention_days: int = 14
    # Every route of every service reads at most this much body (413 above it); the
    # gateway, which takes batches of events, raises it in its own settings.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    internal_secret: SecretStr | None = Field(
        default=None,
        description="Shared by the gateway and every service: the gateway signs each call "
        "with it, and a service answers no call without that signature (32+ characters)",
    )

    @field_validator("internal_secret")
    @classmethod
    def _internal_secret_strong(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("CRM_INTERNAL_SECRET must be at least 32 random characters")
        return value

    # Kafka credentials (shared.bus.security turns them into client options).
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    kafka_ssl_key_password: SecretStr | None = None

    @model_validator(mode="after")
    def _kafka_security_is_complete(self) -> ServiceSettings:
        """Refuse at start what would only fail at the first connection, and say why."""
        kafka_security.check(self)
        return self

    def port_of(self, service: str) -> int:
        """Where ``service`` listens (``CRM_<SERVICE>_PORT``)."""
        return int(getattr(self, f"{service}_port"))

    @property
    def kafka_servers(self) -> str:
        return self.kafka_bootstrap or f"127.0.0.1:{self.kafka_port}"

    @property
    def db_url(self) -> str:
        """The service's own database: one PostgreSQL database per service."""
        if self.database_url:
            return self.database_url
        url = URL.create(
            "postgresql+asyncpg",
            username=self.pg_user,
            password=self.pg_password.get_secret_value() or None,
            host=self.pg_host,
            port=self.pg_port,
            database=f"crm_{self.service}",
        )
        return url.render_as_string(hide_password=False)
