"""tenant rules: each tenant's own rule file, every version kept; purchases by age

The index on purchases by tenant and time serves the retention job.

Revision ID: 7d3c9a2e5b14
Revises: a81c5e2f7d90
Create Date: 2026-11-30 04:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "7d3c9a2e5b14"
down_revision: str | None = "a81c5e2f7d90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenant_rules",
        sa.Column("version", shared.db.BigIntId, autoincrement=False, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False, comment="the TOML text, as validated"),
        sa.Column("created_at", shared.db.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False, comment="api-key:<id>"),
        sa.PrimaryKeyConstraint("version"),
        comment="Every version of each tenant's rules; the highest of a tenant is in force.",
    )
    op.create_index(
        "ix_tenant_rules_tenant", "tenant_rules", ["tenant_id", "version"], unique=False
    )
    op.create_index(
        "ix_lifecycle_purchase_age",
        "lifecycle_purchase",
        ["tenant_id", "purchased_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_lifecycle_purchase_age", table_name="lifecycle_purchase")
    op.drop_index("ix_tenant_rules_tenant", table_name="tenant_rules")
    op.drop_table("tenant_rules")
