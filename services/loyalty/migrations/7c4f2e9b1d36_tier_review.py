"""what the last tier review left, so a refund re-qualifies from there

Existing accounts keep NULL (never reviewed): a refund then re-qualifies them from the
lowest tier over all their purchases, which reaches at least any tier a past review
kept (that review counted the same purchases).

Revision ID: 7c4f2e9b1d36
Revises: b5ae8e4dd48e
Create Date: 2026-11-30 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "7c4f2e9b1d36"
down_revision: str | None = "b5ae8e4dd48e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "reviewed_tier",
                sa.String(length=32),
                nullable=True,
                comment="what the last review left; NULL: never",
            )
        )
        batch_op.add_column(
            sa.Column(
                "reviewed_at",
                shared.db.UTCDateTime(timezone=True),
                nullable=True,
                comment="when the last period-end review ran",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("reviewed_tier")
