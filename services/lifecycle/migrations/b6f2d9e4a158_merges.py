"""merges: orders follow their customer into a merge and back out of it

Orders moved by a merge remember whose they were (``origin_id``), so an undo gives
them back; ``customer_merge`` keeps both customers' states beyond their orders as they
were at the merge, and answers which customer a merged-away id lives on as.

Revision ID: b6f2d9e4a158
Revises: d4b7e1c9a2f3
Create Date: 2026-11-30 05:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "b6f2d9e4a158"
down_revision: str | None = "d4b7e1c9a2f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lifecycle_purchase", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "origin_id",
                sa.Uuid(),
                nullable=True,
                comment="Whose it was before a merge moved it (NULL: own)",
            )
        )
    op.create_table(
        "customer_merge",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("merge_id", sa.Uuid(), nullable=False),
        sa.Column("survivor_id", sa.Uuid(), nullable=False),
        sa.Column("merged_id", sa.Uuid(), nullable=False),
        sa.Column(
            "merged_state",
            sa.JSON(),
            nullable=True,
            comment="The merged customer's state beyond its orders",
        ),
        sa.Column(
            "survivor_state", sa.JSON(), nullable=True, comment="The survivor's, at the merge"
        ),
        sa.Column("merged_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("undone_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "merge_id"),
        comment="Merges applied: both states kept for an undo, and where ids went.",
    )
    op.create_index(
        "ix_customer_merge_merged", "customer_merge", ["tenant_id", "merged_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_customer_merge_merged", table_name="customer_merge")
    op.drop_table("customer_merge")
    with op.batch_alter_table("lifecycle_purchase", schema=None) as batch_op:
        batch_op.drop_column("origin_id")
