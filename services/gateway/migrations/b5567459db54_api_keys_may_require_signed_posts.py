"""api keys may require signed posts

Revision ID: b5567459db54
Revises: 07f4d8cfea71
Create Date: 2026-11-22 21:03:46.677039
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b5567459db54"
down_revision: str | None = "07f4d8cfea71"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "signed",
                sa.Boolean(),
                server_default=sa.false(),
                nullable=False,
                comment="whether its posts must carry an HMAC signature",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_column("signed")
