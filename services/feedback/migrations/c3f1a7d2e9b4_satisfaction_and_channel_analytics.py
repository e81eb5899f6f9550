"""satisfaction by tier and value class, and channel analytics

``respondent`` gets the tier (from loyalty) and value class (from lifecycle) feedback
folds, so scores group by them; a response's channel widens to the 64 characters a
partner's channel may have; ``channel_order`` keeps each order's channel and amount for
the channel figures; complaints are indexed by when they were opened (the analytics'
windows).

Revision ID: c3f1a7d2e9b4
Revises: 8e4dab3f6c25
Create Date: 2026-11-30 04:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "c3f1a7d2e9b4"
down_revision: str | None = "8e4dab3f6c25"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("respondent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tier", sa.String(length=128), nullable=True))
        batch_op.add_column(
            sa.Column("tier_at", shared.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("value_class", sa.String(length=128), nullable=True))
        batch_op.add_column(
            sa.Column("value_class_at", shared.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("survey_response", schema=None) as batch_op:
        batch_op.alter_column(
            "channel",
            existing_type=sa.String(length=16),
            type_=sa.String(length=64),
            comment="where answered: the invitation's, or the partner's",
            existing_nullable=True,
        )
        batch_op.create_index(
            "ix_survey_response_channel", ["tenant_id", "channel", "responded_at"], unique=False
        )
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.create_index("ix_complaint_opened", ["tenant_id", "opened_at"], unique=False)
    op.create_table(
        "channel_order",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("purchased_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", "order_id"),
        comment="Orders by channel, for channel analytics (gross of refunds).",
    )
    with op.batch_alter_table("channel_order", schema=None) as batch_op:
        batch_op.create_index("ix_channel_order_at", ["tenant_id", "purchased_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("channel_order", schema=None) as batch_op:
        batch_op.drop_index("ix_channel_order_at")
    op.drop_table("channel_order")
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_opened")
    with op.batch_alter_table("survey_response", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_response_channel")
        batch_op.alter_column(
            "channel",
            existing_type=sa.String(length=64),
            type_=sa.String(length=16),
            comment=None,
            existing_nullable=True,
        )
    with op.batch_alter_table("respondent", schema=None) as batch_op:
        batch_op.drop_column("value_class_at")
        batch_op.drop_column("value_class")
        batch_op.drop_column("tier_at")
        batch_op.drop_column("tier")
