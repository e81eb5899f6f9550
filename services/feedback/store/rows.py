"""What every part of feedback's store shares: rows as the domain's dataclasses, locked
reads, due rows under ``SKIP LOCKED``, and writing changed rows back by id."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from typing import Any

from sqlalchemy import Select, Table, bindparam, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from services.feedback.domain.complaints import Complaint
from services.feedback.domain.invitations import Invitation
from services.feedback.domain.surveys import Response

COMPLAINT_FIELDS = tuple(f.name for f in fields(Complaint))
INVITATION_FIELDS = tuple(f.name for f in fields(Invitation))
RESPONSE_FIELDS = tuple(f.name for f in fields(Response))


def complaint_of(row: RowMapping) -> Complaint:
    """A complaint row as the domain's ``Complaint``."""
    return Complaint(**{name: row[name] for name in COMPLAINT_FIELDS})


def invitation_of(row: RowMapping) -> Invitation:
    """An invitation row as the domain's ``Invitation``."""
    return Invitation(**{name: row[name] for name in INVITATION_FIELDS})


def response_of(row: RowMapping) -> Response:
    """A response row as the domain's ``Response``."""
    return Response(**{name: row[name] for name in RESPONSE_FIELDS})


async def locked(conn: AsyncConnection, query: Select[Any]) -> Sequence[RowMapping]:
    """The rows of ``query``, locked until the unit of work ends."""
    return (await conn.execute(query.with_for_update())).mappings().all()


async def due(
    conn: AsyncConnection, query: Select[Any], table: Table, tenant: str | None
) -> Sequence[RowMapping]:
    """The due rows of ``query`` (of ``tenant`` only, when named), locked; rows another
    replica holds are skipped, not waited for."""
    if tenant is not None:
        query = query.where(table.c.tenant_id == tenant)
    return (await conn.execute(query.with_for_update(skip_locked=True))).mappings().all()


async def write_back(
    conn: AsyncConnection,
    table: Table,
    key: str,
    columns: Sequence[str],
    rows: Iterable[Mapping[str, object]],
) -> None:
    """Write ``columns`` of each row to the row of its ``key``: one statement for all."""
    params = [{f"_{name}": row[name] for name in (key, *columns)} for row in rows]
    if not params:
        return
    statement = (
        update(table)
        .where(table.c[key] == bindparam(f"_{key}"))
        .values({name: bindparam(f"_{name}") for name in columns})
    )
    await conn.execute(statement, params)
