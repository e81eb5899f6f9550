"""search indexes (PostgreSQL)

What ``GET /v1/customers?q=`` needs to stay fast on a million customers: trigrams of
the lowercased name (substring and similarity, ``pg_trgm``), prefixes of e-mails and
phones (``text_pattern_ops``), and containment of attributes (GIN). SQLite searches
without them.

Revision ID: 4c2e9a7b1d35
Revises: 3f8b1d2a6c70
Create Date: 2026-11-30 02:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "4c2e9a7b1d35"
down_revision: str | None = "3f8b1d2a6c70"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_customer_name_trigrams": "USING gin (lower(name) gin_trgm_ops)",
    "ix_customer_email_prefix": "(email text_pattern_ops)",
    "ix_customer_phone_prefix": "(phone text_pattern_ops)",
    "ix_customer_attributes": "USING gin (attributes jsonb_path_ops)",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, definition in INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON customer {definition}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
