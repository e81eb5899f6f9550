"""Finding customers: text over name, e-mail and phone, filters on stage, tier,
attributes and segment, a page at a time by customer id. Builds one query on profile's own tables
(the record and the 360), so it answers the same on PostgreSQL and SQLite.

On PostgreSQL the text is served by indexes (``4c2e9a7b1d35``): trigrams on the
lowercased name (a prefix of any word, a substring, or a name within a typo or two by
trigram similarity) and ``text_pattern_ops`` on e-mail and phone (prefixes); an
attribute filter is a JSONB containment served by a GIN index. SQLite has no trigram
similarity: there a name matches by a prefix of any word or a substring.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Select, and_, cast, func, literal, literal_column, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from services.profile.attributes import Schema
from services.profile.tables import customer, customer_view, segment_member


class UnknownFilter(ValueError):
    """An attribute filter on an undeclared name, or a value its type cannot hold."""


@dataclass(frozen=True)
class Search:
    tenant_id: str
    text: str | None = None
    stage: str | None = None
    tier: str | None = None
    attributes: tuple[tuple[str, Any], ...] = ()  # (name, value typed by the schema)
    limit: int = 50
    after: uuid.UUID | None = None
    segment: uuid.UUID | None = None  # only its members


def typed_filters(schema: Schema, filters: Sequence[str]) -> tuple[tuple[str, Any], ...]:
    """``name=value`` texts as (name, value) of the attribute's type (raises
    ``UnknownFilter``)."""
    typed = []
    for text in filters:
        name, _, raw = text.partition("=")
        definition = schema.get(name)
        if definition is None:
            raise UnknownFilter(f"{name} is not a declared attribute")
        value: Any = raw
        if definition.type == "number":
            try:
                value = float(raw) if any(c in raw for c in ".eE") else int(raw)
            except ValueError:
                raise UnknownFilter(f"{name} is a number; {raw!r} is not") from None
        elif definition.type == "boolean":
            if raw not in ("true", "false"):
                raise UnknownFilter(f"{name} is true or false")
            value = raw == "true"
        typed.append((name, [value] if definition.type == "list" else value))
    return tuple(typed)


def _text(search: Search, postgres: bool) -> ColumnElement[bool]:
    text = (search.text or "").strip().lower()
    pattern = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    name = func.lower(customer.c.name)
    matches: list[ColumnElement[bool]] = [
        name.like(f"%{pattern}%", escape="\\"),  # a prefix of any word, or inside one
        customer.c.email.like(f"{pattern}%", escape="\\"),
        customer.c.phone.like(f"{pattern}%", escape="\\"),
    ]
    if postgres:
        matches.append(name.op("%")(text))  # trigram similarity, served by the index
    return or_(*matches)


def _attribute(name: str, value: Any, postgres: bool) -> ColumnElement[bool]:
    if postgres:
        return customer.c.attributes.op("@>")(cast(literal({name: value}, JSON), JSONB))
    path = f'$."{name}"'
    if isinstance(value, list):
        each = select(literal(1)).select_from(func.json_each(customer.c.attributes, path))
        return each.where(literal_column("value") == value[0]).exists()
    return func.json_extract(customer.c.attributes, path) == value


def query(search: Search, postgres: bool) -> Select[Any]:
    c, v = customer.c, customer_view.c
    joined = customer.outerjoin(
        customer_view, and_(v.tenant_id == c.tenant_id, v.customer_id == c.customer_id)
    )
    found = (
        select(c.customer_id, c.name, c.email, c.phone, c.attributes, v.stage, v.tier)
        .select_from(joined)
        .where(c.tenant_id == search.tenant_id, c.merged_into.is_(None))
    )
    if search.text:
        found = found.where(_text(search, postgres))
    if search.stage:
        found = found.where(v.stage == search.stage)
    if search.tier:
        found = found.where(v.tier == search.tier)
    for name, value in search.attributes:
        found = found.where(_attribute(name, value, postgres))
    if search.segment:
        m = segment_member.c
        member = select(m.customer_id).where(
            m.segment_id == search.segment, m.customer_id == c.customer_id
        )
        found = found.where(member.exists())
    if search.after:
        found = found.where(c.customer_id > search.after)
    return found.order_by(c.customer_id).limit(search.limit + 1)


async def run(engine: AsyncEngine, search: Search) -> Sequence[RowMapping]:
    async with engine.connect() as conn:
        postgres = conn.dialect.name == "postgresql"
        return (await conn.execute(query(search, postgres))).mappings().all()
