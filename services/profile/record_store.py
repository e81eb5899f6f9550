"""Profile's owned state around a customer's record, in SQL: the tenants' attribute
schemas, the record itself as the API edits it, its identities, and consent.

Like ``store``: set-based where a batch is involved; flushes, never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from services.profile.attributes import AttributeType, Definition
from services.profile.consent import Decision, State
from services.profile.guardrails import DEFAULT, Guardrails
from services.profile.resolution import CustomerKey, Record
from services.profile.tables import (
    attribute_definition,
    consent,
    consent_change,
    customer,
    identity,
    identity_guardrail,
)
from shared.db import insert_rows, keys_in, upsert

Schemas = dict[str, dict[str, Definition]]


def _definition(row: RowMapping) -> Definition:
    return Definition(
        row["name"], cast(AttributeType, row["type"]), row["description"], row["personal_data"]
    )


async def schemas(conn: AsyncConnection, tenants: Iterable[str]) -> Schemas:
    """Each tenant's declared attributes (removed ones left out)."""
    found: Schemas = {t: {} for t in set(tenants)}
    if not found:
        return found
    a = attribute_definition.c
    rows = await conn.execute(
        select(attribute_definition).where(a.tenant_id.in_(found), a.removed_at.is_(None))
    )
    for row in rows.mappings():
        found[row["tenant_id"]][row["name"]] = _definition(row)
    return found


async def known_types(conn: AsyncConnection, tenant_id: str) -> dict[str, AttributeType]:
    """Every name the tenant ever declared, removed ones included, with its type."""
    a = attribute_definition.c
    rows = await conn.execute(select(a.name, a.type).where(a.tenant_id == tenant_id))
    return {r.name: cast(AttributeType, r.type) for r in rows}


async def replace_schema(
    conn: AsyncConnection, tenant_id: str, definitions: Sequence[Definition], now: datetime
) -> None:
    """Declare exactly these attributes: the others are marked removed."""
    a = attribute_definition.c
    await conn.execute(
        update(attribute_definition)
        .where(a.tenant_id == tenant_id, a.removed_at.is_(None))
        .where(a.name.not_in([d.name for d in definitions]))
        .values(removed_at=now, updated_at=now)
    )
    rows = [
        {
            "tenant_id": tenant_id,
            "name": d.name,
            "type": d.type,
            "description": d.description,
            "personal_data": d.personal_data,
            "removed_at": None,
            "created_at": now,
            "updated_at": now,
        }
        for d in definitions
    ]
    update_columns = ["type", "description", "personal_data", "removed_at", "updated_at"]
    await upsert(conn, attribute_definition, rows, ("tenant_id", "name"), update_columns)


async def identities(conn: AsyncConnection, key: CustomerKey) -> Sequence[RowMapping]:
    """The customer's identities, references first, each with its source and times."""
    i = identity.c
    query = (
        select(i.kind, i.value, i.source, i.created_at, i.last_seen_at)
        .where(i.tenant_id == key[0], i.customer_id == key[1])
        .order_by(i.kind, i.value)
    )
    return (await conn.execute(query)).mappings().all()


async def holders_of(
    conn: AsyncConnection, tenant_id: str, kind: str, value: str
) -> list[uuid.UUID]:
    """The customers holding this identity, oldest first (several may share an e-mail
    or phone; identities never name a merged customer)."""
    i, c = identity.c, customer.c
    rows = await conn.execute(
        select(i.customer_id)
        .join(customer, (c.tenant_id == i.tenant_id) & (c.customer_id == i.customer_id))
        .where(i.tenant_id == tenant_id, i.kind == kind, i.value == value)
        .order_by(c.created_at, c.customer_id)
        .limit(50)
    )
    return list(rows.scalars())


async def consent_states(conn: AsyncConnection, keys: Iterable[CustomerKey]) -> list[State]:
    """The current consent of these customers, every channel and purpose they decided."""
    keys = set(keys)
    if not keys:
        return []
    c = consent.c
    rows = await conn.execute(
        select(consent).where(keys_in(conn, [c.tenant_id, c.customer_id], keys))
    )
    return [State(**row) for row in rows.mappings()]


async def record_consent(
    conn: AsyncConnection, decisions: Sequence[tuple[Decision, bool]], now: datetime
) -> None:
    """Append every decision to the history (with whether it applied), and make the
    applied ones the current state."""
    await insert_rows(
        conn,
        consent_change,
        [{**d.row(), "applied": applied, "recorded_at": now} for d, applied in decisions],
    )
    current = {d.slot: d.state() for d, applied in decisions if applied}
    await upsert(
        conn,
        consent,
        [s.row() for s in current.values()],
        ("tenant_id", "customer_id", "channel", "purpose"),
    )


async def consent_history(
    conn: AsyncConnection, key: CustomerKey, limit: int, before: tuple[datetime, uuid.UUID] | None
) -> Sequence[RowMapping]:
    """The customer's consent decisions, newest first, a page at a time."""
    h = consent_change.c
    query = select(consent_change).where(h.tenant_id == key[0], h.customer_id == key[1])
    if before:
        at, change_id = before
        query = query.where((h.at < at) | ((h.at == at) & (h.change_id < change_id)))
    query = query.order_by(h.at.desc(), h.change_id.desc()).limit(limit + 1)
    return (await conn.execute(query)).mappings().all()


def record_row(record: Record) -> dict[str, Any]:
    """What the API shows of a record (its contact details and raw attributes)."""
    return {
        "name": record.contact.name,
        "email": record.contact.email,
        "phone": record.contact.phone,
        "attributes": record.attributes,
    }


async def guardrails(conn: AsyncConnection, tenants: Iterable[str]) -> dict[str, Guardrails]:
    """Each tenant's guardrails (the defaults for a tenant that set none)."""
    found = {t: DEFAULT for t in set(tenants)}
    if found:
        g = identity_guardrail.c
        rows = await conn.execute(select(identity_guardrail).where(g.tenant_id.in_(found)))
        for row in rows.mappings():
            found[row["tenant_id"]] = Guardrails(
                tuple(row["blocked_emails"]),
                tuple(row["blocked_phones"]),
                row["max_identities"],
                row["on_match"],
            )
    return found


async def put_guardrails(
    conn: AsyncConnection, tenant_id: str, rails: Guardrails, now: datetime
) -> None:
    row = {
        "tenant_id": tenant_id,
        "blocked_emails": list(rails.blocked_emails),
        "blocked_phones": list(rails.blocked_phones),
        "max_identities": rails.max_identities,
        "on_match": rails.on_match,
        "updated_at": now,
    }
    await upsert(conn, identity_guardrail, [row], ("tenant_id",))


async def reference_counts(
    conn: AsyncConnection, keys: Iterable[CustomerKey]
) -> dict[CustomerKey, int]:
    """How many partner references each of these customers has."""
    keys = set(keys)
    if not keys:
        return {}
    i = identity.c
    rows = await conn.execute(
        select(i.tenant_id, i.customer_id, func.count())
        .where(keys_in(conn, [i.tenant_id, i.customer_id], keys), i.kind.like("ref:%"))
        .group_by(i.tenant_id, i.customer_id)
    )
    return {(t, c): n for t, c, n in rows}


async def remove_identity(
    conn: AsyncConnection, key: tuple[str, str, str], holder: CustomerKey
) -> bool:
    """Delete the identity if this customer holds it; says whether it did."""
    i = identity.c
    removed = await conn.execute(
        delete(identity).where(
            i.tenant_id == key[0], i.kind == key[1], i.value == key[2], i.customer_id == holder[1]
        )
    )
    return bool(removed.rowcount)
