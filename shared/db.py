"""Async database helpers that behave the same on PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Integer,
    Table,
    bindparam,
    event,
    func,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.types import TypeDecorator

from shared import bulk

if TYPE_CHECKING:
    from shared.settings import ServiceSettings

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the backend keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: every instant must carry its timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


SQLITE_BUSY_SECONDS = 30.0


def create_engine(
    url: str,
    *,
    sqlite_busy_seconds: float = SQLITE_BUSY_SECONDS,
    pool_size: int = 10,
    max_overflow: int = 10,
) -> AsyncEngine:
    """An engine tuned for its backend; create it in a lifespan, never at import.

    SQL parameters are never rendered into errors or logs (``hide_parameters``): they
    hold names, e-mails and complaint texts. ``pool_size`` and ``max_overflow`` size the
    PostgreSQL pool (``CRM_DB_POOL_SIZE``, ``CRM_DB_MAX_OVERFLOW``): replicas times
    services times both must stay under the server's ``max_connections``.
    """
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url, connect_args={"timeout": sqlite_busy_seconds}, hide_parameters=True
        )
        event.listen(engine.sync_engine, "connect", _sqlite_connected)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        hide_parameters=True,
    )


def engine_for(settings: ServiceSettings) -> AsyncEngine:
    """The engine of a service's own database, its pool sized by the settings."""
    return create_engine(
        settings.db_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
    )


def _sqlite_connected(dbapi_connection: Any, _record: Any) -> None:
    """Take transaction control from the driver (SQLAlchemy's documented recipe for
    pysqlite and aiosqlite): left alone, the driver sends ``BEGIN`` only before the first
    write, so the reads a transaction makes before it (a balance, an idempotency record)
    run outside it and can be stale by the time it writes."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    """Every transaction takes SQLite's write lock when it begins, as ``SELECT … FOR
    UPDATE`` would on PostgreSQL: transactions of one database run one after another
    (waiting up to the busy timeout, then failing with "database is locked", which the
    routes answer with 503), and none can read a balance another is about to change."""
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def is_postgres(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"


def keys_in(
    conn: AsyncConnection, columns: Sequence[ColumnElement[Any]], keys: Iterable[Sequence[Any]]
) -> ColumnElement[bool]:
    """``(a, b, …) IN`` the given keys, in a form PostgreSQL plans well at any size.

    A literal list of row values — ``(a, b) IN ((…), (…), …)`` — is a new statement for
    every number of keys (parsed and planned anew, never a prepared statement reused)
    and, with hundreds of keys, a plan the database spends a quarter of a second on.
    On PostgreSQL the keys travel instead as one array per column, unnested into rows:
    one statement text whatever their number, joined on the index. SQLite keeps the
    literal list."""
    keys = list(keys)
    if not is_postgres(conn):
        return tuple_(*columns).in_(keys)
    arrays = [
        func.unnest(bindparam(None, [k[i] for k in keys], type_=ARRAY(column.type)))
        for i, column in enumerate(columns)
    ]
    return tuple_(*columns).in_(select(*arrays))


def insert_for(conn: AsyncConnection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """The dialect's INSERT, which knows ``ON CONFLICT`` (both dialects spell it alike)."""
    return postgresql.insert(table) if is_postgres(conn) else sqlite.insert(table)


async def insert_rows(
    conn: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert many rows (all with the same keys) in one statement."""
    if not rows:
        return
    if is_postgres(conn):
        await bulk.insert(conn, table, rows)
    else:
        await conn.execute(table.insert(), list(rows))


async def insert_ignoring_conflicts(
    conn: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert many rows in one statement; rows that already exist are left alone."""
    if not rows:
        return
    if is_postgres(conn):
        await bulk.insert(conn, table, rows, conflict="ON CONFLICT DO NOTHING")
    else:
        await conn.execute(insert_for(conn, table).on_conflict_do_nothing(), list(rows))


async def insert_new(
    conn: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]], returning: str
) -> set[Any]:
    """Insert many rows, skipping those that conflict; return ``returning`` of the new ones.

    One statement whatever the number of rows (``shared.bulk`` on PostgreSQL; on
    SQLite one cached statement over many parameter sets), never a literal
    multi-row VALUES, which would be compiled anew for every batch.
    """
    if not rows:
        return set()
    if is_postgres(conn):
        conflict = "ON CONFLICT DO NOTHING"
        return set(await bulk.insert(conn, table, rows, conflict=conflict, returning=returning))
    statement = insert_for(conn, table).on_conflict_do_nothing().returning(table.c[returning])
    return set((await conn.execute(statement, list(rows))).scalars())


async def upsert(
    conn: AsyncConnection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    key: Sequence[str],
    update: Sequence[str] | None = None,
) -> None:
    """Insert many rows, or overwrite the ``update`` columns (default: all but the
    key) of the ones that exist. Rows must have distinct keys."""
    if not rows:
        return
    columns = update or [c for c in rows[0] if c not in key]
    if is_postgres(conn):
        await bulk.insert(conn, table, rows, conflict=bulk.on_conflict_update(key, columns))
        return
    statement = insert_for(conn, table)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=list(key), set_={c: statement.excluded[c] for c in columns}
        ),
        list(rows),
    )
