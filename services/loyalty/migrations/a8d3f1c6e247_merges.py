"""merges: an account's ledger follows its customer into a merge and back out of it

Entries and lots moved by a merge remember whose they were (``origin_id``), so an undo
gives them back; ``customer_merge`` keeps the merged account as it was, and answers
which customer a merged-away id lives on as.

Revision ID: a8d3f1c6e247
Revises: 6f2b8e1c4a93
Create Date: 2026-11-30 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "a8d3f1c6e247"
down_revision: str | None = "6f2b8e1c4a93"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("ledger_entry", "lot"):
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
        sa.Column("merged_account", sa.JSON(), nullable=True, comment="As it was at the merge"),
        sa.Column(
            "survivor_account", sa.JSON(), nullable=False, comment="Its tier and review, then"
        ),
        sa.Column("merged_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("undone_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "merge_id"),
        comment="Merges applied: the merged account kept for an undo, and where ids went.",
    )
    op.create_index(
        "ix_customer_merge_merged", "customer_merge", ["tenant_id", "merged_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_customer_merge_merged", table_name="customer_merge")
    op.drop_table("customer_merge")
    for table in ("lot", "ledger_entry"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("origin_id")
