"""Profile's owned state in SQL: customers, identities, merge candidates and merges.

Reads and writes for a whole batch at once (one statement each); nothing here
commits: the unit of work does. Customer rows are read ``FOR UPDATE`` (in key
order) so that resolving a batch and merging two customers take turns on them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, delete, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from services.profile.merging import OPEN, Decided, Identity, MergeCandidate, MergePlan, MergeRow
from services.profile.resolution import (
    Candidate,
    Contact,
    ContactKey,
    CustomerKey,
    Holder,
    Record,
    ReferenceKey,
)
from services.profile.tables import customer, customer_merge, identity, merge_candidate
from shared.db import insert_ignoring_conflicts, insert_new, insert_rows, keys_in

MAX_MERGE_HOPS = 8  # profile flattens merges, so one hop is all it ever sees
CANDIDATE_FIELDS = tuple(f.name for f in fields(MergeCandidate))
SEEN_EVERY = timedelta(hours=1)


def record_of(row: RowMapping) -> Record:
    """A customer row as the batch's ``Record``: its owner and contact details."""
    return Record(
        (row["tenant_id"], row["customer_id"]),
        row["owner_source"],
        Contact(row["name"], row["email"], row["phone"]),
        row["created_at"],
        attributes=dict(row["attributes"] or {}),
        version=row["version"],
    )


def candidate_of(row: RowMapping) -> MergeCandidate:
    """A merge_candidate row as ``MergeCandidate``."""
    found = {name: row[name] for name in CANDIDATE_FIELDS if name != "matched"}
    return MergeCandidate(**found, matched=tuple(row["matched"]))


async def references(
    conn: AsyncConnection, keys: Iterable[ReferenceKey]
) -> dict[ReferenceKey, CustomerKey]:
    """The customers these partner references name."""
    keys = set(keys)
    if not keys:
        return {}
    i = identity.c
    rows = await conn.execute(
        select(i.tenant_id, i.kind, i.value, i.customer_id).where(
            keys_in(conn, [i.tenant_id, i.kind, i.value], keys)
        )
    )
    return {(r.tenant_id, r.kind, r.value): (r.tenant_id, r.customer_id) for r in rows}


async def live_records(
    conn: AsyncConnection, keys: Iterable[CustomerKey]
) -> tuple[dict[CustomerKey, Record], dict[CustomerKey, CustomerKey]]:
    """The records of these customers, locked; a merged customer's is its survivor's.
    Returns the live records and where each merged customer went."""
    records: dict[CustomerKey, Record] = {}
    moved: dict[CustomerKey, CustomerKey] = {}
    pending = set(keys)
    for _ in range(MAX_MERGE_HOPS):
        if not pending:
            break
        for row in await _customers(conn, pending):
            key = (row["tenant_id"], row["customer_id"])
            if row["merged_into"] is None:
                records[key] = record_of(row)
            else:
                moved[key] = (row["tenant_id"], row["merged_into"])
        pending = {s for s in moved.values() if s not in records and s not in moved}
    return records, {k: _final(k, moved) for k in moved}


def _final(key: CustomerKey, moved: dict[CustomerKey, CustomerKey]) -> CustomerKey:
    for _ in range(MAX_MERGE_HOPS):
        if key not in moved:
            break
        key = moved[key]
    return key


async def _customers(conn: AsyncConnection, keys: set[CustomerKey]) -> Sequence[RowMapping]:
    c = customer.c
    query = (
        select(customer)
        .where(keys_in(conn, [c.tenant_id, c.customer_id], keys))
        .order_by(c.tenant_id, c.customer_id)
        .with_for_update()
    )
    return (await conn.execute(query)).mappings().all()


async def holders(
    conn: AsyncConnection, contacts: Iterable[ContactKey]
) -> list[tuple[ContactKey, Holder]]:
    """The customers that hold these e-mails and phones (identities never name a
    merged customer)."""
    contacts = set(contacts)
    if not contacts:
        return []
    i, c = identity.c, customer.c
    rows = await conn.execute(
        select(i.tenant_id, i.kind, i.value, i.customer_id, c.created_at)
        .join(customer, and_(c.tenant_id == i.tenant_id, c.customer_id == i.customer_id))
        .where(keys_in(conn, [i.tenant_id, i.kind, i.value], contacts))
    )
    return [
        ((r.tenant_id, r.kind, r.value), Holder((r.tenant_id, r.customer_id), r.created_at))
        for r in rows
    ]


async def insert_customers(conn: AsyncConnection, records: list[Record], now: datetime) -> None:
    if records:
        rows = [{**_contact_row(r), "created_at": now, "updated_at": now} for r in records]
        await insert_rows(conn, customer, rows)


async def update_customers(conn: AsyncConnection, records: list[Record], now: datetime) -> None:
    """Write the records' owner and details (one UPDATE over many parameter sets)."""
    if not records:
        return
    c = customer.c
    await conn.execute(
        update(customer)
        .where(c.tenant_id == bindparam("t"), c.customer_id == bindparam("c"))
        .values(
            owner_source=bindparam("o"),
            name=bindparam("n"),
            email=bindparam("e"),
            phone=bindparam("p"),
            attributes=bindparam("a", type_=customer.c.attributes.type),
            version=bindparam("v"),
            updated_at=bindparam("now"),
        ),
        [_update_params(r, now) for r in records],
    )


def _update_params(record: Record, now: datetime) -> dict[str, object]:
    (tenant_id, customer_id), contact = record.key, record.contact
    return {
        "t": tenant_id,
        "c": customer_id,
        "o": record.owner_source,
        "n": contact.name,
        "e": contact.email,
        "p": contact.phone,
        "a": record.attributes,
        "v": record.version,
        "now": now,
    }


def _contact_row(record: Record) -> dict[str, object]:
    return {
        "tenant_id": record.key[0],
        "customer_id": record.key[1],
        "owner_source": record.owner_source,
        "name": record.contact.name,
        "email": record.contact.email,
        "phone": record.contact.phone,
        "attributes": record.attributes,
        "version": record.version,
    }


async def record_identities(
    conn: AsyncConnection,
    rows: Iterable[tuple[tuple[str, str, str], CustomerKey, str | None]],
    now: datetime,
) -> None:
    """Add identities (with the source that gave each); one already held stays as it is."""
    await insert_ignoring_conflicts(
        conn,
        identity,
        [
            {
                "tenant_id": t,
                "kind": k,
                "value": v,
                "customer_id": c,
                "source": source,
                "created_at": now,
                "last_seen_at": now,
            }
            for (t, k, v), (_, c), source in rows
        ],
    )


async def seen(conn: AsyncConnection, keys: Iterable[ReferenceKey], now: datetime) -> None:
    """Note that events named these references now (at most once an hour each, so a
    busy customer's reference is not rewritten with every batch)."""
    keys = set(keys)
    if keys:
        i = identity.c
        await conn.execute(
            update(identity)
            .where(
                keys_in(conn, [i.tenant_id, i.kind, i.value], keys),
                or_(i.last_seen_at.is_(None), i.last_seen_at < now - SEEN_EVERY),
            )
            .values(last_seen_at=now)
        )


async def release_identities(
    conn: AsyncConnection, rows: Iterable[tuple[tuple[str, str, str], CustomerKey]]
) -> None:
    keys = {(t, k, v, c) for (t, k, v), (_, c) in rows}
    if keys:
        i = identity.c
        await conn.execute(
            delete(identity).where(
                keys_in(conn, [i.tenant_id, i.kind, i.value, i.customer_id], keys)
            )
        )


async def insert_candidates(
    conn: AsyncConnection, candidates: list[Candidate], now: datetime
) -> set[uuid.UUID]:
    """Open the candidates no pair has had before; returns the ids of the new ones."""
    return await insert_new(
        conn,
        merge_candidate,
        [
            {
                "candidate_id": c.candidate_id,
                "tenant_id": c.tenant_id,
                "survivor_id": c.survivor_id,
                "merged_id": c.merged_id,
                "matched": list(c.matched),
                "status": OPEN,
                "found_at": now,
            }
            for c in candidates
        ],
        returning="candidate_id",
    )


async def candidate(
    conn: AsyncConnection, tenant_id: str, candidate_id: uuid.UUID
) -> MergeCandidate | None:
    """The candidate, locked for a decision, or None (also for another tenant's)."""
    m = merge_candidate.c
    query = select(merge_candidate).where(m.tenant_id == tenant_id, m.candidate_id == candidate_id)
    row = (await conn.execute(query.with_for_update())).mappings().first()
    return candidate_of(row) if row else None


async def decide(
    conn: AsyncConnection,
    candidate_id: uuid.UUID,
    status: str,
    decided: Decided,
    merge_id: uuid.UUID | None,
) -> None:
    """Record the decision: who took it, when and why."""
    await conn.execute(
        update(merge_candidate)
        .where(merge_candidate.c.candidate_id == candidate_id)
        .values(status=status, merge_id=merge_id, **decided)
    )


async def identities_of(conn: AsyncConnection, key: CustomerKey) -> list[Identity]:
    i = identity.c
    rows = await conn.execute(
        select(i.kind, i.value).where(i.tenant_id == key[0], i.customer_id == key[1])
    )
    return [(r.kind, r.value) for r in rows]


async def merge(
    conn: AsyncConnection,
    survivor: Record,
    merged: Record,
    plan: MergePlan,
    record: MergeRow,
) -> None:
    """Apply a merge plan: identities move or go, the survivor's record takes the
    filled details, the merged customer (and any merged into it) points at the
    survivor, and the merge is recorded (``record``: its row but what moved)."""
    tenant, i, c = survivor.key[0], identity.c, customer.c
    of_merged = and_(i.tenant_id == tenant, i.customer_id == merged.key[1])
    if plan.moved:
        await conn.execute(
            update(identity)
            .where(of_merged, keys_in(conn, [i.kind, i.value], plan.moved))
            .values(customer_id=survivor.key[1])
        )
    released_rows = await _identity_rows(conn, merged.key, plan.released)
    if plan.released:
        await conn.execute(
            delete(identity).where(of_merged, keys_in(conn, [i.kind, i.value], plan.released))
        )
    now = record["decided_at"]
    if plan.filled:
        await conn.execute(
            update(customer)
            .where(c.tenant_id == tenant, c.customer_id == survivor.key[1])
            .values(updated_at=now, **plan.filled)
        )
    await conn.execute(
        update(customer)
        .where(c.tenant_id == tenant, c.customer_id == merged.key[1])
        .values(merged_into=survivor.key[1], merged_at=now, updated_at=now)
    )
    repointed = await conn.scalars(  # keep merges one hop deep
        update(customer)
        .where(c.tenant_id == tenant, c.merged_into == merged.key[1])
        .values(merged_into=survivor.key[1])
        .returning(c.customer_id)
    )
    moved = {
        **plan.record(),
        "repointed": sorted(str(r) for r in repointed),
        "released_rows": released_rows,
    }
    await conn.execute(customer_merge.insert(), [{**record, "moved": moved}])


async def _identity_rows(
    conn: AsyncConnection, key: CustomerKey, which: list[Identity]
) -> list[dict[str, object]]:
    """These identities of a customer as the merge record keeps them (JSON), so that
    an undo gives them back with their first and last seen."""
    if not which:
        return []
    i = identity.c
    rows = await conn.execute(
        select(i.kind, i.value, i.source, i.created_at, i.last_seen_at).where(
            i.tenant_id == key[0],
            i.customer_id == key[1],
            keys_in(conn, [i.kind, i.value], which),
        )
    )
    return [
        {
            "kind": r.kind,
            "value": r.value,
            "source": r.source,
            "created_at": r.created_at.isoformat(),
            "last_seen_at": r.last_seen_at.isoformat() if r.last_seen_at else None,
        }
        for r in rows
    ]
