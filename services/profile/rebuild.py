"""Rebuild the customer 360 and segment membership from the topics.

    python -m services.profile.rebuild          (with the profile service stopped)

The 360 is a read model: ``profile-view`` folds it from crm.activity, crm.profile (merges),
crm.lifecycle, crm.loyalty and crm.feedback, and nothing else writes it. So it
can be thrown away and folded again: the group's offsets go back to the start
of those topics, then its rows (with the orders it folded and the refunds waiting
for theirs), the segments' members and what they fold (the segment definitions
stay: they are owned state) and its inbox entries are deleted in one
transaction. Offsets first: should the database step fail, the replay finds
its old inbox entries and changes nothing, and running the command again
finishes the job. A running consumer would overwrite the reset offsets, so the
command refuses while the group has members. The topics keep their events
forever (``retention.ms=-1``) for this.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import delete

from services.profile.app import VIEW_GROUP, VIEW_TOPICS
from services.profile.tables import (
    customer_view,
    inbox,
    parked,
    segment_activity,
    segment_due,
    segment_fact,
    segment_member,
    view_order,
)
from shared.bus.kafka import ClientOptions
from shared.bus.security import client_options
from shared.db import create_engine
from shared.settings import ServiceSettings
from shared.topics import PARTITIONS


class GroupStillRunning(RuntimeError):
    """The 360's consumer group has members: stop the profile service first."""


async def rebuild(settings: ServiceSettings) -> None:
    """Forget the 360 and the segments' members, and make ``profile-view`` fold them
    again from the first event."""
    options = client_options(settings)
    await _refuse_if_running(settings.kafka_servers, settings.topic_prefix + VIEW_GROUP, options)
    await _rewind(settings.kafka_servers, settings.topic_prefix, options)
    engine = create_engine(settings.db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(delete(customer_view))
            await conn.execute(delete(view_order))
            await conn.execute(delete(parked))
            for table in (segment_member, segment_fact, segment_activity, segment_due):
                await conn.execute(delete(table))
            await conn.execute(delete(inbox).where(inbox.c.consumer == VIEW_GROUP))
    finally:
        await engine.dispose()


async def _refuse_if_running(servers: str, group: str, options: ClientOptions) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=servers, **options)
    await admin.start()
    try:
        [described] = await admin.describe_consumer_groups([group])
        members = [m for g in described.groups for m in g[5]]
    finally:
        await admin.close()
    if members:
        raise GroupStillRunning(
            f"{len(members)} consumer(s) of {group} are running; stop the profile service"
        )


async def _rewind(servers: str, prefix: str, options: ClientOptions) -> None:
    """Commit the beginning of every partition as the group's position."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=servers, group_id=prefix + VIEW_GROUP, enable_auto_commit=False, **options
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(prefix + topic, p)
            for topic in VIEW_TOPICS
            for p in range(PARTITIONS[topic])
        ]
        consumer.assign(partitions)
        await consumer.commit(await consumer.beginning_offsets(partitions))
    finally:
        await consumer.stop()


if __name__ == "__main__":
    asyncio.run(rebuild(ServiceSettings(service="profile")))
    print("the customer 360 and segment membership are cleared and will be folded again")
