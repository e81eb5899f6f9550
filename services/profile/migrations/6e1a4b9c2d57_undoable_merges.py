"""merges that can be undone

A merge records its undo beside it: when, by whom and why (``undone_at`` is null
while the merge stands). Operators now merge two customers directly, so a merge
has a candidate only when it came from one (``candidate_id`` was nullable already).

Revision ID: 6e1a4b9c2d57
Revises: 6e1a9c3f2b84
Create Date: 2026-11-30 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "6e1a4b9c2d57"
down_revision: str | None = "6e1a9c3f2b84"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer_merge", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("undone_at", shared.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("undone_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("undo_reason", sa.String(length=500), nullable=True))
        batch_op.add_column(
            sa.Column(
                "undo_moved",
                sa.JSON(),
                nullable=True,
                comment="Identities given back or made anew, details emptied",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("customer_merge", schema=None) as batch_op:
        batch_op.drop_column("undo_moved")
        batch_op.drop_column("undo_reason")
        batch_op.drop_column("undone_by")
        batch_op.drop_column("undone_at")
