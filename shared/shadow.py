"""A scratch copy of a service's database: the same schema, none of its rows, dropped
after use.

A rule change tried on history (``services.replaying``) folds the service's events
into a shadow database, never into the live one: a scratch database
``<db>_shadow_<id>`` on the same PostgreSQL server (the service's role needs
``CREATEDB``), or a scratch file beside the live SQLite file, migrated by the
service's own Alembic revisions, so what is folded there is folded into exactly the
tables the service has.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import create_engine
from shared.migrations import migrate


def shadow_url(live: str, label: str) -> URL:
    """Where the shadow of the database at ``live`` goes (``label``: a few safe
    characters naming this use of it)."""
    url = make_url(live)
    name = url.database or ""
    if url.get_backend_name() == "sqlite":
        if name in ("", ":memory:"):
            raise ValueError("an in-memory SQLite database has no place for a shadow")
        return url.set(database=f"{name}.shadow-{label}")
    return url.set(database=f"{name}_shadow_{label}"[:63])  # PostgreSQL's name limit


@contextlib.asynccontextmanager
async def shadow_database(live: AsyncEngine, service: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a fresh database of ``service``'s schema beside ``live``'s,
    dropped when the block ends (whatever happened in it)."""
    url = shadow_url(live.url.render_as_string(hide_password=False), uuid.uuid4().hex[:12])
    await _create(live, url)
    engine = create_engine(url.render_as_string(hide_password=False))
    try:
        await migrate(engine, service)
        yield engine
    finally:
        await engine.dispose()
        await _drop(live, url)


async def _create(live: AsyncEngine, url: URL) -> None:
    if url.get_backend_name() == "sqlite":
        return  # SQLite makes the file on first connection
    async with live.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'CREATE DATABASE "{url.database}"'))


async def _drop(live: AsyncEngine, url: URL) -> None:
    if url.get_backend_name() == "sqlite":
        await asyncio.to_thread(_remove, str(url.database))
        return
    async with live.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))


def _remove(path: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
