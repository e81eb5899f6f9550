"""each tenant's event-time watermark, so timers of back-dated events fire in event time

Revision ID: d4b7e1c9a2f3
Revises: 7d3c9a2e5b14
Create Date: 2026-11-30 04:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "d4b7e1c9a2f3"
down_revision: str | None = "7d3c9a2e5b14"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lifecycle_watermark",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("event_time", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seen_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id"),
        comment="How far each tenant's events have come in event time (the latest consumed), "
        "and when one last arrived: timers fire by it, not by the wall clock, while events flow.",
    )


def downgrade() -> None:
    op.drop_table("lifecycle_watermark")
