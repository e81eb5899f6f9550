"""parked events (refunds before their purchase), the orders the 360 folded, last_nps_at

Revision ID: f3c9a2d6b1e8
Revises: 5d2c8e1f4b37
Create Date: 2026-11-30 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "f3c9a2d6b1e8"
down_revision: str | None = "5d2c8e1f4b37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "parked_event",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column(
            "waits_for",
            sa.String(length=250),
            nullable=False,
            comment="order:<id>, complaint:<ref>",
        ),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False, comment="the event as consumed"),
        sa.Column("parked_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "expires_at",
            shared.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="dead-lettered after this",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", "waits_for", "event_id"),
        comment="Events that came before what they refer to; applied when it arrives.",
    )
    op.create_index("ix_parked_event_expires_at", "parked_event", ["expires_at"], unique=False)
    op.create_table(
        "view_order",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", "order_id"),
        comment="Orders the 360 has folded: a refund of any other waits for its purchase.",
    )
    with op.batch_alter_table("customer_view", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "last_nps_at",
                shared.db.UTCDateTime(timezone=True),
                nullable=True,
                comment="when the last NPS answer was given",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("customer_view", schema=None) as batch_op:
        batch_op.drop_column("last_nps_at")
    op.drop_table("view_order")
    op.drop_index("ix_parked_event_expires_at", table_name="parked_event")
    op.drop_table("parked_event")
