"""Lifecycle's tables: each customer's stage and purchase statistics, and the stage history."""

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, Uuid

from shared.db import BigIntId, UTCDateTime
from shared.tables import kernel_tables

metadata = MetaData()
outbox, inbox = kernel_tables(metadata)

customer_state = Table(
    "customer_state",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column("stage", String(32), nullable=False),
    Column("stage_since", UTCDateTime, nullable=False),
    Column("orders", Integer, nullable=False),
    Column("revenue_minor", BigInteger, nullable=False),
    Column("first_purchase_at", UTCDateTime),
    Column("last_purchase_at", UTCDateTime),
    Column("reactivations", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
Index("ix_customer_state_stage", customer_state.c.tenant_id, customer_state.c.stage)

stage_history = Table(
    "stage_history",
    metadata,
    Column("id", BigIntId, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("from_stage", String(32)),
    Column("to_stage", String(32), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("cause_kind", String(16), nullable=False),
    Column("cause_ref", String(100), nullable=False),
)
Index("ix_stage_history_customer", stage_history.c.tenant_id, stage_history.c.customer_id)
