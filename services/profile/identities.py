"""What an operator changes of who a customer is, each in one unit of work: the
tenant's identity guardrails, and the partner references of one customer.

An e-mail or phone is no identity one adds or removes on its own: it follows the
record (``PATCH /v1/customers/{id}``), so the identities never contradict it.
"""

from __future__ import annotations

import uuid

from services.profile import record_store, store
from services.profile.editing import live
from services.profile.guardrails import Guardrails
from services.profile.resolution import REFERENCE_PREFIX
from shared.uow import Database


class ReferenceTaken(RuntimeError):
    """Another customer holds the reference."""


class TooManyIdentities(RuntimeError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} partner references per customer")
        self.limit = limit


class ReferenceNotHeld(LookupError):
    """The customer holds no such reference."""


async def set_guardrails(db: Database, tenant_id: str, rails: Guardrails) -> None:
    async with db.unit_of_work() as uow:
        await record_store.put_guardrails(uow.conn, tenant_id, rails, db.clock.now())
        await uow.commit()


async def get_guardrails(db: Database, tenant_id: str) -> Guardrails:
    async with db.engine.connect() as conn:
        return (await record_store.guardrails(conn, [tenant_id]))[tenant_id]


async def add_reference(
    db: Database, tenant_id: str, customer_id: uuid.UUID, source: str, external_id: str
) -> uuid.UUID:
    """Give the customer (its survivor, if merged) one more partner reference; adding
    one it holds changes nothing. Raises ``CustomerNotFound``, ``ReferenceTaken``,
    ``TooManyIdentities``. Returns the customer that holds it."""
    now = db.clock.now()
    key = (tenant_id, REFERENCE_PREFIX + source, external_id)
    async with db.unit_of_work() as uow:
        record = await live(uow, tenant_id, customer_id)
        holder = (await store.references(uow.conn, [key])).get(key)
        if holder == record.key:
            return record.key[1]
        if holder is not None:
            raise ReferenceTaken(source)
        rails = (await record_store.guardrails(uow.conn, [tenant_id]))[tenant_id]
        count = (await record_store.reference_counts(uow.conn, [record.key])).get(record.key, 0)
        if count >= rails.max_identities:
            raise TooManyIdentities(rails.max_identities)
        await store.record_identities(uow.conn, [(key, record.key, "api")], now)
        await uow.commit()
    return record.key[1]


async def remove_reference(
    db: Database, tenant_id: str, customer_id: uuid.UUID, source: str, external_id: str
) -> uuid.UUID:
    """Take a partner reference from the customer: that partner's next event about it
    makes a new customer. Raises ``CustomerNotFound``, ``ReferenceNotHeld``."""
    async with db.unit_of_work() as uow:
        record = await live(uow, tenant_id, customer_id)
        key = (tenant_id, REFERENCE_PREFIX + source, external_id)
        if not await record_store.remove_identity(uow.conn, key, record.key):
            raise ReferenceNotHeld(source)
        await uow.commit()
    return record.key[1]
