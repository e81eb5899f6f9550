"""Loyalty's tables: accounts and the append-only points ledger."""

from sqlalchemy import BigInteger, Column, Index, MetaData, String, Table, UniqueConstraint, Uuid

from shared.db import UTCDateTime
from shared.tables import kernel_tables

metadata = MetaData()
outbox, inbox = kernel_tables(metadata)

account = Table(
    "account",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column("tier", String(32), nullable=False),
    Column("qualifying_spend_minor", BigInteger, nullable=False),
    Column("currency", String(3)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

ledger_entry = Table(
    "ledger_entry",
    metadata,
    Column("entry_id", Uuid, primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("kind", String(16), nullable=False, comment="earn, redeem, expire, reverse, adjust"),
    Column("points", BigInteger, nullable=False, comment="signed: credits > 0, debits < 0"),
    Column("ref", String(200), nullable=False, comment="what caused it: order, redemption key…"),
    Column("rule", String(100), nullable=False, comment="the rule that produced it"),
    Column("cause_event_id", Uuid),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "customer_id", "kind", "ref", name="uq_ledger_entry_cause"),
    comment="Append-only: a correction is a new entry; the balance is the sum.",
)
Index(
    "ix_ledger_entry_customer",
    ledger_entry.c.tenant_id,
    ledger_entry.c.customer_id,
    ledger_entry.c.at,
)
