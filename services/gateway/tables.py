"""The gateway's tables: API keys and ingestion receipts."""

from sqlalchemy import JSON, Boolean, Column, MetaData, String, Table, Uuid, false

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
