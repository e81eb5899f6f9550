"""customer imports

An import of customers is a job of the gateway's: the file is kept until its last row is
registered, and the job's progress (the resume point) with it.

Revision ID: c4e8a1f6b3d2
Revises: a7c3e5f9d2b6
Create Date: 2026-11-30 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "c4e8a1f6b3d2"
down_revision: str | None = "a7c3e5f9d2b6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    moment = shared.db.UTCDateTime(timezone=True)
    op.create_table(
        "import_job",
        sa.Column("import_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=True),
        sa.Column("event_types", sa.JSON(), nullable=True),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("default_source", sa.String(length=64), nullable=True),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("rejections", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("failure", sa.String(length=500), nullable=True),
        sa.Column("claimed_until", moment, nullable=True),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("updated_at", moment, nullable=False),
        sa.Column("finished_at", moment, nullable=True),
        sa.PrimaryKeyConstraint("import_id"),
        comment="Import jobs: a file's rows registered as customers, chunk by chunk, resumable.",
    )
    op.create_index(
        "ix_import_job_content",
        "import_job",
        ["tenant_id", "partner", "content_sha256"],
        unique=True,
    )
    op.create_index("ix_import_job_state", "import_job", ["state", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_import_job_state", table_name="import_job")
    op.drop_index("ix_import_job_content", table_name="import_job")
    op.drop_table("import_job")
