"""Loyalty's tables: accounts, the append-only points ledger, the lots it moves,
redemptions and manual adjustments by idempotency key, and reactivation offers."""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    Uuid,
)

from shared.db import BigIntId, UTCDateTime
from shared.merges import merges_table
from shared.parking import parked_table
from shared.replay_store import replays_table
from shared.rulebook import rules_table
from shared.tables import kernel_tables

metadata = MetaData()
outbox, inbox = kernel_tables(metadata)
tenant_rules = rules_table(metadata)
rule_replay = replays_table(metadata)
parked = parked_table(metadata)  # refunds that came before their purchase

ORIGIN = "Whose it was before a merge moved it (NULL: the customer's own)"

account = Table(
    "account",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column("tier", String(32), nullable=False),
    Column("qualifying_spend_minor", BigInteger, nullable=False),
    Column("currency", String(3)),
    Column("tier_review_at", UTCDateTime, comment="when the tier may go down"),
    Column("reviewed_tier", String(32), comment="what the last review left; NULL: never"),
    Column("reviewed_at", UTCDateTime, comment="when the last period-end review ran"),
    Column("next_due_at", UTCDateTime, comment="the next expiry, release or tier review"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    comment="Locked (FOR UPDATE) by every writer of the account's ledger; due rows for the sweep.",
)
Index("ix_account_next_due_at", account.c.next_due_at)

ledger_entry = Table(
    "ledger_entry",
    metadata,
    Column("entry_id", Uuid, primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("kind", String(16), nullable=False, comment="earn, redeem, expire, reverse, adjust"),
    Column("points", BigInteger, nullable=False, comment="signed: credits > 0, debits < 0"),
    Column("ref", String(200), nullable=False, comment="what caused it: order, redemption key…"),
    Column("rule", String(300), nullable=False, comment="the rule that produced it"),
    Column("cause_event_id", Uuid),
    Column("at", UTCDateTime, nullable=False),
    Column("origin_id", Uuid, comment=ORIGIN),
    UniqueConstraint("tenant_id", "customer_id", "kind", "ref", name="uq_ledger_entry_cause"),
    comment="Append-only: a correction is a new entry; the balance is the sum.",
)
Index(
    "ix_ledger_entry_customer",
    ledger_entry.c.tenant_id,
    ledger_entry.c.customer_id,
    ledger_entry.c.at,
)

lot = Table(
    "lot",
    metadata,
    Column("lot_id", Uuid, primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("ref", String(200), nullable=False, comment="order:…, complaint:…, offer:…"),
    Column("points", BigInteger, nullable=False, comment="what the lot earned"),
    Column("remaining", BigInteger, nullable=False, comment="not yet spent, expired or reversed"),
    Column("earned_at", UTCDateTime, nullable=False),
    Column("available_at", UTCDateTime, nullable=False, comment="end of the return window"),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("credited", Boolean, nullable=False, comment="in the balance (window closed)"),
    Column("amount_minor", BigInteger, nullable=False, comment="the order's amount"),
    Column("currency", String(3)),
    Column("refunded_minor", BigInteger, nullable=False),
    Column("reversed_points", BigInteger, nullable=False),
    Column("rule", String(300), nullable=False, comment="the earning rule, for its release"),
    Column("origin_id", Uuid, comment=ORIGIN),
    UniqueConstraint("tenant_id", "customer_id", "ref", name="uq_lot_ref"),
    comment="Where a ledger's points sit, for FIFO expiry and proportional reversal.",
)

redemption = Table(
    "redemption",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column("idempotency_key", String(100), primary_key=True),
    Column("request_hash", String(64), nullable=False, comment="sha256 of points and reason"),
    Column("entry_id", Uuid, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    comment="A redemption's key, written with its ledger entry: a repeat gets the first answer.",
)

adjustment = Table(
    "adjustment",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column("idempotency_key", String(100), primary_key=True),
    Column("request_hash", String(64), nullable=False, comment="sha256 of points and reason"),
    Column("entry_id", Uuid, nullable=False),
    Column("points", BigInteger, nullable=False, comment="signed: a credit > 0, a debit < 0"),
    Column("reason", String(200), nullable=False, comment="the operator's, never personal"),
    Column("adjusted_by", String(100), comment="the deciding key, api-key:<id>"),
    Column("balance_after", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    comment="A manual adjustment: who decided it and why, written with its ledger entry, "
    "by key: a repeat gets the first answer.",
)

offer = Table(
    "offer",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column("kind", String(32), primary_key=True, comment="reactivation: once per customer"),
    Column("granted_at", UTCDateTime, nullable=False),
    Column("valid_until", UTCDateTime, nullable=False),
    Column("spend_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("reward_points", BigInteger, nullable=False),
    Column("progress_minor", BigInteger, nullable=False),
    Column("completed_at", UTCDateTime),
)

tier_change = Table(
    "tier_change",
    metadata,
    Column("id", BigIntId, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("from_tier", String(32), nullable=False),
    Column("to_tier", String(32), nullable=False),
    Column("cause", String(200), nullable=False),
    Column(
        "at",
        UTCDateTime,
        nullable=False,
        comment="When the move happened: its cause's event time, or the period's end",
    ),
    comment="Every tier move, for the tier movements over a period.",
)
Index("ix_tier_change_at", tier_change.c.tenant_id, tier_change.c.at)

customer_merge = merges_table(
    metadata,
    Column("merged_account", JSON, comment="As it was at the merge"),
    Column("survivor_account", JSON, nullable=False, comment="Its tier and review, then"),
    comment="Merges applied: the merged account kept for an undo, and where ids went.",
)
