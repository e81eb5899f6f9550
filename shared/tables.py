"""The kernel's own tables, which every service database has (the outbox and the inbox),
and the statements that make a table append-only."""

from __future__ import annotations

from sqlalchemy import DDL, Column, Index, LargeBinary, MetaData, String, Table, Uuid

from shared.db import BigIntId, UTCDateTime


def kernel_tables(metadata: MetaData) -> tuple[Table, Table]:
    """Add ``outbox`` and ``inbox`` to a service's metadata and return them."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigIntId, primary_key=True, autoincrement=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("topic", String(100), nullable=False),
        Column("key", String(200), nullable=False),
        Column("value", LargeBinary, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        comment="Events written with the state change that caused them; the relay sends them.",
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", Uuid, primary_key=True),
        Column("processed_at", UTCDateTime, nullable=False),
        comment="Events a consumer has applied: a redelivered one is dropped by the primary key.",
    )
    Index("ix_inbox_processed_at", inbox.c.processed_at)
    return outbox, inbox


def append_only_statements(table: str, dialect: str) -> list[str]:
    """The trigger that makes the database itself refuse UPDATE and DELETE (and, on
    PostgreSQL, TRUNCATE) on ``table``: a record no code path and no hand at a SQL
    prompt can rewrite without dropping the trigger first, which the owner alone may."""
    refused = f"{table} is append-only: rows are never updated or deleted"
    if dialect == "postgresql":
        function = f"{table}_refuse_change"
        return [
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{refused}'; END $$",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        ]
    return [
        f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{refused}'); END"
        for verb in ("UPDATE", "DELETE")
    ]


def append_only_ddl(table: str) -> list[DDL]:
    """``append_only_statements`` as DDL run after the table is created from metadata."""
    return [
        DDL(statement).execute_if(dialect=dialect)
        for dialect in ("postgresql", "sqlite")
        for statement in append_only_statements(table, dialect)
    ]
