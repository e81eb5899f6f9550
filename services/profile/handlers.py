"""Profile's application functions: resolve inbound activity to customers, and
fold the other services' events into the customer 360. Each works on a whole
batch with set-based SQL inside the consumer's unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, tuple_, update

from services.profile import domain
from services.profile.tables import customer, customer_view, identity
from shared.clock import Clock
from shared.consumer import Received
from shared.db import insert_ignoring_conflicts, upsert
from shared.events import CloudEvent
from shared.events.activity import Inbound
from shared.events.envelope import caused_event
from shared.events.profile import CustomerCreated
from shared.uow import UnitOfWork

SOURCE = "/crm/profile"
ViewKey = tuple[str, uuid.UUID]
KEY = ("tenant_id", "customer_id")


async def resolve_inbound(uow: UnitOfWork, batch: Sequence[Received], clock: Clock) -> None:
    """Give every inbound event its customer (creating new ones) and re-publish each
    activity keyed by the customer."""
    now = clock.now()
    per_event = [domain.identity_keys(r.event.tenantid, _inbound(r).customer) for r in batch]
    directory = domain.Directory(await _known(uow, [k for ks in per_event for k in ks]))
    created: list[tuple[Received, uuid.UUID]] = []
    resolved: list[uuid.UUID] = []
    for received, event_keys in zip(batch, per_event, strict=True):
        customer_id = directory.resolve(event_keys)
        if customer_id is None:
            customer_id = uuid.uuid4()
            created.append((received, customer_id))
        directory.link(event_keys, customer_id)
        resolved.append(customer_id)
    await _save_customers(uow, created, directory, now)
    await _refresh_contact_details(uow, batch, resolved, {c for _, c in created}, now)
    uow.publish(*(_activity(r, c) for r, c in zip(batch, resolved, strict=True)))
    uow.publish(*(_created_event(r, c, now) for r, c in created))


async def fold_into_view(uow: UnitOfWork, batch: Sequence[Received], clock: Clock) -> None:
    """Fold purchases, refunds, stage, risk, points, tier and feedback events into the
    customer 360; this consumer is the 360's only writer."""
    now = clock.now()
    keys = {(r.event.tenantid, uuid.UUID(r.event.subject or "")) for r in batch}
    views = await _views(uow, keys)
    changed: dict[ViewKey, dict[str, Any]] = {}
    for received in batch:
        key = (received.event.tenantid, uuid.UUID(received.event.subject or ""))
        view = views.setdefault(key, domain.new_view(*key, now))
        if domain.fold(view, received.payload, received.event.time):
            view["updated_at"] = now
            changed[key] = view
    await upsert(uow.conn, customer_view, list(changed.values()), KEY)


def _inbound(received: Received) -> Inbound[Any]:
    return received.payload  # type: ignore[return-value]


async def _known(
    uow: UnitOfWork, keys: list[domain.IdentityKey]
) -> dict[domain.IdentityKey, uuid.UUID]:
    if not keys:
        return {}
    rows = await uow.conn.execute(
        select(
            identity.c.tenant_id, identity.c.kind, identity.c.value, identity.c.customer_id
        ).where(tuple_(identity.c.tenant_id, identity.c.kind, identity.c.value).in_(set(keys)))
    )
    return {(r.tenant_id, r.kind, r.value): r.customer_id for r in rows}


async def _views(uow: UnitOfWork, keys: Iterable[ViewKey]) -> dict[ViewKey, dict[str, Any]]:
    keys = set(keys)
    if not keys:
        return {}
    rows = await uow.conn.execute(
        select(customer_view).where(
            tuple_(customer_view.c.tenant_id, customer_view.c.customer_id).in_(keys)
        )
    )
    return {(r.tenant_id, r.customer_id): dict(r._mapping) for r in rows}


async def _save_customers(
    uow: UnitOfWork,
    created: list[tuple[Received, uuid.UUID]],
    directory: domain.Directory,
    now: datetime,
) -> None:
    if created:
        await uow.conn.execute(
            customer.insert(),
            [
                {
                    "tenant_id": received.event.tenantid,
                    "customer_id": customer_id,
                    **domain.contact_details(_inbound(received).customer),
                    "created_at": now,
                    "updated_at": now,
                }
                for received, customer_id in created
            ],
        )
    await insert_ignoring_conflicts(
        uow.conn,
        identity,
        [
            {"tenant_id": t, "kind": k, "value": v, "customer_id": c, "created_at": now}
            for (t, k, v), c in directory.new_identities.items()
        ],
    )


async def _refresh_contact_details(
    uow: UnitOfWork,
    batch: Sequence[Received],
    resolved: list[uuid.UUID],
    new: set[uuid.UUID],
    now: datetime,
) -> None:
    """Known customers take the newest name, email and phone a partner sends (a detail
    left out keeps its value): one UPDATE over many parameter sets."""
    latest: dict[ViewKey, dict[str, Any]] = {}
    for received, customer_id in zip(batch, resolved, strict=True):
        if customer_id not in new:
            details = domain.contact_details(_inbound(received).customer)
            key = (received.event.tenantid, customer_id)
            latest[key] = {**latest.get(key, {}), **{k: v for k, v in details.items() if v}}
    rows = [
        {"t": t, "c": c, **{f"new_{f}": d.get(f) for f in domain.CONTACT_FIELDS}, "now": now}
        for (t, c), d in latest.items()
        if d
    ]
    if rows:
        await uow.conn.execute(
            update(customer)
            .where(customer.c.tenant_id == bindparam("t"), customer.c.customer_id == bindparam("c"))
            .values(
                updated_at=bindparam("now"),
                **{
                    f: func.coalesce(bindparam(f"new_{f}"), customer.c[f])
                    for f in domain.CONTACT_FIELDS
                },
            ),
            rows,
        )


def _activity(received: Received, customer_id: uuid.UUID) -> CloudEvent:
    activity = _inbound(received).activity
    return caused_event(
        activity, received.event, source=SOURCE, purpose="activity", subject=str(customer_id)
    )


def _created_event(received: Received, customer_id: uuid.UUID, now: datetime) -> CloudEvent:
    ref = _inbound(received).customer
    return caused_event(
        CustomerCreated(
            customer_id=str(customer_id),
            source=ref.source,
            external_id=ref.external_id,
            created_at=now,
        ),
        received.event,
        source=SOURCE,
        purpose="customer_created",
        subject=str(customer_id),
        time=now,
    )
