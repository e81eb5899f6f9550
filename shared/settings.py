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

    # Each field's docstring is its description: docs/configuration.md is generated from them.
    model_config = SettingsConfigDict(
        env_prefix="CRM_", extra="ignore", use_attribute_docstrings=True
    )

    service: str = "gateway"
    """Which service this process is (set by ``python -m services <name>``); names its database."""
    gateway_port: int = 8000
    """Port of the gateway (the public API)."""
    profile_port: int = 8001
    """Port of the profile service."""
    lifecycle_port: int = 8002
    """Port of the lifecycle service."""
    feedback_port: int = 8003
    """Port of the feedback service."""
    loyalty_port: int = 8004
    """Port of the loyalty service."""
    database_url: str | None = None
    """The whole SQLAlchemy URL of this service's database (``postgresql+asyncpg://…``); when set,
    the ``CRM_PG_*`` settings are not used."""
    pg_host: str = "127.0.0.1"
    """PostgreSQL host; each service uses the database ``crm_<service>`` on it."""
    pg_port: int = 55432
    """PostgreSQL port."""
    pg_user: str = "crm"
    """PostgreSQL role (give each service its own outside a throw-away box)."""
    pg_password: SecretStr = SecretStr("")
    """PostgreSQL password (empty: none, for the local trust setup only)."""
    bind_host: str = "127.0.0.1"
    """Address the service listens on: ``0.0.0.0`` in a container, where the platform
    (compose, Kubernetes) decides who can reach the port."""
    workers: int = Field(1, ge=1, le=64)
    """Processes serving the service on its port (the gateway past one core's worth of
    requests); each runs the whole service, its consumers joining the same groups."""
    db_pool_size: int = Field(10, ge=1, le=500)
    """Database connections each process keeps open (PostgreSQL); mind the server's
    ``max_connections`` across replicas and services."""
    db_max_overflow: int = Field(10, ge=0, le=500)
    """Connections opened beyond the pool under load, closed when returned."""
    kafka_port: int = 59092
    """Port of the local Kafka broker on 127.0.0.1 (when ``CRM_KAFKA_BOOTSTRAP`` is unset)."""
    kafka_bootstrap: str | None = None
    """Kafka bootstrap servers, ``host:port[,host:port…]``."""
    topic_prefix: str = ""
    """Prefix of every topic and consumer group, so several installations share a cluster."""
    frozen_now: AwareDatetime | None = None
    """Fixes every service's clock at this instant (RFC 3339): for replays and tests."""
    data_dir: Path = Path(".data")
    """Where embedded mode keeps its SQLite files and the bootstrap key (and the local
    scripts their data, logs and kept secrets)."""
    log_level: str = "INFO"
    """Log level (DEBUG, INFO, WARNING, ERROR)."""
    log_format: Literal["json", "console"] = "console"
    """``json`` (one object a line, for log shippers) or ``console``."""
    tracing: Literal["off", "console", "otlp"] = "off"
    """Where OpenTelemetry spans go: ``off`` (no tracing and no cost), ``console`` (one JSON
    span a line on stdout) or ``otlp`` (a collector, OTLP over HTTP, at
    ``CRM_TRACING_ENDPOINT``)."""
    tracing_endpoint: str | None = Field(None, max_length=2048)
    """The collector's OTLP/HTTP traces endpoint (``http://collector:4318/v1/traces``);
    unset: the standard ``OTEL_EXPORTER_OTLP_*`` variables, else the exporter's default."""
    tracing_sample_ratio: float = Field(1.0, ge=0.0, le=1.0)
    """Share of new traces recorded; a trace started by a caller keeps its caller's choice."""
    consumer_batch_size: int = Field(500, ge=1, le=10_000)
    """Records a consumer applies in one transaction."""
    consumer_max_attempts: int = 3
    """Tries of a failing event before it is dead-lettered (infrastructure errors are waited out
    instead)."""
    relay_batch_size: int = 500
    """Outbox rows the relay publishes at once."""
    relay_poll_seconds: float = 0.2
    """How often an idle relay looks for new outbox rows."""
    inbox_retention_days: int = 14
    """How long consumed event ids are kept to drop redeliveries."""
    activity_retention_days: int | None = Field(None, ge=1, le=36_500)
    """How long raw activity is kept, in days: the gateway's ingestion receipts (the
    partners' idempotency keys: keep them longer than any partner retries) and
    lifecycle's orders (RFM, churn model and value then forget older ones). Unset: for good."""
    activity_retention_days_by_tenant: dict[str, int] = {}
    """Per tenant, in place of ``activity_retention_days``, as JSON: ``{"acme": 365}``."""
    retention_sweep_seconds: float = Field(3600.0, gt=0)
    """How often the retention job deletes activity past its tenant's time."""
    parked_event_max_wait_hours: float = Field(72.0, gt=0, le=24 * 365)
    """How long an event that arrived before what it refers to (a refund before its
    purchase, a resolution before its complaint) is kept waiting for it; after that it is
    dead-lettered with the reason (``crm_parked_events_total``)."""
    parked_event_sweep_seconds: float = Field(60.0, gt=0)
    """How often each service dead-letters the parked events that waited too long."""
    segment_sweep_seconds: float = Field(5.0, gt=0)
    """How often profile evaluates the segments of customers a window edge or a saved
    segment made due (read by profile only)."""
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    """The largest request body a service reads (413 above it); the gateway, which takes
    batches of events, has a larger default."""
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
    """How every Kafka client connects: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."""
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    """SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512."""
    kafka_sasl_username: str | None = None
    """SASL user (needed with a SASL protocol)."""
    kafka_sasl_password: SecretStr | None = None
    """SASL password (needed with a SASL protocol)."""
    kafka_ssl_cafile: Path | None = None
    """CA bundle that signed the brokers' certificates (SSL, SASL_SSL)."""
    kafka_ssl_certfile: Path | None = None
    """Client certificate, for mutual TLS."""
    kafka_ssl_keyfile: Path | None = None
    """The client certificate's private key, for mutual TLS."""
    kafka_ssl_key_password: SecretStr | None = None
    """Password of the client's private key, if it has one."""

    @field_validator("activity_retention_days_by_tenant")
    @classmethod
    def _retention_in_days(cls, value: dict[str, int]) -> dict[str, int]:
        wrong = sorted(tenant for tenant, days in value.items() if not 1 <= days <= 36_500)
        if wrong:
            raise ValueError(f"retention of {', '.join(wrong)} must be 1 to 36500 days")
        return value

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
