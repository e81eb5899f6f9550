"""audit pending

Decisions forwarded to a service and not yet answered, so that a gateway stopping
between the service's answer and the audit entry loses no decision: what it left is
recorded as unanswered.

Revision ID: e3a9c7b1d5f2
Revises: d8b2f4a6c1e9
Create Date: 2026-11-30 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "e3a9c7b1d5f2"
down_revision: str | None = "d8b2f4a6c1e9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_pending",
        sa.Column("entry_id", sa.Uuid(), nullable=False, comment="the entry's id once recorded"),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column(
            "at",
            shared.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="when the gateway forwarded it",
        ),
        sa.Column("actor_key_id", sa.Uuid(), nullable=False),
        sa.Column("actor_partner", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("request_id", sa.String(length=200), nullable=True),
        sa.Column(
            "change", sa.JSON(), nullable=False, comment="what was asked, where known before"
        ),
        sa.PrimaryKeyConstraint("entry_id"),
        comment="Decisions forwarded to a service whose answer the gateway has not had yet: "
        "replaced by their audit entry on a 2xx, dropped on a refusal, and recorded as "
        "unanswered when the gateway stopped in between (services/gateway/audit.py).",
    )
    op.create_index("ix_audit_pending_at", "audit_pending", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_pending_at", table_name="audit_pending")
    op.drop_table("audit_pending")
