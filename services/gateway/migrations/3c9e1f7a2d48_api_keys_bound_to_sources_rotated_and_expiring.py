"""api keys bound to sources and event types, rotated, expiring, and the bootstrap marked

Revision ID: 3c9e1f7a2d48
Revises: b5567459db54
Create Date: 2026-11-23 10:00:00.000000

Existing keys may post for their own partner's source only (``sources = [partner]``),
the narrowest reading of what they did so far; the bootstrap key (its id is derived from
its hash) is marked and gets the ``operator`` scope that alone crosses tenants.
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "3c9e1f7a2d48"
down_revision: str | None = "b5567459db54"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_api_key = sa.table(
    "api_key",
    sa.column("key_id", sa.Uuid()),
    sa.column("partner", sa.String()),
    sa.column("scopes", sa.JSON()),
    sa.column("key_hash", sa.String()),
    sa.column("sources", sa.JSON()),
    sa.column("bootstrap", sa.Boolean()),
)


def upgrade() -> None:
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "sources",
                sa.JSON(),
                nullable=True,
                comment="the customer.source values it may post for (any, with the operator scope)",
            )
        )
        batch_op.add_column(
            sa.Column(
                "event_types",
                sa.JSON(),
                nullable=True,
                comment="the partner event types it may post; null: all",
            )
        )
        batch_op.add_column(
            sa.Column(
                "expires_at",
                shared.db.UTCDateTime(timezone=True),
                nullable=True,
                comment="refused from this instant on; null: never",
            )
        )
        batch_op.add_column(
            sa.Column(
                "last_used_at",
                shared.db.UTCDateTime(timezone=True),
                nullable=True,
                comment="at most a minute stale, per gateway process",
            )
        )
        batch_op.add_column(
            sa.Column(
                "bootstrap",
                sa.Boolean(),
                server_default=sa.false(),
                nullable=False,
                comment="the operator's key from CRM_BOOTSTRAP_API_KEY",
            )
        )
        batch_op.add_column(
            sa.Column(
                "generation",
                sa.Integer(),
                server_default="0",
                nullable=False,
                comment="rotations so far; derives the signing secret of this generation",
            )
        )
        batch_op.add_column(
            sa.Column("rotated_at", shared.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "previous_key_hash",
                sa.String(length=64),
                nullable=True,
                comment="the key before the last rotation, accepted until previous_valid_until",
            )
        )
        batch_op.add_column(
            sa.Column("previous_valid_until", shared.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_api_key_previous_key_hash", ["previous_key_hash"], unique=True)

    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_api_key.c.key_id, _api_key.c.partner, _api_key.c.scopes, _api_key.c.key_hash)
    ).all()
    for row in rows:
        bootstrap = row.key_id == uuid.uuid5(uuid.NAMESPACE_OID, row.key_hash)
        scopes = sorted(set(row.scopes) | {"operator"}) if bootstrap else row.scopes
        connection.execute(
            _api_key.update()
            .where(_api_key.c.key_id == row.key_id)
            .values(sources=[row.partner], bootstrap=bootstrap, scopes=scopes)
        )

    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.alter_column("sources", existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_index("ix_api_key_previous_key_hash")
        for column in (
            "previous_valid_until",
            "previous_key_hash",
            "rotated_at",
            "generation",
            "bootstrap",
            "last_used_at",
            "expires_at",
            "event_types",
            "sources",
        ):
            batch_op.drop_column(column)
