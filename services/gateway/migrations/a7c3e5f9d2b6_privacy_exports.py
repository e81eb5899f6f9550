"""privacy exports

An export of everything the services hold about a customer is a job of the gateway's:
its parts are gathered from each service and kept until the job expires.

Revision ID: a7c3e5f9d2b6
Revises: 4a7e2c9d1f35
Create Date: 2026-11-30 04:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "a7c3e5f9d2b6"
down_revision: str | None = "4a7e2c9d1f35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "privacy_export",
        sa.Column("export_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("completed_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("export_id"),
        comment="Export jobs: what every service holds about a customer; deleted on expiry "
        "or erasure.",
    )
    op.create_index("ix_privacy_export_customer", "privacy_export", ["tenant_id", "customer_id"])


def downgrade() -> None:
    op.drop_index("ix_privacy_export_customer", table_name="privacy_export")
    op.drop_table("privacy_export")
