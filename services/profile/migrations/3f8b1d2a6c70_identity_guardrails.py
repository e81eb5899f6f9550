"""identity guardrails

Each tenant's rules for automatic linking: blocked e-mails and phones, the most
partner references a customer may have, and what a match across sources does.

Revision ID: 3f8b1d2a6c70
Revises: 2d7a0c9e4b15
Create Date: 2026-11-30 02:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "3f8b1d2a6c70"
down_revision: str | None = "2d7a0c9e4b15"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "identity_guardrail",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("blocked_emails", sa.JSON(), nullable=False, comment="Patterns, * for any text"),
        sa.Column("blocked_phones", sa.JSON(), nullable=False, comment="Patterns, * for any text"),
        sa.Column(
            "max_identities",
            sa.Integer(),
            nullable=False,
            comment="Partner references per customer",
        ),
        sa.Column("on_match", sa.String(length=16), nullable=False, comment="propose or link"),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id"),
        comment="A tenant's rules for automatic linking (the defaults when it has no row).",
    )


def downgrade() -> None:
    op.drop_table("identity_guardrail")
