"""Subject keys: one AES-256 key per data subject, kept here beside the identities that
erasure deletes, so that erasure destroys it in the same unit of work (``privacy``).

The gateway seals the personal fields of what partners post before the customer is
known, so a subject is named by what the gateway knows: (tenant, partner source,
external reference). The gateway asks for a batch's keys in one internal call
(``POST /internal/subject-keys``) and caches them; profile opens what it consumes with
one read of its own table per batch. A reference seen again after its customer was
erased gets a new key: what was sealed under the old one stays unreadable. Profile's
own events about a customer (personal attributes, consent proofs, on crm.profile) are
sealed under a key of the customer (source ``crm:record``), destroyed with the others.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.profile.tables import customer, identity, subject_key
from shared import topics
from shared.contracts.privacy import (
    CustomerKeysWanted,
    KeysWanted,
    SubjectKeyGiven,
    SubjectKeys,
    SubjectKeysWanted,
)
from shared.db import insert_ignoring_conflicts, keys_in
from shared.events import REGISTRY, CloudEvent
from shared.events.payload import Payload
from shared.events.profile import CustomerRecordUpdated
from shared.runtime import Runtime, TenantDep, get_runtime
from shared.sealing import (
    Personal,
    SubjectKey,
    kids_of,
    new_secret,
    open_with,
    personal_fields,
    seal_payload,
)
from shared.settings import ServiceSettings
from shared.subscription import Received

Reference = tuple[str, str]  # (source, external_id)
# The source of the key profile seals a customer's own record updates with (on
# crm.profile): a partner's source name cannot hold a colon, so it never collides.
RECORD = "crm:record"
# What the 360's consumer opens (``open_records``): profile's record updates, and the
# activities re-published on crm.activity as sealed as the gateway made them.
OPENED: tuple[type[Payload], ...] = (CustomerRecordUpdated, *REGISTRY.payloads_on(topics.ACTIVITY))
RuntimeDep = Annotated[Runtime[ServiceSettings, None], Depends(get_runtime)]
router = APIRouter(tags=["internal"], include_in_schema=False)


async def for_references(
    conn: AsyncConnection, tenant_id: str, references: Collection[Reference], now: datetime
) -> dict[Reference, SubjectKey]:
    """The key of each reference, made on first use (a concurrent maker's key wins): a
    read for the batch, and an insert and a read only for references never seen."""
    found = await _read(conn, tenant_id, set(references))
    new = sorted(set(references) - found.keys())
    if new:
        rows = [
            {
                "kid": uuid.uuid4(),
                "tenant_id": tenant_id,
                "source": source,
                "external_id": external_id,
                "secret": new_secret(),
                "created_at": now,
            }
            for source, external_id in new
        ]
        await insert_ignoring_conflicts(conn, subject_key, rows)
        found |= await _read(conn, tenant_id, set(new))
    return found


async def for_customers(
    conn: AsyncConnection, tenant_id: str, customer_ids: Collection[uuid.UUID], now: datetime
) -> dict[Reference, SubjectKey]:
    """The keys (source ``RECORD``) of those of ``customer_ids`` that exist here, made on
    first use; none for an erased or unknown one. Their rows are read ``FOR SHARE`` in the
    caller's unit of work, and an erasure locks them ``FOR UPDATE`` before it destroys
    keys (``privacy._person``): either the erasure waits for this key and destroys it,
    or this waits for the erasure and finds the customer gone. No key outlives it."""
    c = customer.c
    found = await conn.scalars(
        select(c.customer_id)
        .where(c.tenant_id == tenant_id, c.customer_id.in_(set(customer_ids)))
        .order_by(c.customer_id)
        .with_for_update(read=True)
    )
    return await for_references(conn, tenant_id, {(RECORD, str(i)) for i in found}, now)


async def _read(
    conn: AsyncConnection, tenant_id: str, references: set[Reference]
) -> dict[Reference, SubjectKey]:
    if not references:
        return {}
    k = subject_key.c
    rows = await conn.execute(
        select(k.kid, k.source, k.external_id, k.secret).where(
            k.tenant_id == tenant_id, keys_in(conn, [k.source, k.external_id], references)
        )
    )
    return {(r.source, r.external_id): SubjectKey(str(r.kid), r.secret) for r in rows}


async def by_kid(
    conn: AsyncConnection, kids: Iterable[str], tenant_id: str | None = None
) -> dict[str, SubjectKey]:
    """The keys that still exist among ``kids`` (an erased subject's is missing), of
    ``tenant_id`` when given."""
    return {kid: key for kid, (_, key) in (await _by_kid(conn, kids, tenant_id)).items()}


async def _by_kid(
    conn: AsyncConnection, kids: Iterable[str], tenant_id: str | None
) -> dict[str, tuple[Reference, SubjectKey]]:
    wanted = {uuid.UUID(kid) for kid in kids if _is_uuid(kid)}
    if not wanted:
        return {}
    k = subject_key.c
    query = select(k.kid, k.source, k.external_id, k.secret).where(k.kid.in_(wanted))
    if tenant_id is not None:
        query = query.where(k.tenant_id == tenant_id)
    return {
        str(r.kid): ((r.source, r.external_id), SubjectKey(str(r.kid), r.secret))
        for r in await conn.execute(query)
    }


async def destroy(conn: AsyncConnection, tenant_id: str, person: Collection[uuid.UUID]) -> int:
    """Delete the keys of every partner reference of these customers (call it before
    their identities go): what the topics keep of them can no longer be read."""
    i = identity.c
    found = await conn.execute(
        select(i.kind, i.value).where(
            i.tenant_id == tenant_id, i.customer_id.in_(person), i.kind.like("ref:%")
        )
    )
    references = {(r.kind.removeprefix("ref:"), r.value) for r in found}
    references |= {(RECORD, str(customer_id)) for customer_id in person}
    k = subject_key.c
    gone = await conn.execute(
        delete(subject_key).where(
            k.tenant_id == tenant_id, keys_in(conn, [k.source, k.external_id], references)
        )
    )
    return gone.rowcount or 0


async def sealed_records(
    conn: AsyncConnection, events: Sequence[CloudEvent], now: datetime
) -> list[CloudEvent]:
    """Profile's own events about a customer (record updates whose attributes hold
    personal data, consent with its proof), sealed under the customer's own key (made on
    first use); the others as they are."""
    personal: list[tuple[CloudEvent, Personal]] = []
    for event in events:
        payload = event.payload()
        if isinstance(payload, Personal) and _sealable(payload):
            personal.append((event, payload))
    keys: dict[tuple[str, str], SubjectKey] = {}
    for tenant in {e.tenantid for e, _ in personal}:
        records = {(RECORD, str(e.subject)) for e, _ in personal if e.tenantid == tenant}
        found = await for_references(conn, tenant, records, now)
        keys |= {(tenant, customer): key for (_, customer), key in found.items()}
    sealed = {
        e.id: e.model_copy(
            update={
                "data": seal_payload(p, keys[(e.tenantid, str(e.subject))]).model_dump(
                    mode="json", by_alias=True
                )
            }
        )
        for e, p in personal
    }
    return [sealed.get(e.id, e) for e in events]


def _sealable(payload: Personal) -> bool:
    if isinstance(payload, CustomerRecordUpdated):
        return bool(payload.personal_data)
    return bool(personal_fields(payload))


async def open_records(
    conn: AsyncConnection, batch: Sequence[Received[Any]]
) -> list[Received[Any]]:
    """The batch with its record updates' attributes and its activities' personal fields
    (the properties segments match on) in the clear, by one read of the keys; an erased
    customer's open empty, so a segment on them sees nothing of that customer."""
    kids = kids_of(_opened(r.payload) for r in batch)
    if not kids:
        return list(batch)
    keys = await by_kid(conn, kids)
    return [
        replace(r, payload=open_with(p, keys)) if (p := _opened(r.payload)) is not None else r
        for r in batch
    ]


def _opened(payload: Payload) -> Personal | None:
    return payload if isinstance(payload, OPENED) and isinstance(payload, Personal) else None


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


@router.post("/internal/subject-keys")
async def subject_keys(
    runtime: RuntimeDep, tenant: TenantDep, wanted: SubjectKeysWanted
) -> SubjectKeys:
    """The keys the gateway seals a batch's personal fields with (internal: the gateway
    alone reaches it, signed)."""
    references = {(r.source, r.external_id) for r in wanted.references}
    async with runtime.db.unit_of_work() as uow:
        found = await for_references(uow.conn, tenant, references, runtime.clock.now())
        await uow.commit()
    return _answer(found.items())


@router.post("/internal/subject-keys/customers")
async def customer_keys(
    runtime: RuntimeDep, tenant: TenantDep, wanted: CustomerKeysWanted
) -> SubjectKeys:
    """The keys another service seals its own events' personal fields about customers
    with (feedback's resolutions and comments; internal, signed): made on first use for a
    customer that exists, left out for an erased or unknown one."""
    async with runtime.db.unit_of_work() as uow:
        found = await for_customers(uow.conn, tenant, wanted.customer_ids, runtime.clock.now())
        await uow.commit()
    return _answer(found.items())


@router.post("/internal/subject-keys/by-kid")
async def subject_keys_by_kid(
    runtime: RuntimeDep, tenant: TenantDep, wanted: KeysWanted
) -> SubjectKeys:
    """The keys a consumer opens a batch's personal fields with (internal, signed); a
    destroyed key is left out: its subject was erased."""
    async with runtime.db.engine.connect() as conn:
        found = await _by_kid(conn, wanted.kids, tenant)
    return _answer(found.values())


def _answer(found: Iterable[tuple[Reference, SubjectKey]]) -> SubjectKeys:
    return SubjectKeys(
        keys=[
            SubjectKeyGiven(
                source=source,
                external_id=external_id,
                kid=key.kid,
                secret=base64.b64encode(key.secret).decode(),
            )
            for (source, external_id), key in found
        ]
    )
