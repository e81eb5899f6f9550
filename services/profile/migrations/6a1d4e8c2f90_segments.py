"""segments

Segment definitions, their members, and what their evaluation reads beside the 360:
attributes and consent (folded from crm.profile), activities with their properties,
and one due-time row per customer for window edges.

Revision ID: 6a1d4e8c2f90
Revises: 4c2e9a7b1d35
Create Date: 2026-11-30 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "6a1d4e8c2f90"
down_revision: str | None = "4c2e9a7b1d35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

At = shared.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "segment",
        sa.Column("segment_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("rule", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", At, nullable=False),
        sa.Column("updated_at", At, nullable=False),
        sa.PrimaryKeyConstraint("segment_id"),
    )
    op.create_index("uq_segment_name", "segment", ["tenant_id", "name"], unique=True)
    op.create_table(
        "segment_member",
        sa.Column("segment_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("entered_at", At, nullable=False),
        sa.PrimaryKeyConstraint("segment_id", "customer_id"),
    )
    op.create_index("ix_segment_member_customer", "segment_member", ["tenant_id", "customer_id"])
    op.create_table(
        "segment_fact",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("attributes_version", sa.Integer(), nullable=False),
        sa.Column("consent", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id"),
    )
    op.create_table(
        "segment_activity",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("at", At, nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", "event_id"),
    )
    op.create_table(
        "segment_due",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("due_at", At, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id"),
    )
    op.create_index("ix_segment_due_at", "segment_due", ["due_at"])


def downgrade() -> None:
    for table in ("segment_due", "segment_activity", "segment_fact", "segment_member", "segment"):
        op.drop_table(table)
