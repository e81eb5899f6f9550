"""merges: complaints and surveys follow their customer into a merge and back out of it

Complaints, invitations and answers moved by a merge remember whose they were
(``origin_id``), so an undo gives them back; ``customer_merge`` records the merges
applied (a replay changes nothing) and where a merged-away id lives on.

Revision ID: c4e8b2a7d913
Revises: d7e2b9c4a1f6
Create Date: 2026-11-30 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "c4e8b2a7d913"
down_revision: str | None = "d7e2b9c4a1f6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MOVED = ("complaint", "survey_invitation", "survey_response")


def upgrade() -> None:
    for table in MOVED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "origin_id",
                    sa.Uuid(),
                    nullable=True,
                    comment="Whose it was before a merge moved it (NULL: the customer's own)",
                )
            )
    op.create_table(
        "customer_merge",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("merge_id", sa.Uuid(), nullable=False),
        sa.Column("survivor_id", sa.Uuid(), nullable=False),
        sa.Column("merged_id", sa.Uuid(), nullable=False),
        sa.Column("merged_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("undone_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "merge_id"),
        comment="Merges applied, and where a merged-away id lives on while they stand.",
    )
    op.create_index(
        "ix_customer_merge_merged", "customer_merge", ["tenant_id", "merged_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_customer_merge_merged", table_name="customer_merge")
    op.drop_table("customer_merge")
    for table in reversed(MOVED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("origin_id")
