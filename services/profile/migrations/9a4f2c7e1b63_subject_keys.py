"""subject keys

A key per data subject (tenant, partner source, external reference): the personal
fields of events on crm.inbound and crm.activity travel sealed under it, and erasure
deletes it, so what the topics keep forever names nobody (crypto-shredding).

Revision ID: 9a4f2c7e1b63
Revises: 6e1a4b9c2d57
Create Date: 2026-11-30 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "9a4f2c7e1b63"
down_revision: str | None = "6e1a4b9c2d57"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "subject_key",
        sa.Column("kid", sa.Uuid(), nullable=False, comment="The key's id, named on the topics"),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("secret", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kid"),
        comment="A key per data subject, named by the partner reference the gateway knows: the "
        "personal fields of events travel sealed under it; erasure deletes it "
        "(crypto-shredding).",
    )
    op.create_index(
        "uq_subject_key_reference",
        "subject_key",
        ["tenant_id", "source", "external_id"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_subject_key_reference", table_name="subject_key")
    op.drop_table("subject_key")
