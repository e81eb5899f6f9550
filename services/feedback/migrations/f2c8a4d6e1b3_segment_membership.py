"""segment membership folded from profile, for satisfaction by segment

Revision ID: f2c8a4d6e1b3
Revises: c4e8b2a7d913
Create Date: 2026-11-30 06:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "f2c8a4d6e1b3"
down_revision: str | None = "c4e8b2a7d913"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "segment_member",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("segment_id", sa.String(length=64), nullable=False),
        sa.Column(
            "name", sa.String(length=200), nullable=False, comment="the segment's name when entered"
        ),
        sa.Column("entered_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", "segment_id"),
        comment="Segment membership as profile announces it (a customer may be in several).",
    )


def downgrade() -> None:
    op.drop_table("segment_member")
