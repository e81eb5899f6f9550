"""Lifecycle's tables: each customer's stage, statistics and churn risk, their orders,
the stage history, the due-time rows of time-based transitions, and fitted models."""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    false,
)

from shared.db import BigIntId, UTCDateTime
from shared.merges import merges_table
from shared.replay_store import replays_table
from shared.rulebook import rules_table
from shared.tables import kernel_tables

metadata = MetaData()
outbox, inbox = kernel_tables(metadata)
tenant_rules = rules_table(metadata)
rule_replay = replays_table(metadata)

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
    Column("refunded_minor", BigInteger, nullable=False, server_default="0"),
    Column("refunds", Integer, nullable=False, server_default="0"),
    Column("occasions", Integer, nullable=False, server_default="0"),
    Column("usual_gap_days", Float),
    Column("last_gap_days", Float),
    Column("earlier_gap_days", Float),
    Column("open_complaints", JSON),
    Column("nps_detractor", Boolean, nullable=False, server_default=false()),
    Column("tier_downgraded", Boolean, nullable=False, server_default=false()),
    Column("risk_score", Integer),
    Column("risk_level", String(8)),
    Column("risk_reasons", JSON),
    Column("p_alive", Float),
    Column("risk_at", UTCDateTime),
    Column("risk_announced_score", Integer),
    Column("risk_announced_level", String(8)),
    # What the customer is worth (domain.value), scored with the churn risk.
    Column("value_currency", String(3)),
    Column("expected_purchases", Float),
    Column("expected_spend_minor", Float),
    Column("clv_minor", BigInteger),
    Column("value_at_risk_minor", BigInteger, comment="clv_minor × (1 − p_alive)"),
    Column("value_class", String(16)),
    Column("value_announced_class", String(16)),
)
Index("ix_customer_state_stage", customer_state.c.tenant_id, customer_state.c.stage)
Index("ix_customer_state_risk_level", customer_state.c.tenant_id, customer_state.c.risk_level)
Index(
    "ix_customer_state_value_at_risk",
    customer_state.c.tenant_id,
    customer_state.c.risk_level,
    customer_state.c.value_at_risk_minor,
)
# The rescore's due-time: a customer is due once their score is older than the
# rescore period or than the tenant's latest fit.
Index("ix_customer_state_risk_at", customer_state.c.tenant_id, customer_state.c.risk_at)

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
Index("ix_stage_history_at", stage_history.c.tenant_id, stage_history.c.at)

lifecycle_purchase = Table(
    "lifecycle_purchase",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column("order_id", String(128), primary_key=True),
    Column("origin_id", Uuid, comment="Whose it was before a merge moved it (NULL: own)"),
    Column("purchased_at", UTCDateTime, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("refunded_minor", BigInteger, nullable=False),
    # Whether the order counts, whatever its amount (a free order is a purchase).
    Column(
        "state",
        String(16),
        nullable=False,
        server_default="bought",
        comment="bought, refunded (in full), awaiting (a refund came before its order)",
    ),
    Column("currency", String(3), comment="None: recorded before lifecycle kept currencies"),
    Column("refunded_at", UTCDateTime, comment="when its latest refund was made"),
    Index("ix_lifecycle_purchase_age", "tenant_id", "purchased_at"),
    comment="Each order once: RFM and the churn model are recomputed from these, "
    "so late, repeated or refunded orders land in the same numbers.",
)

lifecycle_timer = Table(
    "lifecycle_timer",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    comment="The next time-based transition of each customer; the sweeper polls due rows "
    "with SKIP LOCKED, so replicas never fire one twice.",
)
Index("ix_lifecycle_timer_due_at", lifecycle_timer.c.due_at)

lifecycle_watermark = Table(
    "lifecycle_watermark",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("event_time", UTCDateTime, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
    comment="How far each tenant's events have come in event time (the latest consumed), "
    "and when one last arrived: timers fire by it, not by the wall clock, while events flow.",
)

lifecycle_model = Table(
    "lifecycle_model",
    metadata,
    Column("id", BigIntId, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("model", String(16), nullable=False),
    Column("r", Float, nullable=False),
    Column("alpha", Float, nullable=False),
    Column("a", Float, nullable=False),
    Column("b", Float, nullable=False),
    Column("time_unit", String(8), nullable=False),
    Column("as_of", UTCDateTime, nullable=False),
    Column("customers", Integer, nullable=False),
    Column("log_likelihood", Float, nullable=False),
    Column("fitted_at", UTCDateTime, nullable=False),
)
Index("ix_lifecycle_model_tenant", lifecycle_model.c.tenant_id, lifecycle_model.c.fitted_at)

lifecycle_spend_model = Table(
    "lifecycle_spend_model",
    metadata,
    Column("id", BigIntId, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("model", String(16), nullable=False),
    Column("p", Float, nullable=False),
    Column("q", Float, nullable=False),
    Column("v", Float, nullable=False, comment="In minor units of the currency"),
    Column("as_of", UTCDateTime, nullable=False),
    Column("customers", Integer, nullable=False),
    Column("log_likelihood", Float, nullable=False),
    Column("fitted_at", UTCDateTime, nullable=False),
    comment="Gamma-Gamma fits of spend per occasion, one per currency, beside each BG/NBD fit.",
)
Index(
    "ix_lifecycle_spend_model_tenant",
    lifecycle_spend_model.c.tenant_id,
    lifecycle_spend_model.c.currency,
    lifecycle_spend_model.c.fitted_at,
)

lifecycle_value_cutoffs = Table(
    "lifecycle_value_cutoffs",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("floors", JSON, nullable=False, comment="[[class, least clv_minor], …], best first"),
    Column("at", UTCDateTime, nullable=False),
    comment="Where the value classes start, cut from the CLVs by the rescore job.",
)

customer_merge = merges_table(
    metadata,
    Column("merged_state", JSON, comment="The merged customer's state beyond its orders"),
    Column("survivor_state", JSON, comment="The survivor's, at the merge"),
    comment="Merges applied: both states kept for an undo, and where ids went.",
)
