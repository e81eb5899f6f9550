"""Set-based writes on PostgreSQL straight through asyncpg: one statement per batch.

A consumer writes a batch's rows (inbox claims, outbox events, state upserts) in
one statement, ``INSERT … SELECT * FROM unnest($1::type[], …)``: its text does not
depend on the number of rows, so asyncpg prepares it once per connection, and
nothing converts the parameters row by row in Python (in the replay benchmark
SQLAlchemy's per-row parameter processing was a tenth of every service's CPU).
The statement runs on the connection and in the transaction of the unit of work,
so it commits or rolls back with everything else. SQLite (embedded mode) keeps
SQLAlchemy's path (``shared.db``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import orjson
from sqlalchemy import JSON, Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

_PG = postgresql.dialect()


async def driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under ``conn``, inside the transaction the unit of work
    began. SQLAlchemy's asyncpg adapter sends ``BEGIN`` lazily, before its own first
    statement; a statement sent past it must begin the transaction the same way, or
    it would run on its own and commit at once."""
    fairy = await conn.get_raw_connection()
    adapter: Any = fairy.dbapi_connection
    if adapter._transaction is None and adapter.isolation_level != "autocommit":
        await adapter._start_transaction()
    return fairy.driver_connection


async def insert(
    conn: AsyncConnection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict: str = "",
    returning: str | None = None,
) -> list[Any]:
    """Insert ``rows`` (all with the same keys) in one statement, with ``conflict`` the
    ``ON CONFLICT …`` clause if any; the ``returning`` column of the inserted rows."""
    columns = tuple(rows[0])
    sql = _statement(table, columns, conflict, returning)
    arrays = [_column(table, c, [r[c] for r in rows]) for c in columns]
    apg = await driver(conn)
    if returning is None:
        await apg.execute(sql, *arrays)
        return []
    return [record[0] for record in await apg.fetch(sql, *arrays)]


def on_conflict_update(key: Sequence[str], columns: Sequence[str]) -> str:
    """``ON CONFLICT (key) DO UPDATE SET column = EXCLUDED.column, …``."""
    assignments = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in columns)
    return f"ON CONFLICT ({', '.join(_quoted(key))}) DO UPDATE SET {assignments}"


@cache
def _statement(table: Table, columns: tuple[str, ...], conflict: str, returning: str | None) -> str:
    types = ", ".join(f"${i}::{_type(table, c)}[]" for i, c in enumerate(columns, 1))
    sql = (
        f'INSERT INTO "{table.name}" ({", ".join(_quoted(columns))}) '
        f"SELECT * FROM unnest({types}) {conflict}"
    )
    return sql + (f' RETURNING "{returning}"' if returning else "")


@cache
def _type(table: Table, column: str) -> str:
    return str(table.c[column].type.compile(dialect=_PG))


def _column(table: Table, column: str, values: list[Any]) -> list[Any]:
    """A column's values as asyncpg sends them: JSON as its text, the rest as they are
    (UUIDs, aware datetimes, bytes, numbers and texts map to PostgreSQL's types)."""
    if isinstance(table.c[column].type, JSON):
        return [None if v is None else orjson.dumps(v).decode() for v in values]
    return values


def _quoted(names: Sequence[str]) -> list[str]:
    return [f'"{n}"' for n in names]
