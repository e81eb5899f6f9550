"""Profile's tables: customers with their attributes, identities and consent, the
tenants' attribute schemas, merge candidates and merges, and the customer-360 read
model."""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.db import UTCDateTime
from shared.parking import parked_table
from shared.tables import kernel_tables

metadata = MetaData()
outbox, inbox = kernel_tables(metadata)

TenantId = String(64)
REFERENCE = text("kind LIKE 'ref:%'")
# JSONB on PostgreSQL, so that an attribute filter can be an indexed containment (@>).
Document = JSON().with_variant(JSONB(), "postgresql")

customer = Table(
    "customer",
    metadata,
    Column("tenant_id", TenantId, primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column("name", String(200)),
    Column("email", String(254)),
    Column("phone", String(20)),
    Column(
        "owner_source",
        String(64),
        comment="The source whose events set name, e-mail and phone (its first reference's)",
    ),
    Column("merged_into", Uuid, comment="The survivor, once an operator merged this customer"),
    Column("merged_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column(
        "attributes",
        Document,
        nullable=False,
        server_default="{}",
        comment="Values of the tenant's declared attributes, by name",
    ),
    Column(
        "version",
        Integer,
        nullable=False,
        server_default="1",
        comment="Counts the record's changes: its ETag, for optimistic concurrency",
    ),
    Index("ix_customer_merged_into", "tenant_id", "merged_into"),
)

identity = Table(
    "identity",
    metadata,
    Column("tenant_id", TenantId, primary_key=True),
    Column("kind", String(80), primary_key=True, comment="'ref:<source>', 'email' or 'phone'"),
    Column("value", String(254), primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column("created_at", UTCDateTime, nullable=False, comment="First seen"),
    Column("source", String(64), comment="Who gave it: a partner source, 'api' or an import's"),
    Column("last_seen_at", UTCDateTime, comment="Last named by an event or an operator"),
    Index("ix_identity_customer_id", "customer_id"),
    # A partner reference names one customer; an e-mail or phone may be shared by
    # several until an operator merges them.
    Index(
        "uq_identity_reference",
        "tenant_id",
        "kind",
        "value",
        unique=True,
        postgresql_where=REFERENCE,
        sqlite_where=REFERENCE,
    ),
    comment="What names a customer: partner references (unique), and the e-mail and phone "
    "of the customer's record (always equal to them).",
)

merge_candidate = Table(
    "merge_candidate",
    metadata,
    Column("candidate_id", Uuid, primary_key=True, comment="Derived from the pair: one per pair"),
    Column("tenant_id", TenantId, nullable=False),
    Column("survivor_id", Uuid, nullable=False, comment="The older customer"),
    Column("merged_id", Uuid, nullable=False, comment="The newer customer"),
    Column("matched", JSON, nullable=False, comment="['email'], ['phone'] or both"),
    Column("status", String(16), nullable=False, comment="open, confirmed or dismissed"),
    Column("found_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime),
    Column("decided_by", String(200)),
    Column("reason", String(500)),
    Column("merge_id", Uuid),
    Index("ix_merge_candidate_page", "tenant_id", "status", "found_at", "candidate_id"),
    Index("ix_merge_candidate_found", "tenant_id", "found_at", "candidate_id"),
    comment="Customers that share an e-mail or phone, for an operator to merge or keep apart.",
)

customer_merge = Table(
    "customer_merge",
    metadata,
    Column("merge_id", Uuid, primary_key=True),
    Column("tenant_id", TenantId, nullable=False),
    Column("survivor_id", Uuid, nullable=False),
    Column("merged_id", Uuid, nullable=False),
    Column("candidate_id", Uuid),
    Column("decided_at", UTCDateTime, nullable=False),
    Column("decided_by", String(200)),
    Column("reason", String(500), nullable=False),
    Column("moved", JSON, nullable=False, comment="Identities moved, released, details filled"),
    Column("undone_at", UTCDateTime, comment="When an operator took the merge apart"),
    Column("undone_by", String(200)),
    Column("undo_reason", String(500)),
    Column("undo_moved", JSON, comment="Identities given back or made anew, details emptied"),
    Index("ix_customer_merge_survivor", "tenant_id", "survivor_id"),
    comment="Every merge: who decided, when, why, and what moved (so it can be undone).",
)

customer_view = Table(
    "customer_view",
    metadata,
    Column("tenant_id", TenantId, primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column("stage", String(32)),
    Column("stage_since", UTCDateTime),
    Column("churn_score", Integer),
    Column("churn_level", String(16)),
    Column("churn_reasons", JSON),
    Column("tier", String(32), nullable=False),
    Column("points_balance", BigInteger, nullable=False),
    Column("points_pending", BigInteger, nullable=False),
    Column("last_nps", Integer),
    Column("last_nps_at", UTCDateTime, comment="when the last NPS answer was given"),
    Column("open_complaints", Integer, nullable=False),
    Column("orders", Integer, nullable=False),
    Column("revenue_minor", BigInteger, nullable=False),
    Column("currency", String(3)),
    Column("last_purchase_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("merged_into", Uuid, comment="Folded from customers_merged: always the final survivor"),
    Column("value_class", String(16)),
    Column("clv_minor", BigInteger),
    Column("value_currency", String(3)),
    Column("reactivations", Integer, nullable=False, server_default="0"),
    Column(
        "preferred_channel", String(128), comment="from feedback: where they buy and answer most"
    ),
    Index("ix_customer_view_merged_into", "tenant_id", "merged_into"),
    comment="The customer 360, folded from every service's events; rebuildable from the topics.",
)

view_order = Table(
    "view_order",
    metadata,
    Column("tenant_id", TenantId, primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column("order_id", String(200), primary_key=True),
    comment="Orders the 360 has folded: a refund of any other waits for its purchase.",
)
parked = parked_table(metadata)  # refunds that came before their purchase

attribute_definition = Table(
    "attribute_definition",
    metadata,
    Column("tenant_id", TenantId, primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("type", String(16), nullable=False, comment="string, number, boolean, date or list"),
    Column("description", String(500), nullable=False),
    Column("personal_data", Boolean, nullable=False),
    Column("removed_at", UTCDateTime, comment="Hidden since; a name keeps its type for good"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    comment="Each tenant's custom attributes: what a customer's attributes may hold.",
)

consent = Table(
    "consent",
    metadata,
    Column("tenant_id", TenantId, primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("purpose", String(16), primary_key=True),
    Column("granted", Boolean, nullable=False),
    Column("at", UTCDateTime, nullable=False, comment="When the customer decided"),
    Column("source", String(128), nullable=False),
    Column("change_id", Uuid, nullable=False, comment="The change that set it"),
    comment="Each customer's current consent per channel and purpose (the latest decision).",
)

consent_change = Table(
    "consent_change",
    metadata,
    Column("change_id", Uuid, primary_key=True),
    Column("tenant_id", TenantId, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("granted", Boolean, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("source", String(128), nullable=False),
    Column("proof", String(2000)),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Column("applied", Boolean, nullable=False, comment="False: older than the state it met"),
    Index("ix_consent_change_customer", "tenant_id", "customer_id", "at", "change_id"),
    comment="Every consent decision ever recorded, with its proof (append-only).",
)

identity_guardrail = Table(
    "identity_guardrail",
    metadata,
    Column("tenant_id", TenantId, primary_key=True),
    Column("blocked_emails", JSON, nullable=False, comment="Patterns, * for any text"),
    Column("blocked_phones", JSON, nullable=False, comment="Patterns, * for any text"),
    Column("max_identities", Integer, nullable=False, comment="Partner references per customer"),
    Column("on_match", String(16), nullable=False, comment="propose or link"),
    Column("updated_at", UTCDateTime, nullable=False),
    comment="A tenant's rules for automatic linking (the defaults when it has no row).",
)

segment = Table(
    "segment",
    metadata,
    Column("segment_id", Uuid, primary_key=True),
    Column("tenant_id", TenantId, nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", String(500), nullable=False),
    Column(
        "rule", JSON, nullable=False, comment="The rule as saved (services.profile.segment_rules)"
    ),
    Column("version", Integer, nullable=False, comment="Counts the definition's changes"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("uq_segment_name", "tenant_id", "name", unique=True),
    comment="Segments the tenant's analysts defined (owned state, not a read model).",
)

segment_member = Table(
    "segment_member",
    metadata,
    Column("segment_id", Uuid, primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column("tenant_id", TenantId, nullable=False),
    Column("entered_at", UTCDateTime, nullable=False),
    Index("ix_segment_member_customer", "tenant_id", "customer_id"),
    comment="Who is in each segment now (a read model, folded with the 360).",
)

segment_fact = Table(
    "segment_fact",
    metadata,
    Column("tenant_id", TenantId, primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column("attributes", JSON, nullable=False, comment="From the latest customer_updated"),
    Column("attributes_version", Integer, nullable=False),
    Column("consent", JSON, nullable=False, comment="'channel/purpose': [granted, at]"),
    comment="What segments read beside the 360, folded from crm.profile; one per customer "
    "the fold has met (the row a segment evaluation locks).",
)

segment_activity = Table(
    "segment_activity",
    metadata,
    Column("tenant_id", TenantId, primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column("event_id", Uuid, primary_key=True),
    Column("kind", String(64), nullable=False, comment="purchase_completed, …"),
    Column("at", UTCDateTime, nullable=False),
    Column("properties", JSON, nullable=False),
    comment="Each customer's activities with their properties, for segment windows.",
)

segment_due = Table(
    "segment_due",
    metadata,
    Column("tenant_id", TenantId, primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column("due_at", UTCDateTime, nullable=False),
    Index("ix_segment_due_at", "due_at"),
    comment="When a customer's segments must be evaluated again: a window edge, or a "
    "segment saved (one row per customer, the earliest).",
)

erasure = Table(
    "erasure",
    metadata,
    Column("erasure_id", Uuid, primary_key=True),
    Column("tenant_id", TenantId, nullable=False),
    Column("customer_id", Uuid, nullable=False, comment="An id only: its record is gone"),
    Column("merged_ids", JSON, nullable=False, comment="Customers merged into it, erased too"),
    Column("reason", String(500), nullable=False),
    Column("requested_by", String(200)),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("confirmations", JSON, nullable=False, comment="When each service confirmed, by name"),
    Column("completed_at", UTCDateTime, comment="The last confirmation's time"),
    Index("ix_erasure_customer", "tenant_id", "customer_id"),
    comment="Erasures: profile erased at once; each service's confirmation is folded in.",
)

subject_key = Table(
    "subject_key",
    metadata,
    Column("kid", Uuid, primary_key=True, comment="The key's id, named on the topics"),
    Column("tenant_id", TenantId, nullable=False),
    Column("source", String(64), nullable=False),
    Column("external_id", String(200), nullable=False),
    # The AES-256 key: it leaves profile only for the gateway, which seals with it.
    Column("secret", LargeBinary(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("uq_subject_key_reference", "tenant_id", "source", "external_id", unique=True),
    comment="A key per data subject, named by the partner reference the gateway knows: the "
    "personal fields of events travel sealed under it; erasure deletes it (crypto-shredding).",
)
