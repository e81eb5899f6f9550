"""manual adjustments: who credited or debited points by hand, and why, by key

A manual adjustment (``POST /v1/customers/{id}/loyalty/adjustments``) is a ledger entry
and this row, written together: the deciding key and the reason keep it attributable,
and the Idempotency-Key makes a repeat answer as the first request did.

Revision ID: f41c9a7d2b58
Revises: 34c97194e5af
Create Date: 2026-11-30 13:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "f41c9a7d2b58"
down_revision: str | None = "34c97194e5af"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "adjustment",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column(
            "request_hash",
            sa.String(length=64),
            nullable=False,
            comment="sha256 of points and reason",
        ),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column(
            "points", sa.BigInteger(), nullable=False, comment="signed: a credit > 0, a debit < 0"
        ),
        sa.Column(
            "reason",
            sa.String(length=200),
            nullable=False,
            comment="the operator's, never personal",
        ),
        sa.Column(
            "adjusted_by",
            sa.String(length=100),
            nullable=True,
            comment="the deciding key, api-key:<id>",
        ),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", "idempotency_key"),
        comment="A manual adjustment: who decided it and why, written with its ledger entry, "
        "by key: a repeat gets the first answer.",
    )


def downgrade() -> None:
    op.drop_table("adjustment")
