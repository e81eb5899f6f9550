"""The official CloudEvents SDK reads what we write on ``crm.activity``."""

from __future__ import annotations

import time

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka_event

from shared import topics
from shared.settings import ServiceSettings
from tests.e2e.conftest import customer_360, eventually, purchase


async def test_the_cloudevents_sdk_parses_a_message_read_back_from_crm_activity(
    gateway: httpx.AsyncClient, topology: ServiceSettings, run_id: str
) -> None:
    posted_at_ms = int(time.time() * 1000) - 1000
    await gateway.post("/v1/events", json=purchase(f"ce-{run_id}", f"CE-{run_id}", f"O-{run_id}"))
    view, _ = await eventually(
        lambda: customer_360(gateway, f"CE-{run_id}"), lambda v: v is not None
    )

    message = await _read_activity_about(topology.kafka_servers, view["customer_id"], posted_at_ms)
    event = from_kafka_event(message)  # detects structured mode from the content-type header

    attributes = event.get_attributes()
    assert attributes["type"] == "crm.activity.purchase_completed.v1"
    assert attributes["source"] == "/crm/profile"
    assert attributes["subject"] == view["customer_id"]
    assert attributes["specversion"] == "1.0"
    assert attributes["tenantid"] == "default"
    assert attributes["partitionkey"] == view["customer_id"]
    data = event.get_data()
    assert data["amount_minor"] == 129900 and data["currency"] == "CNY"


async def _read_activity_about(servers: str, customer_id: str, since_ms: int) -> KafkaMessage:
    """The first crm.activity message about the customer since ``since_ms``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topics.ACTIVITY, p)
            for p in consumer.partitions_for_topic(topics.ACTIVITY) or []
        ]
        if not partitions:
            partitions = [
                TopicPartition(topics.ACTIVITY, p)
                for p in range(topics.PARTITIONS[topics.ACTIVITY])
            ]
        consumer.assign(partitions)
        starts = await consumer.offsets_for_times({tp: since_ms for tp in partitions})
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            found = starts.get(tp)
            consumer.seek(tp, found.offset if found else ends[tp])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for messages in (await consumer.getmany(timeout_ms=500)).values():
                for message in messages:
                    if message.key == customer_id.encode():
                        return KafkaMessage(
                            headers=dict(message.headers), key=message.key, value=message.value
                        )
        raise AssertionError(f"no crm.activity message about {customer_id}")
    finally:
        await consumer.stop()
