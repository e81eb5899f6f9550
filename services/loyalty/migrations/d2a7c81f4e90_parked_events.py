"""parked events: what came before what it refers to (refunds before their purchase)

Revision ID: d2a7c81f4e90
Revises: e3a9c4b7f150
Create Date: 2026-11-30 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "d2a7c81f4e90"
down_revision: str | None = "e3a9c4b7f150"
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


def downgrade() -> None:
    op.drop_index("ix_parked_event_expires_at", table_name="parked_event")
    op.drop_table("parked_event")
