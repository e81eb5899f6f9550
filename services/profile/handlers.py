"""Profile's consumers: resolve inbound activity to customers, and fold the other
services' events into the customer 360. Each works on a whole batch with set-based
SQL inside the consumer's unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import cast

from sqlalchemy import select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from services.profile import (
    announcements,
    domain,
    orders,
    privacy,
    recording,
    segmenting,
    store,
    subject_keys,
)
from services.profile.resolution import (
    Claim,
    ContactKey,
    CustomerKey,
    Resolution,
    find_candidates,
    reference_key,
)
from services.profile.tables import customer_view
from shared import topics
from shared.clock import Clock
from shared.db import insert_ignoring_conflicts, keys_in, upsert
from shared.events import REGISTRY
from shared.events.activity import Inbound
from shared.events.payload import Payload
from shared.events.privacy import CONFIRMATIONS, ErasureConfirmed
from shared.events.profile import CustomersMerged, CustomersUnmerged
from shared.parking import Parking
from shared.sealing import Personal, SubjectKey, kids_of, open_with
from shared.subscription import Received, only
from shared.uow import UnitOfWork

# What each consumer applies: every partner activity as posted, and what the 360 folds.
RESOLVED = REGISTRY.payloads_on(topics.INBOUND)
MERGES = (CustomersMerged, CustomersUnmerged)
FOLDED: tuple[type[Payload], ...] = tuple(
    dict.fromkeys((*domain.FOLDED, *MERGES, *segmenting.FOLLOWED, *CONFIRMATIONS.values()))
)
ViewKey = tuple[str, uuid.UUID]
KEY = ("tenant_id", "customer_id")
VIEW_COLUMNS = [c.name for c in customer_view.c if c.name != "merged_into"]


async def resolve_inbound(
    uow: UnitOfWork, batch: Sequence[Received[Inbound[Payload]]], clock: Clock
) -> None:
    """Give every inbound event its customer (a new one for an unknown reference,
    or, where the tenant links on a match, the one customer holding its e-mail or
    phone), apply the contact details of the sources that own them (blocked values
    left out) and the attributes the tenant declared, record consent, open merge
    candidates for shared e-mails and phones, and re-publish each activity keyed by
    its customer (its personal fields as sealed as they came)."""
    now = clock.now()
    sealed, batch = batch, await open_sealed(uow.conn, batch)
    refs = [(r.event.tenantid, r.payload.customer) for r in batch]
    known = await store.references(uow.conn, (reference_key(t, ref) for t, ref in refs))
    guarded = await recording.guard(uow, refs, known)
    wanted = {*known.values(), *guarded.links.values()}
    records, moved = await store.live_records(uow.conn, wanted)
    resolution = Resolution(
        {k: moved.get(c, c) for k, c in known.items()},
        records,
        now,
        screen=guarded.screen,
        links={k: c for k, c in guarded.links.items() if c in records},
    )
    resolved = [resolution.resolve(i, t, ref, uuid.uuid4) for i, (t, ref) in enumerate(refs)]
    schemas = await recording.patch_attributes(uow, batch, resolved, resolution)
    await recording.announce_updates(uow, batch, resolution, schemas, now)
    claims = resolution.claims()
    holders = await store.holders(uow.conn, {c.contact for c in claims})
    candidates = find_candidates(resolution, holders)
    await store.insert_customers(uow.conn, [records[k] for _, k in resolution.created], now)
    await store.update_customers(uow.conn, resolution.changed(), now)
    await store.release_identities(uow.conn, resolution.released())
    await store.seen(uow.conn, known, now)
    await store.record_identities(uow.conn, _identities(batch, resolution, claims), now)
    await recording.record_consent(uow, batch, resolved, now)
    opened = await store.insert_candidates(uow.conn, candidates, now)
    uow.publish(*(announcements.activity(r, c) for r, (_, c) in zip(sealed, resolved, strict=True)))
    uow.publish(
        *(announcements.customer_created(batch[i], c, now) for i, (_, c) in resolution.created)
    )
    uow.publish(
        *(
            announcements.merge_candidate_found(batch[c.cause], c, now)
            for c in candidates
            if c.candidate_id in opened
        )
    )


async def open_sealed(
    conn: AsyncConnection, batch: Sequence[Received[Inbound[Payload]]]
) -> list[Received[Inbound[Payload]]]:
    """The batch with its contact details and personal fields in the clear, opened with
    one read of the subject keys; an erased subject's stay empty (``shared.sealing``)."""
    kids = kids_of(p for r in batch for p in (r.payload.customer, _personal(r.payload.activity)))
    if not kids:
        return list(batch)
    keys = await subject_keys.by_kid(conn, kids)
    return [
        replace(
            r,
            payload=r.payload.model_copy(
                update={
                    "customer": open_with(r.payload.customer, keys),
                    "activity": _open(r.payload.activity, keys),
                }
            ),
        )
        for r in batch
    ]


def _personal(payload: Payload) -> Personal | None:
    return payload if isinstance(payload, Personal) else None


def _open(payload: Payload, keys: Mapping[str, SubjectKey]) -> Payload:
    return open_with(payload, keys) if isinstance(payload, Personal) else payload


def _identities(
    batch: Sequence[Received[Inbound[Payload]]], resolution: Resolution, claims: list[Claim]
) -> list[tuple[ContactKey, CustomerKey, str]]:
    """The identities the batch adds, each with the source that gave it."""
    references = [(k, c, k[1].removeprefix("ref:")) for k, c in resolution.new_references.items()]
    contacts = [(c.contact, c.customer, batch[c.cause].payload.customer.source) for c in claims]
    return [*references, *contacts]


async def fold_into_view(
    uow: UnitOfWork, batch: Sequence[Received[Payload]], clock: Clock, parking: Parking
) -> None:
    """Fold purchases, refunds, stage, risk, points, tier and feedback events into the
    customer 360, and learn the merges; this consumer is the 360's only writer. A refund
    that came before its purchase waits for it (``orders``). Erasures' confirmations go
    to their jobs (``privacy``). Then keep the segments of the batch's customers current
    against the 360 just folded (``segmenting``)."""
    now = clock.now()
    batch = await subject_keys.open_records(uow.conn, batch)  # personal attributes, sealed
    await privacy.fold_confirmations(uow, only(batch, ErasureConfirmed))
    batch = [r for r in batch if not isinstance(r.payload, ErasureConfirmed)]
    facts = [r for r in batch if not isinstance(r.payload, MERGES)]
    facts = await orders.in_order_of_purchase(uow.conn, facts, parking)
    views = await _views(uow, {r.customer for r in facts})
    changed: dict[ViewKey, domain.View] = {}
    for received in facts:
        key = received.customer
        view = views.setdefault(key, domain.new_view(*key, now))
        if domain.fold(view, received.payload, received.event.time):
            view["updated_at"] = now
            changed[key] = view
    await upsert(uow.conn, customer_view, list(changed.values()), KEY)
    for received in batch:
        if isinstance(received.payload, CustomersMerged):
            await _fold_merge(uow, received.event.tenantid, received.payload, now)
        elif isinstance(received.payload, CustomersUnmerged):
            await _fold_unmerge(uow.conn, received.event.tenantid, received.payload)
    await segmenting.follow(uow, batch, now)


async def _fold_unmerge(conn: AsyncConnection, tenant_id: str, undo: CustomersUnmerged) -> None:
    """The merged customer is its own 360 again, and those merged into it before point
    at it again (profile refuses to undo a merge whose survivor was merged further)."""
    v = customer_view.c
    merged = uuid.UUID(undo.merged_id)
    await conn.execute(
        update(customer_view)
        .where(v.tenant_id == tenant_id, v.customer_id == merged)
        .values(merged_into=None)
    )
    if undo.restored:
        await conn.execute(
            update(customer_view)
            .where(
                v.tenant_id == tenant_id,
                v.customer_id.in_([uuid.UUID(r) for r in undo.restored]),
            )
            .values(merged_into=merged)
        )


async def _fold_merge(
    uow: UnitOfWork, tenant_id: str, merge: CustomersMerged, now: datetime
) -> None:
    """Point the merged customer, and every customer merged into it, at the survivor's
    final survivor: ``merged_into`` always names a live 360, in whatever order the
    merges and the other events are folded (a rebuild meets them in another)."""
    v = customer_view.c
    survivor, merged = uuid.UUID(merge.survivor_id), uuid.UUID(merge.merged_id)
    further = await uow.conn.scalar(
        select(v.merged_into).where(v.tenant_id == tenant_id, v.customer_id == survivor)
    )
    final = further or survivor
    if final == merged:  # a cycle, which profile never makes: nothing sensible to point at
        return
    await insert_ignoring_conflicts(
        uow.conn, customer_view, [domain.new_view(tenant_id, merged, now)]
    )
    await uow.conn.execute(
        update(customer_view)
        .where(v.tenant_id == tenant_id, (v.customer_id == merged) | (v.merged_into == merged))
        .values(merged_into=final)
    )


async def _views(uow: UnitOfWork, keys: Iterable[ViewKey]) -> dict[ViewKey, domain.View]:
    keys = set(keys)
    if not keys:
        return {}
    rows = await uow.conn.execute(
        select(*(customer_view.c[c] for c in VIEW_COLUMNS)).where(
            keys_in(uow.conn, [customer_view.c.tenant_id, customer_view.c.customer_id], keys)
        )
    )
    return {(r.tenant_id, r.customer_id): _view(r._mapping) for r in rows}


def _view(row: RowMapping) -> domain.View:
    """A 360 row as the fold types it (every column but ``merged_into``)."""
    return cast(domain.View, {c: row[c] for c in VIEW_COLUMNS})
