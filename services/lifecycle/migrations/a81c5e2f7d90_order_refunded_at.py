"""when an order's latest refund was made, so late orders and refunds fold by event time

Existing rows keep NULL: their refunds were folded in the order they arrived.

Revision ID: a81c5e2f7d90
Revises: 9b1e4d7c2a60
Create Date: 2026-11-30 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "a81c5e2f7d90"
down_revision: str | None = "9b1e4d7c2a60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lifecycle_purchase", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "refunded_at",
                shared.db.UTCDateTime(timezone=True),
                nullable=True,
                comment="when its latest refund was made",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("lifecycle_purchase", schema=None) as batch_op:
        batch_op.drop_column("refunded_at")
