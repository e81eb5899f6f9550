"""tenant rules: each tenant's own rule file, every version kept

Revision ID: 6f2b8e1c4a93
Revises: d2a7c81f4e90
Create Date: 2026-11-30 04:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "6f2b8e1c4a93"
down_revision: str | None = "d2a7c81f4e90"
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


def downgrade() -> None:
    op.drop_index("ix_tenant_rules_tenant", table_name="tenant_rules")
    op.drop_table("tenant_rules")
