"""One purchase is one trace: the gateway's POST, every relay's publish and every
consumer's span of the events it caused share the trace id of the POST, read back
from an in-memory exporter (embedded mode: the five apps, the in-memory bus)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared import tracing
from shared.events import decode, encode
from shared.settings import ServiceSettings
from tests.e2e.conftest import customer_360, eventually, purchase
from tests.e2e.embedded import embedded_client
from tests.integration.harness import purchase as purchase_event


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    """Tracing on, into memory, for one test (and off again after it)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    try:
        yield exporter
    finally:
        tracing.install(None)
        provider.shutdown()


async def test_a_purchase_is_one_trace_from_the_gateway_through_every_service(
    tmp_path: Path, exporter: InMemorySpanExporter
) -> None:
    async with embedded_client(tmp_path) as client:
        answer = await client.post("/v1/events", json=purchase("t-1", "T-1", "O-1"))
        assert answer.status_code == 202
        await eventually(
            lambda: customer_360(client, "T-1"),
            lambda v: (
                v is not None
                and v["stage"] == "new_customer"
                and v["loyalty"]["points_balance"]
                and v["loyalty"]["tier"]
            ),
        )
    spans = exporter.get_finished_spans()
    post = _the_post(spans)
    trace = [s for s in spans if s.context.trace_id == post.context.trace_id]
    consumers = {s.name.split(" ")[0] for s in trace if s.kind == SpanKind.CONSUMER}
    # Every service applied the purchase or what it caused, in the POST's trace.
    assert {
        "profile-inbound",
        "lifecycle-activity",
        "loyalty-activity",
        "feedback-activity",
        "profile-view",
    } <= consumers, consumers
    published = {s.attributes["crm.service"] for s in trace if s.kind == SpanKind.PRODUCER}
    assert {"gateway", "profile", "lifecycle", "loyalty"} <= published, published
    # A causal tree: every span of the trace but the POST has its parent in the trace.
    ids = {s.context.span_id for s in trace}
    orphans = [s.name for s in trace if s is not post and s.parent.span_id not in ids]
    assert not orphans


def _the_post(spans: tuple[ReadableSpan, ...]) -> ReadableSpan:
    posts = [s for s in spans if s.kind == SpanKind.SERVER and s.name == "POST /v1/events"]
    assert len(posts) == 1, [s.name for s in spans if s.kind == SpanKind.SERVER]
    return posts[0]


def test_an_event_carries_its_creation_span_in_the_distributed_tracing_extension(
    exporter: InMemorySpanExporter,
) -> None:
    with tracing._tracer.start_as_current_span("request") as span:  # type: ignore[union-attr]
        event = purchase_event("c-1", "t-1")
    ids = span.get_span_context()
    assert (event.traceparent or "").startswith(f"00-{ids.trace_id:032x}-{ids.span_id:016x}-")
    assert decode(encode(event)).traceparent == event.traceparent  # kept on the wire


def test_without_tracing_an_event_carries_no_trace_context() -> None:
    event = purchase_event("c-1", "t-1")
    assert event.traceparent is None and event.tracestate is None
    assert b"traceparent" not in encode(event)


def test_tracing_is_off_by_default_and_an_otlp_exporter_when_asked() -> None:
    tracing.configure(ServiceSettings(), "loyalty")
    assert not tracing.enabled()
    endpoint = "http://collector:4318/v1/traces"
    tracing.configure(ServiceSettings(tracing="otlp", tracing_endpoint=endpoint), "loyalty")
    provider = tracing._provider
    try:
        assert tracing.enabled() and provider is not None
        assert provider.resource.attributes["service.name"] == "crm-loyalty"
        (processor,) = provider._active_span_processor._span_processors
        assert isinstance(processor.span_exporter, OTLPSpanExporter)  # type: ignore[attr-defined]
        assert processor.span_exporter._endpoint == endpoint  # type: ignore[attr-defined]
    finally:
        tracing.install(None)
        if provider is not None:
            provider.shutdown()
