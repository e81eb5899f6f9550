"""The gateway's tables: API keys and ingestion receipts."""

from sqlalchemy import JSON, Boolean, Column, Index, Integer, MetaData, String, Table, Uuid, false

from shared.db import UTCDateTime
from shared.tables import kernel_tables

metadata = MetaData()
outbox, inbox = kernel_tables(metadata)

api_key = Table(
    "api_key",
    metadata,
    Column("key_id", Uuid, primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("partner", String(64), nullable=False, comment="whose events this key posts"),
    Column("name", String(200), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column(
        "signed",
        Boolean,
        nullable=False,
        server_default=false(),
        comment="whether its posts must carry an HMAC signature",
    ),
    Column("key_hash", String(64), nullable=False, unique=True, comment="SHA-256, never the key"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column(
        "sources",
        JSON,
        nullable=False,
        comment="the customer.source values it may post for (any, with the operator scope)",
    ),
    Column("event_types", JSON, comment="the partner event types it may post; null: all"),
    Column("expires_at", UTCDateTime, comment="refused from this instant on; null: never"),
    Column("last_used_at", UTCDateTime, comment="at most a minute stale, per gateway process"),
    Column(
        "bootstrap",
        Boolean,
        nullable=False,
        server_default=false(),
        comment="the operator's key from CRM_BOOTSTRAP_API_KEY",
    ),
    Column(
        "generation",
        Integer,
        nullable=False,
        server_default="0",
        comment="rotations so far; derives the signing secret of this generation",
    ),
    Column("rotated_at", UTCDateTime),
    Column(
        "previous_key_hash",
        String(64),
        comment="the key before the last rotation, accepted until previous_valid_until",
    ),
    Column("previous_valid_until", UTCDateTime),
    Index("ix_api_key_previous_key_hash", "previous_key_hash", unique=True),
)

ingestion_receipt = Table(
    "ingestion_receipt",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("partner", String(64), primary_key=True),
    Column("partner_event_id", String(128), primary_key=True),
    Column("event_id", Uuid, nullable=False),
    Column("type", String(64), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    comment="One row per accepted partner event, written with its outbox row: the idempotency key.",
)
