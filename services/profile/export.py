"""Export of every customer of a tenant, streamed: NDJSON (one JSON object a line) or
CSV with a header (declared attributes as columns; a list attribute as JSON text).

Pages through the live customers by id, one short read per page, so an export of a
million customers holds no transaction open and no more than a page in memory; a
customer created during the export appears if its id lies ahead of the page read.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

import orjson
from sqlalchemy import and_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from services.profile.attributes import Schema, visible
from services.profile.tables import customer, customer_view

Format = Literal["ndjson", "csv"]
MEDIA_TYPES: dict[str, str] = {"ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}
PAGE = 1_000
COLUMNS = ("customer_id", "name", "email", "phone", "stage", "tier", "created_at")


async def _page(
    engine: AsyncEngine, tenant_id: str, after: uuid.UUID | None
) -> Sequence[RowMapping]:
    c, v = customer.c, customer_view.c
    joined = customer.outerjoin(
        customer_view, and_(v.tenant_id == c.tenant_id, v.customer_id == c.customer_id)
    )
    query = (
        select(c.customer_id, c.name, c.email, c.phone, v.stage, v.tier, c.created_at)
        .add_columns(c.attributes)
        .select_from(joined)
        .where(c.tenant_id == tenant_id, c.merged_into.is_(None))
    )
    if after is not None:
        query = query.where(c.customer_id > after)
    async with engine.connect() as conn:
        return (await conn.execute(query.order_by(c.customer_id).limit(PAGE))).mappings().all()


def _record(row: RowMapping, schema: Schema) -> dict[str, Any]:
    found = {name: row[name] for name in COLUMNS}
    found["customer_id"] = str(row["customer_id"])
    found["created_at"] = row["created_at"].isoformat()
    found["attributes"] = visible(schema, row["attributes"] or {})
    return found


def _csv_line(values: Sequence[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(values)
    return out.getvalue()


def _cell(value: Any) -> Any:
    return orjson.dumps(value).decode() if isinstance(value, list) else value


async def lines(
    engine: AsyncEngine, tenant_id: str, schema: Schema, form: Format
) -> AsyncIterator[bytes]:
    """The export, a page of lines at a time."""
    names = sorted(schema)
    if form == "csv":
        yield _csv_line([*COLUMNS, *names]).encode()
    after: uuid.UUID | None = None
    while True:
        rows = await _page(engine, tenant_id, after)
        if not rows:
            return
        chunk = []
        for row in rows:
            record = _record(row, schema)
            if form == "ndjson":
                chunk.append(orjson.dumps(record).decode() + "\n")
            else:
                values = [record[c] for c in COLUMNS]
                values += [_cell(record["attributes"].get(n)) for n in names]
                chunk.append(_csv_line(values))
        yield "".join(chunk).encode()
        after = rows[-1]["customer_id"]
