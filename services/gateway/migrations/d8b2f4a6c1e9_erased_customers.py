"""erased customers

The ids of erased customers (no personal data), so that the API answers 404 for them
at once while the services erase their part, and so that every gateway replica drops
the subject keys it cached.

Revision ID: d8b2f4a6c1e9
Revises: c4e8a1f6b3d2
Create Date: 2026-11-30 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "d8b2f4a6c1e9"
down_revision: str | None = "c4e8a1f6b3d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erased_customer",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column(
            "erasure_id",
            sa.Uuid(),
            nullable=False,
            comment="profile's job (GET /v1/privacy/erasures/…)",
        ),
        sa.Column("erased_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id"),
        comment="Ids of erased customers (and of those merged into them), no personal data: "
        "the API answers 404 for them at once, while the services still erase their part.",
    )
    op.create_index("ix_erased_customer_at", "erased_customer", ["erased_at"])


def downgrade() -> None:
    op.drop_index("ix_erased_customer_at", table_name="erased_customer")
    op.drop_table("erased_customer")
