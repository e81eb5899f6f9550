"""identities by source, merge candidates and merges

A partner reference stays the one automatic key (unique); an e-mail or a phone
no longer links customers, so several customers may share one until an operator
merges them: the identity key becomes (tenant, kind, value, customer). Existing
data is brought to the new rules: each customer's owning source is the source of
its first reference, and the e-mail and phone identities are rebuilt from the
customer records, so the two agree (the old rows could lag behind a record that a
later event had changed).

Revision ID: 1c42827c8d78
Revises: 17bfca11a9b2
Create Date: 2026-11-29 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "1c42827c8d78"
down_revision: str | None = "17bfca11a9b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFERENCE = sa.text("kind LIKE 'ref:%'")
IDENTITY_COLUMNS = "tenant_id, kind, value, customer_id, created_at"


def upgrade() -> None:
    _customer_ownership_and_merges()
    _identity_keyed_by_customer()
    _merge_tables()
    with op.batch_alter_table("customer_view", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "merged_into",
                sa.Uuid(),
                nullable=True,
                comment="Folded from customers_merged: always the final survivor",
            )
        )
        batch_op.create_index(
            "ix_customer_view_merged_into", ["tenant_id", "merged_into"], unique=False
        )


def _customer_ownership_and_merges() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "owner_source",
                sa.String(length=64),
                nullable=True,
                comment="The source whose events set name, e-mail and phone "
                "(its first reference's)",
            )
        )
        batch_op.add_column(
            sa.Column(
                "merged_into",
                sa.Uuid(),
                nullable=True,
                comment="The survivor, once an operator merged this customer",
            )
        )
        batch_op.add_column(
            sa.Column("merged_at", shared.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_customer_merged_into", ["tenant_id", "merged_into"])
    op.execute(
        "UPDATE customer SET owner_source = ("
        " SELECT substr(i.kind, 5) FROM identity i"
        " WHERE i.tenant_id = customer.tenant_id AND i.customer_id = customer.customer_id"
        " AND i.kind LIKE 'ref:%' ORDER BY i.created_at, i.kind LIMIT 1)"
    )


def _identity_keyed_by_customer() -> None:
    """A new table under the old name (a primary key cannot be changed in place on
    SQLite); references are copied, e-mails and phones taken from the records."""
    _create_identity("identity_next")
    op.execute(
        f"INSERT INTO identity_next ({IDENTITY_COLUMNS}) "
        f"SELECT {IDENTITY_COLUMNS} FROM identity WHERE kind LIKE 'ref:%'"
    )
    for kind, column in (("email", "lower(email)"), ("phone", "phone")):
        op.execute(
            f"INSERT INTO identity_next ({IDENTITY_COLUMNS}) "
            f"SELECT tenant_id, '{kind}', {column}, customer_id, created_at FROM customer "
            f"WHERE {kind} IS NOT NULL"
        )
    op.drop_table("identity")  # and its indexes
    op.rename_table("identity_next", "identity")
    op.create_index("ix_identity_customer_id", "identity", ["customer_id"])
    op.create_index(
        "uq_identity_reference",
        "identity",
        ["tenant_id", "kind", "value"],
        unique=True,
        postgresql_where=REFERENCE,
        sqlite_where=REFERENCE,
    )


def _create_identity(name: str, *, with_customer_in_key: bool = True) -> None:
    key = ["tenant_id", "kind", "value"] + (["customer_id"] if with_customer_in_key else [])
    op.create_table(
        name,
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.String(length=80),
            nullable=False,
            comment="'ref:<source>', 'email' or 'phone'",
        ),
        sa.Column("value", sa.String(length=254), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(*key),
        comment="What names a customer: partner references (unique), and the e-mail and "
        "phone of the customer's record (always equal to them).",
    )


def _merge_tables() -> None:
    op.create_table(
        "merge_candidate",
        sa.Column(
            "candidate_id", sa.Uuid(), nullable=False, comment="Derived from the pair: one per pair"
        ),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("survivor_id", sa.Uuid(), nullable=False, comment="The older customer"),
        sa.Column("merged_id", sa.Uuid(), nullable=False, comment="The newer customer"),
        sa.Column("matched", sa.JSON(), nullable=False, comment="['email'], ['phone'] or both"),
        sa.Column(
            "status", sa.String(length=16), nullable=False, comment="open, confirmed or dismissed"
        ),
        sa.Column("found_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("merge_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("candidate_id"),
        comment="Customers that share an e-mail or phone, for an operator to merge or keep apart.",
    )
    op.create_index(
        "ix_merge_candidate_page",
        "merge_candidate",
        ["tenant_id", "status", "found_at", "candidate_id"],
    )
    op.create_index(
        "ix_merge_candidate_found", "merge_candidate", ["tenant_id", "found_at", "candidate_id"]
    )
    op.create_table(
        "customer_merge",
        sa.Column("merge_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("survivor_id", sa.Uuid(), nullable=False),
        sa.Column("merged_id", sa.Uuid(), nullable=False),
        sa.Column("candidate_id", sa.Uuid(), nullable=True),
        sa.Column("decided_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column(
            "moved", sa.JSON(), nullable=False, comment="Identities moved, released, details filled"
        ),
        sa.PrimaryKeyConstraint("merge_id"),
        comment="Every merge: who decided, when, why, and what moved (so it can be undone).",
    )
    op.create_index("ix_customer_merge_survivor", "customer_merge", ["tenant_id", "survivor_id"])


def downgrade() -> None:
    """Back to one customer per identity: where several share an e-mail or phone, one
    keeps it. Merges stay applied (the merged customers' references are the survivors')."""
    with op.batch_alter_table("customer_view", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_view_merged_into")
        batch_op.drop_column("merged_into")
    op.drop_table("customer_merge")
    op.drop_table("merge_candidate")
    _create_identity("identity_previous", with_customer_in_key=False)
    op.execute(
        f"INSERT INTO identity_previous ({IDENTITY_COLUMNS}) "
        f"SELECT {IDENTITY_COLUMNS} FROM identity WHERE true ON CONFLICT DO NOTHING"
    )
    op.drop_table("identity")
    op.rename_table("identity_previous", "identity")
    op.create_index("ix_identity_customer_id", "identity", ["customer_id"])
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_merged_into")
        batch_op.drop_column("merged_at")
        batch_op.drop_column("merged_into")
        batch_op.drop_column("owner_source")
