"""erasures

A customer's erasure is a job: profile erases its own rows in the request and records
the job here; each service's ``erasure_confirmed`` event is folded into it.

Revision ID: 6e1a9c3f2b84
Revises: 8b3e5f1a2c94
Create Date: 2026-11-30 04:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "6e1a9c3f2b84"
down_revision: str | None = "8b3e5f1a2c94"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erasure",
        sa.Column("erasure_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("merged_ids", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=True),
        sa.Column("requested_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmations", sa.JSON(), nullable=False),
        sa.Column("completed_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("erasure_id"),
        comment="Erasures: profile erased at once; each service's confirmation is folded in.",
    )
    op.create_index("ix_erasure_customer", "erasure", ["tenant_id", "customer_id"])


def downgrade() -> None:
    op.drop_index("ix_erasure_customer", table_name="erasure")
    op.drop_table("erasure")
