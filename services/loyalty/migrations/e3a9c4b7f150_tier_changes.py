"""tier changes: every move between tiers, for the tier movements over a period

Moves made before this revision are not known here (they were only announced); the
distribution of tiers is the accounts' own and complete from the start.

Revision ID: e3a9c4b7f150
Revises: 7c4f2e9b1d36
Create Date: 2026-11-30 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "e3a9c4b7f150"
down_revision: str | None = "7c4f2e9b1d36"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tier_change",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("from_tier", sa.String(length=32), nullable=False),
        sa.Column("to_tier", sa.String(length=32), nullable=False),
        sa.Column("cause", sa.String(length=200), nullable=False),
        sa.Column("at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_tier_change_at", "tier_change", ["tenant_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_tier_change_at", table_name="tier_change")
    op.drop_table("tier_change")
