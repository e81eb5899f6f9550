"""The gateway's tables: API keys, ingestion receipts, webhook subscriptions with
their deliveries, the audit log of every decision taken through the API, jobs
(privacy exports, customer imports) and the ids of erased customers."""

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Uuid,
    event,
    false,
    text,
)

from shared.db import UTCDateTime
from shared.tables import append_only_ddl, kernel_tables

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
    Column(
        "kind",
        String(16),
        nullable=False,
        server_default="secret",
        comment="secret (a server's key) or publishable (a shop-front session's, in a browser)",
    ),
    Column("customer_source", String(64), comment="a publishable key's customer: its source"),
    Column("customer_external_id", String(128), comment="… and that source's id for them"),
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
    Index("ix_ingestion_receipt_received", "tenant_id", "received_at"),
    comment="One row per accepted partner event, written with its outbox row: the idempotency key.",
)

webhook_subscription = Table(
    "webhook_subscription",
    metadata,
    Column("subscription_id", Uuid, primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("event_types", JSON, nullable=False, comment='event types it receives; ["*"]: all'),
    Column("description", String(500), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(64), nullable=False, comment="api-key:<id> of the creator"),
    Column("disabled_at", UTCDateTime),
    Column("disabled_reason", String(500)),
    Column("last_success_at", UTCDateTime),
    Index("ix_webhook_subscription_tenant", "tenant_id", "created_at", "subscription_id"),
    comment="Its signing secret is derived from CRM_SIGNING_MASTER_KEY and its id, never stored.",
)

webhook_delivery = Table(
    "webhook_delivery",
    metadata,
    Column("delivery_id", Uuid, primary_key=True, comment="derived from subscription and event"),
    Column(
        "subscription_id",
        Uuid,
        ForeignKey("webhook_subscription.subscription_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event_id", Uuid, nullable=False, comment="sent as webhook-id: the idempotency key"),
    Column("event_type", String(128), nullable=False),
    Column("body", LargeBinary, nullable=False, comment="the JSON sent, byte for byte as signed"),
    Column("status", String(16), nullable=False, comment="pending, delivered or failed"),
    Column("attempts", Integer, nullable=False, comment="attempts of the current round"),
    Column("round_started_at", UTCDateTime, nullable=False, comment="when this round began"),
    Column("next_attempt_at", UTCDateTime, comment="due time while pending; null otherwise"),
    Column("last_attempt_at", UTCDateTime),
    Column("last_status_code", Integer),
    Column("last_error", String(500)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    Index(
        "ix_webhook_delivery_due",
        "next_attempt_at",
        postgresql_where=text("next_attempt_at IS NOT NULL"),
        sqlite_where=text("next_attempt_at IS NOT NULL"),
    ),
    Index("ix_webhook_delivery_log", "subscription_id", "created_at", "delivery_id"),
    comment="One row per event a subscription receives; due rows are taken under SKIP LOCKED.",
)

audit_entry = Table(
    "audit_entry",
    metadata,
    Column("entry_id", Uuid, primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor_key_id", Uuid, nullable=False, comment="the API key that decided"),
    Column("actor_partner", String(64), nullable=False, comment="that key's partner"),
    Column("action", String(64), nullable=False, comment="what was decided: api_key.created, …"),
    Column("target", String(300), nullable=False, comment="what it concerns: customer:<id>, …"),
    Column("request_id", String(200), comment="X-Request-Id of the deciding request"),
    Column("change", JSON, nullable=False, comment="before and after, where they apply"),
    Column(
        "dedupe_key",
        String(200),
        comment="a repeated request (same Idempotency-Key) is one decision: recorded once",
    ),
    Index("ix_audit_entry_tenant_at", "tenant_id", "at", "entry_id"),
    Index("ix_audit_entry_target", "tenant_id", "target", "at"),
    Index("ix_audit_entry_actor", "tenant_id", "actor_key_id", "at"),
    Index("ix_audit_entry_dedupe", "tenant_id", "action", "dedupe_key", unique=True),
    comment="Append-only: a trigger refuses UPDATE and DELETE (services/gateway/audit.py).",
)
# The table refuses changes itself, whatever the code does: created with the table here
# (tests build schemas from the metadata) and by the migration (installations).
for _ddl in append_only_ddl("audit_entry"):
    event.listen(audit_entry, "after_create", _ddl)
audit_pending = Table(
    "audit_pending",
    metadata,
    Column("entry_id", Uuid, primary_key=True, comment="the entry's id once recorded"),
    Column("tenant_id", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False, comment="when the gateway forwarded it"),
    Column("actor_key_id", Uuid, nullable=False),
    Column("actor_partner", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(300), nullable=False),
    Column("request_id", String(200)),
    Column("change", JSON, nullable=False, comment="what was asked, where known before"),
    Index("ix_audit_pending_at", "at"),
    comment="Decisions forwarded to a service whose answer the gateway has not had yet: "
    "replaced by their audit entry on a 2xx, dropped on a refusal, and recorded as "
    "unanswered when the gateway stopped in between (services/gateway/audit.py).",
)
privacy_export = Table(
    "privacy_export",
    metadata,
    Column("export_id", Uuid, primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("requested_by", String(64), nullable=False, comment="api-key:<id> of the requester"),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("parts", JSON, nullable=False, comment="each service's rows, or its failure, by name"),
    Column("completed_at", UTCDateTime),
    Column("expires_at", UTCDateTime, nullable=False, comment="forgotten after this"),
    Index("ix_privacy_export_customer", "tenant_id", "customer_id"),
    comment="Export jobs: what every service holds about a customer; deleted on expiry or erasure.",
)

erased_customer = Table(
    "erased_customer",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column(
        "erasure_id", Uuid, nullable=False, comment="profile's job (GET /v1/privacy/erasures/…)"
    ),
    Column("erased_at", UTCDateTime, nullable=False),
    Index("ix_erased_customer_at", "erased_at"),
    comment="Ids of erased customers (and of those merged into them), no personal data: the "
    "API answers 404 for them at once, while the services still erase their part.",
)

import_job = Table(
    "import_job",
    metadata,
    Column("import_id", Uuid, primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("partner", String(64), nullable=False, comment="the importing key's partner"),
    Column("created_by", String(64), nullable=False, comment="api-key:<id> of the uploader"),
    Column("sources", JSON, comment="customer.source values it may import; null: any"),
    Column("event_types", JSON, comment="partner event types it may post; null: all"),
    Column("format", String(8), nullable=False, comment="csv or ndjson"),
    Column("default_source", String(64), comment="the source of rows that name none"),
    Column("content_sha256", String(64), nullable=False, comment="re-posting it finds this job"),
    Column("content", LargeBinary, comment="the file, until the job is done (personal data)"),
    Column("rows", Integer, nullable=False, comment="rows in the file"),
    Column("rows_read", Integer, nullable=False, comment="rows processed so far: the resume point"),
    Column("accepted", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("rejections", JSON, nullable=False, comment="the first rejections: line and reason"),
    Column("state", String(16), nullable=False, comment="queued, running, done or failed"),
    Column("failure", String(500), comment="why it failed; re-posting the file resumes it"),
    Column("claimed_until", UTCDateTime, comment="a runner works on it until then"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Index("ix_import_job_content", "tenant_id", "partner", "content_sha256", unique=True),
    Index("ix_import_job_state", "state", "created_at"),
    comment="Import jobs: a file's rows registered as customers, chunk by chunk, resumable.",
)
