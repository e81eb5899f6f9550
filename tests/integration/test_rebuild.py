"""Services rebuilt from the topics on PostgreSQL and Kafka (issue 9, item 2): the path
``python -m services.loyalty.rebuild`` and ``services.feedback.rebuild`` take, on topics
and databases of their own.

The fast tier (tests/handlers/test_*rebuild.py) proves the fold gives back every row;
this proves the Kafka side around it: every group's events are read from the start each
time (a reset only requested could leave a group unread), several groups are checked for
running members at once, a running one refuses the rebuild, and the offsets are set
where the topics ended.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import Table, select

from services.feedback import app as feedback_app
from services.feedback.rebuild import FOLDED as FEEDBACK_FOLDED
from services.feedback.rebuild import due as feedback_due
from services.feedback.settings import FeedbackSettings
from services.feedback.tables import complaint, survey_invitation
from services.loyalty import app
from services.loyalty.rebuild import FOLDED
from services.loyalty.settings import LoyaltySettings
from services.loyalty.tables import account, ledger_entry
from services.rebuilding import rebuild
from shared.bus import Message
from shared.bus.kafka import KafkaBus
from shared.db import create_engine
from shared.events import encode, new_event
from shared.events.activity import ComplaintFiled, OrderRefunded, PurchaseCompleted
from shared.events.envelope import derived_id
from shared.events.feedback import ComplaintUpdated
from shared.events.payload import Payload
from shared.rebuild import RebuildRefused
from shared.settings import ServiceSettings
from shared.topics import ACTIVITY, FEEDBACK, PARTITIONS
from tests.integration.conftest import eventually
from tests.integration.services import Infra, own_infra

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 1, 5, 12, tzinfo=UTC)
CUSTOMERS = 12
SERVICES = ("loyalty", "feedback")


@pytest.fixture
async def isolated(settings: ServiceSettings) -> AsyncIterator[Infra]:
    """Topics and loyalty's and feedback's databases no other test uses."""
    async with own_infra(settings, "rb", SERVICES, migrated=True) as infra:
        yield infra


@pytest.fixture
def own(isolated: Infra) -> LoyaltySettings:
    """Loyalty's settings on the isolated topics and database."""
    url = isolated.database_url("loyalty")
    return LoyaltySettings(service="loyalty", database_url=url, topic_prefix=isolated.prefix)


def _about(customer: uuid.UUID, payload: Payload, at: datetime) -> Message:
    subject = str(customer)
    one = new_event(
        payload, source="/crm/profile", tenant_id="default", key=subject, subject=subject, time=at
    )
    return Message(one.topic, subject.encode(), encode(one))


def _history() -> list[Message]:
    """Each customer buys twice; one in three returns part of the second order."""
    messages = []
    for n in range(CUSTOMERS):
        customer, bought = uuid.uuid5(uuid.NAMESPACE_URL, f"rb-{n}"), T0 + n * timedelta(hours=3)
        for k in range(2):
            order = PurchaseCompleted(
                order_id=f"O-{n}-{k}", amount_minor=10_000, currency="CNY", channel="web"
            )
            messages.append(_about(customer, order, bought + k * timedelta(days=2)))
        if n % 3 == 0:
            refund = OrderRefunded(order_id=f"O-{n}-1", amount_minor=5_000)
            messages.append(_about(customer, refund, bought + timedelta(days=3)))
    return messages


async def _state(settings: LoyaltySettings) -> dict[str, list[Any]]:
    engine = create_engine(settings.db_url)
    try:
        async with engine.connect() as conn:
            tiers = (await conn.execute(select(account.c.customer_id, account.c.tier))).all()
            entries = await conn.execute(
                select(ledger_entry.c.entry_id, ledger_entry.c.points, ledger_entry.c.at)
            )
            return {"accounts": sorted(tiers), "entries": sorted(entries.all())}
    finally:
        await engine.dispose()


async def test_loyalty_rebuilt_on_postgresql_and_kafka(own: LoyaltySettings) -> None:
    bus = KafkaBus(own.kafka_servers, "it-rebuild", topic_prefix=own.topic_prefix)
    await bus.start()
    try:
        await bus.publish(_history())
    finally:
        await bus.stop()
    lines: list[str] = []

    first = await rebuild("loyalty", FOLDED, app.sweep, lines.append, settings=own)
    folded = await _state(own)
    again = [await rebuild("loyalty", FOLDED, app.sweep, lines.append, own) for _ in range(3)]

    events = len(_history())
    assert first == events and again == [events] * 3  # every group read from its start
    assert len(folded["accounts"]) == CUSTOMERS
    assert sum(p for _, p, _ in folded["entries"]) == CUSTOMERS * 200 - 4 * 50
    assert await _state(own) == folded
    assert any("loyalty-activity: read" in line for line in lines)
    await _assert_offsets_at_the_end(own)
    await _assert_refused_while_a_consumer_runs(own)


async def _assert_offsets_at_the_end(own: LoyaltySettings) -> None:
    """Started now, loyalty's activity consumer would go on after what was folded."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=own.kafka_servers,
        group_id=own.topic_prefix + "loyalty-activity",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        topic = own.topic_prefix + ACTIVITY
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS[ACTIVITY])]
        ends = await consumer.end_offsets(partitions)
        committed = {tp: await consumer.committed(tp) for tp in partitions}
        assert {tp: committed[tp] or 0 for tp in partitions} == ends
    finally:
        await consumer.stop()


async def _assert_refused_while_a_consumer_runs(own: LoyaltySettings) -> None:
    running = AIOKafkaConsumer(
        own.topic_prefix + FEEDBACK,
        bootstrap_servers=own.kafka_servers,
        group_id=own.topic_prefix + "loyalty-feedback",
    )
    await running.start()
    try:

        async def joined() -> bool:
            return bool(running.assignment())

        await eventually(joined, within=60)
        with pytest.raises(RebuildRefused, match="loyalty-feedback"):
            await rebuild("loyalty", FOLDED, app.sweep, lambda line: None, settings=own)
    finally:
        await running.stop()


async def test_feedback_rebuilt_on_postgresql_and_kafka_keeps_the_desks_work(
    isolated: Infra,
) -> None:
    """A complaint filed by a partner, then taken up at the desk (its ``complaint_updated``
    on crm.feedback), and a purchase's invitation: folded, and folded again the same."""
    url = isolated.database_url("feedback")
    own = FeedbackSettings(service="feedback", database_url=url, topic_prefix=isolated.prefix)
    customer = uuid.uuid5(uuid.NAMESPACE_URL, "rb-desk")
    filing = new_event(
        ComplaintFiled(complaint_ref="T-1", severity="high", category="delivery", channel="web"),
        source="/partners/tickets", tenant_id="default", key=str(customer),
        subject=str(customer), time=T0, partner="tickets",
    )  # fmt: skip
    taken = ComplaintUpdated(
        complaint_id=str(derived_id(filing.id, "complaint")), complaint_ref="T-1",
        status="in_progress", assignee="agent-7", at=T0 + timedelta(hours=1),
    )  # fmt: skip
    bought = PurchaseCompleted(order_id="O-1", amount_minor=1_000, currency="CNY", channel="web")
    bus = KafkaBus(own.kafka_servers, "it-rebuild", topic_prefix=own.topic_prefix)
    await bus.start()
    try:
        await bus.publish([Message(filing.topic, str(customer).encode(), encode(filing))])
        await bus.publish([_about(customer, taken, T0 + timedelta(hours=1)),
                           _about(customer, bought, T0 + timedelta(hours=2))])  # fmt: skip
    finally:
        await bus.stop()

    applied = await rebuild(
        "feedback", FEEDBACK_FOLDED, feedback_app.sweep, lambda _: None, own, feedback_due
    )
    folded = await _rows(own, complaint)
    again = await rebuild(
        "feedback", FEEDBACK_FOLDED, feedback_app.sweep, lambda _: None, own, feedback_due
    )

    assert applied == again == 3
    [case] = folded
    assert (case["status"], case["assignee"]) == ("in_progress", "agent-7")
    assert case["first_contact_at"] == T0 + timedelta(hours=1)
    # Overdue since January, it is escalated to the top by the sweep at the real now, each
    # level at the time it fell due: the same each time, to the field.
    assert await _rows(own, complaint) == [case]
    assert (case["escalation_level"], case["escalated_at"]) == (3, T0 + timedelta(hours=72))
    assert len(await _rows(own, survey_invitation)) == 1


async def _rows(settings: ServiceSettings, table: Table) -> list[dict[str, Any]]:
    engine = create_engine(settings.db_url)
    try:
        async with engine.connect() as conn:
            return [dict(r._mapping) for r in await conn.execute(select(table))]
    finally:
        await engine.dispose()
