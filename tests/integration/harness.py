"""What the kernel integration tests and their helper process share: the schema
(the kernel's tables plus a test-only ``counter``), a handler whose effect is
countable, and event builders."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Column, Integer, MetaData, String, Table
from sqlalchemy.dialects.postgresql import insert

from shared import topics
from shared.events import CloudEvent, new_event
from shared.events.activity import PurchaseCompleted
from shared.subscription import BatchHandler, Received, Subscription
from shared.tables import kernel_tables
from shared.uow import UnitOfWork

METADATA = MetaData()
OUTBOX, INBOX = kernel_tables(METADATA)
COUNTER = Table(
    "counter",
    METADATA,
    Column("key", String(200), primary_key=True),
    Column("value", Integer, nullable=False),
    comment="The state change of the tests: how many times each key was counted.",
)

PURCHASE_V1 = "crm.activity.purchase_completed.v1"
SOURCE = "/crm/it"
SERVICE = "kernel-it"


async def count_events(uow: UnitOfWork, batch: Sequence[Received]) -> None:
    """Add one to the counter of each event's subject, set-based: one statement a batch."""
    per_key = Counter(r.event.subject or r.event.partitionkey for r in batch)
    await increment(uow, per_key)


async def increment(uow: UnitOfWork, per_key: Counter[str]) -> None:
    statement = insert(COUNTER).values([{"key": k, "value": n} for k, n in per_key.items()])
    await uow.conn.execute(
        statement.on_conflict_do_update(
            index_elements=[COUNTER.c.key],
            set_={"value": COUNTER.c.value + statement.excluded.value},
        )
    )


def counting(group: str, handler: BatchHandler = count_events) -> Subscription:
    """A consumer group on ``crm.activity`` that applies purchases with ``handler``."""
    return Subscription(group, (topics.ACTIVITY,), (PurchaseCompleted,), handler)


def purchase(customer: str, tenant: str, *, amount_minor: int = 129900) -> CloudEvent:
    """A real ``crm.activity.purchase_completed.v1`` about ``customer``."""
    return new_event(
        PurchaseCompleted(
            order_id=f"O-{uuid.uuid4().hex[:8]}",
            amount_minor=amount_minor,
            currency="EUR",
            channel="store",
        ),
        source=SOURCE,
        tenant_id=tenant,
        key=customer,
        subject=customer,
        time=datetime.now(UTC),
    )
