"""Profile's tables: customers, their identities, and the customer-360 read model."""

from sqlalchemy import JSON, BigInteger, Column, Integer, MetaData, String, Table, Uuid

from shared.db import UTCDateTime
from shared.tables import kernel_tables

metadata = MetaData()
outbox, inbox = kernel_tables(metadata)

TenantId = String(64)

customer = Table(
    "customer",
    metadata,
    Column("tenant_id", TenantId, primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column("name", String(200)),
    Column("email", String(254)),
    Column("phone", String(20)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

identity = Table(
    "identity",
    metadata,
    Column("tenant_id", TenantId, primary_key=True),
    Column("kind", String(80), primary_key=True, comment="'ref:<source>', 'email' or 'phone'"),
    Column("value", String(254), primary_key=True),
    Column("customer_id", Uuid, nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
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
    Column("open_complaints", Integer, nullable=False),
    Column("orders", Integer, nullable=False),
    Column("revenue_minor", BigInteger, nullable=False),
    Column("currency", String(3)),
    Column("last_purchase_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    comment="The customer 360, folded from every service's events; rebuildable from the topics.",
)
