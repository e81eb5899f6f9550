"""each customer's preferred channel, as last announced

Revision ID: d7e2b9c4a1f6
Revises: c3f1a7d2e9b4
Create Date: 2026-11-30 05:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d7e2b9c4a1f6"
down_revision: str | None = "c3f1a7d2e9b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("respondent", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "preferred_channel",
                sa.String(length=64),
                nullable=True,
                comment="where they buy and answer most, as announced",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("respondent", schema=None) as batch_op:
        batch_op.drop_column("preferred_channel")
