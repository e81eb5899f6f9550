"""Trace context over real Kafka: an event created in a span leaves through the outbox
and the relay and is applied by a consumer, all in one trace; the consumer's span hangs
under the relay's publish (its context in the Kafka headers), and what the handler causes
carries the consumer's span."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import tracing
from shared.consumer import Consumer
from shared.outbox import OutboxRelay
from shared.subscription import Received
from shared.uow import Database, UnitOfWork
from tests.integration.conftest import counter_value, eventually, running
from tests.integration.harness import count_events, counting, purchase


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    try:
        yield exporter
    finally:
        tracing.install(None)
        provider.shutdown()


async def test_an_events_trace_goes_through_the_outbox_the_relay_and_kafka_to_its_consumer(
    exporter: InMemorySpanExporter,
    db: Database,
    relay: OutboxRelay,
    engine: AsyncEngine,
    consumers: object,
    group: str,
    tenant: str,
    customer: str,
) -> None:
    applied: list[Received] = []

    async def handler(uow: UnitOfWork, batch: Sequence[Received]) -> None:
        applied.extend(batch)
        await count_events(uow, batch)

    with tracing._tracer.start_as_current_span("POST /v1/events") as root:  # type: ignore[union-attr]
        event = purchase(customer, tenant)
        async with db.unit_of_work() as uow:
            uow.publish(event)
            await uow.commit()
    assert await relay.relay_once() >= 1
    consumer: Consumer = consumers(counting(group, handler))  # type: ignore[operator]
    async with running(consumer) as task:
        await eventually(lambda: _counted(engine, customer), within=30, watching=task)

    trace_id = root.get_span_context().trace_id
    spans = exporter.get_finished_spans()
    (publish,) = [s for s in spans if s.kind == SpanKind.PRODUCER
                  and s.attributes["messaging.message.id"] == str(event.id)]  # fmt: skip
    (consumed,) = [s for s in spans if s.kind == SpanKind.CONSUMER and s.attributes
                   .get("messaging.message.id") == str(event.id)]  # fmt: skip
    assert consumed.name == f"{group} {event.type}"
    assert publish.context.trace_id == consumed.context.trace_id == trace_id
    assert publish.parent.span_id == root.get_span_context().span_id
    assert consumed.parent.span_id == publish.context.span_id  # through the Kafka header
    (batch,) = [s for s in spans if s.context.span_id == consumed.links[0].context.span_id]
    assert batch.name == f"{group} batch"
    # What the handler saw (and would cause events from) carries the consumer's span.
    ours = [r.event for r in applied if r.event.id == event.id]
    assert ours[0].traceparent.split("-")[2] == f"{consumed.context.span_id:016x}"


async def _counted(engine: AsyncEngine, customer: str) -> bool:
    return await counter_value(engine, customer) == 1
