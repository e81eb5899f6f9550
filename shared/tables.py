"""The kernel's own tables, which every service database has: the outbox and the inbox."""

from __future__ import annotations

from sqlalchemy import Column, Index, LargeBinary, MetaData, String, Table, Uuid

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
