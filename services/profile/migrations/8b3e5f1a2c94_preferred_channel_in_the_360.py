"""preferred channel in the 360

The 360 shows the channel where the customer buys and answers most, as feedback
announces it (crm.feedback.preferred_channel_changed.v1). Existing rows start without;
a rebuild from the topics fills them.

Revision ID: 8b3e5f1a2c94
Revises: 6a1d4e8c2f90
Create Date: 2026-11-30 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8b3e5f1a2c94"
down_revision: str | None = "6a1d4e8c2f90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer_view", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "preferred_channel",
                sa.String(length=128),
                nullable=True,
                comment="from feedback: where they buy, answer most",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("customer_view", schema=None) as batch_op:
        batch_op.drop_column("preferred_channel")
