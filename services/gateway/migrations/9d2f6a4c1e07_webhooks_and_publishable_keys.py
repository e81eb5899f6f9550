"""webhook subscriptions and their deliveries; publishable keys bound to one customer

Revision ID: 9d2f6a4c1e07
Revises: 3c9e1f7a2d48
Create Date: 2026-11-30 10:00:00.000000

Every existing key is a secret key (``kind = 'secret'``, bound to no customer).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "9d2f6a4c1e07"
down_revision: str | None = "3c9e1f7a2d48"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sa.String(length=16),
                server_default="secret",
                nullable=False,
                comment="secret (a server's key) or publishable (a shop-front session's, in a browser)",
            )
        )
        batch_op.add_column(
            sa.Column(
                "customer_source",
                sa.String(length=64),
                nullable=True,
                comment="a publishable key's customer: its source",
            )
        )
        batch_op.add_column(
            sa.Column(
                "customer_external_id",
                sa.String(length=128),
                nullable=True,
                comment="… and that source's id for them",
            )
        )
    op.create_table(
        "webhook_subscription",
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column(
            "event_types", sa.JSON(), nullable=False, comment='event types it receives; ["*"]: all'
        ),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "created_by",
            sa.String(length=64),
            nullable=False,
            comment="api-key:<id> of the creator",
        ),
        sa.Column("disabled_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("disabled_reason", sa.String(length=500), nullable=True),
        sa.Column("last_success_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("subscription_id"),
        comment="Its signing secret is derived from CRM_SIGNING_MASTER_KEY and its id, never stored.",
    )
    op.create_index(
        "ix_webhook_subscription_tenant",
        "webhook_subscription",
        ["tenant_id", "created_at", "subscription_id"],
    )
    op.create_table(
        "webhook_delivery",
        sa.Column(
            "delivery_id", sa.Uuid(), nullable=False, comment="derived from subscription and event"
        ),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column(
            "event_id", sa.Uuid(), nullable=False, comment="sent as webhook-id: the idempotency key"
        ),
        sa.Column("event_type", sa.String(length=128), nullable=False),
        sa.Column(
            "body",
            sa.LargeBinary(),
            nullable=False,
            comment="the JSON sent, byte for byte as signed",
        ),
        sa.Column(
            "status", sa.String(length=16), nullable=False, comment="pending, delivered or failed"
        ),
        sa.Column(
            "attempts", sa.Integer(), nullable=False, comment="attempts of the current round"
        ),
        sa.Column(
            "round_started_at",
            shared.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="when this round began",
        ),
        sa.Column(
            "next_attempt_at",
            shared.db.UTCDateTime(timezone=True),
            nullable=True,
            comment="due time while pending; null otherwise",
        ),
        sa.Column("last_attempt_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"], ["webhook_subscription.subscription_id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("delivery_id"),
        comment="One row per event a subscription receives; due rows are taken under SKIP LOCKED.",
    )
    op.create_index(
        "ix_webhook_delivery_due",
        "webhook_delivery",
        ["next_attempt_at"],
        postgresql_where=sa.text("next_attempt_at IS NOT NULL"),
        sqlite_where=sa.text("next_attempt_at IS NOT NULL"),
    )
    op.create_index(
        "ix_webhook_delivery_log",
        "webhook_delivery",
        ["subscription_id", "created_at", "delivery_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_delivery_log", table_name="webhook_delivery")
    op.drop_index("ix_webhook_delivery_due", table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_index("ix_webhook_subscription_tenant", table_name="webhook_subscription")
    op.drop_table("webhook_subscription")
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        for column in ("customer_external_id", "customer_source", "kind"):
            batch_op.drop_column(column)
