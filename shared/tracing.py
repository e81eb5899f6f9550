"""Traces across HTTP and Kafka (OpenTelemetry), off unless ``CRM_TRACING`` names an exporter.

One purchase is one trace. The W3C trace context travels with each event inside
it, in the CloudEvents distributed-tracing extension (``traceparent``,
``tracestate``): an event created in a request carries the request's span, and
an event caused by another (``caused_event``) carries the span of the consumer
that applied its cause. Each hop adds its span to the same trace:

    POST /v1/events                      the gateway's request (FastAPI instrumentation)
      publish crm.inbound                the gateway's relay (a producer span per event)
        profile-inbound crm.inbound...   the consumer's span for that event
          publish crm.activity           profile's relay
            lifecycle-activity ...       every consumer of it, and so on to profile-view

A relay's producer span also rides in the Kafka message's ``traceparent`` header,
so the consumer's span hangs under the publish that delivered it (the event's own
attribute, its creation context, is the fallback). Consumers apply a batch in one
transaction, so the batch's database work is one trace of its own (``<group>
batch``, a root) and each event's span links to it: a trace viewer shows a
purchase as one causal tree, and a slow batch one click away. (One trace per
batch with links to the events would scatter a purchase over as many traces as
it has hops, which no viewer reassembles.)

When off, nothing is instrumented: no middleware, no listener, no span; the
kernel asks ``enabled()`` once per batch or request.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import orjson
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from sqlalchemy.ext.asyncio import AsyncEngine

    from shared.events.envelope import CloudEvent
    from shared.settings import ServiceSettings

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
# W3C Trace Context, version 00: what an event's ``traceparent`` may hold.
TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
MAX_TRACESTATE = 512  # what W3C asks every participant to propagate at least
UNTRACED_PATHS = "healthz,readyz,metrics"

_PROPAGATOR = TraceContextTextMapPropagator()
_VALID_TRACEPARENT = re.compile(TRACEPARENT_PATTERN)
_provider: TracerProvider | None = None
_tracer: Tracer | None = None


def enabled() -> bool:
    return _tracer is not None


def configure(settings: ServiceSettings, service: str) -> None:
    """Trace this process as ``crm-<service>`` when ``CRM_TRACING`` names an exporter
    (once: ``python -m services`` asks before it builds the app, and the app's factory
    again)."""
    if settings.tracing == "off" or _provider is not None:
        return
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    provider = TracerProvider(
        resource=Resource.create({"service.name": f"crm-{service}", "service.namespace": "crm"}),
        sampler=ParentBased(TraceIdRatioBased(settings.tracing_sample_ratio)),
    )
    provider.add_span_processor(BatchSpanProcessor(_exporter(settings)))
    install(provider)


def _exporter(settings: ServiceSettings) -> SpanExporter:
    if settings.tracing == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=settings.tracing_endpoint)
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    # One span a line, like the JSON logs beside it.
    return ConsoleSpanExporter(formatter=lambda span: span.to_json(indent=None) + "\n")


def install(provider: TracerProvider | None) -> None:
    """Trace through ``provider`` (a test's, with an in-memory exporter); None: stop."""
    global _provider, _tracer
    _provider = provider
    _tracer = provider.get_tracer("crm") if provider is not None else None


# --- the context an event carries ----------------------------------------------------


def current() -> tuple[str | None, str | None]:
    """The ``traceparent`` and ``tracestate`` of the span current now, for an event
    created now; (None, None) when tracing is off or no span is current."""
    if _tracer is None:
        return None, None
    return _fields(None)


def _fields(span: Span | None) -> tuple[str | None, str | None]:
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span) if span else None)
    parent = carrier.get(TRACEPARENT)
    state = carrier.get(TRACESTATE)
    # A caller's tracestate is the caller's: carried while it fits, dropped beyond.
    return parent, state if state and len(state) <= MAX_TRACESTATE else None


def _context(traceparent: str | None, tracestate: str | None = None) -> Context:
    """The remote parent named by a ``traceparent`` (an empty context, a new trace, if
    there is none or it is malformed)."""
    if not traceparent or not _VALID_TRACEPARENT.match(traceparent):
        return Context()
    carrier = {TRACEPARENT: traceparent}
    if tracestate:
        carrier[TRACESTATE] = tracestate
    return _PROPAGATOR.extract(carrier, context=Context())


# --- consumers -----------------------------------------------------------------------


class Consumed:
    """The spans of one consumed batch: the batch's own, a root whose children are the
    database's work, and one per event in the event's trace, linked to the batch."""

    def __init__(self, tracer: Tracer, group: str, batch: Span) -> None:
        self._tracer, self._group, self._batch = tracer, group, batch
        self._link = (Link(batch.get_span_context()),)
        self._spans: dict[Any, Span] = {}

    def received(self, event: CloudEvent, topic: str, delivered_by: str | None) -> CloudEvent:
        """Open the event's span (under the publish that ``delivered_by`` names, else the
        event's own context) and return the event carrying that span as its context,
        so the events its handler causes continue this trace."""
        parent = _context(delivered_by)
        if not trace.get_current_span(parent).get_span_context().is_valid:
            parent = _context(event.traceparent, event.tracestate)
        span = self._tracer.start_span(
            f"{self._group} {event.type}",
            context=parent,
            kind=SpanKind.CONSUMER,
            links=self._link,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.destination.name": topic,
                "messaging.consumer.group.name": self._group,
                "messaging.message.id": str(event.id),
                "crm.event.type": event.type,
                "crm.tenant": event.tenantid,
            },
        )
        self._spans[event.id] = span
        traceparent, tracestate = _fields(span)
        return event.model_copy(update={TRACEPARENT: traceparent, TRACESTATE: tracestate})

    def failed(self, event_id: Any, reason: str) -> None:
        span = self._spans.get(event_id)
        if span is not None:
            span.set_status(Status(StatusCode.ERROR, reason[:200]))

    def end(self) -> None:
        for span in self._spans.values():
            span.end()


@contextlib.contextmanager
def consuming(group: str, size: int) -> Iterator[Consumed | None]:
    """The spans of a batch of ``size`` records of ``group`` (None when tracing is off);
    the batch's span is current inside, so the database's spans hang under it."""
    if _tracer is None:
        yield None
        return
    attributes: dict[str, str | int] = {
        "messaging.consumer.group.name": group,
        "messaging.batch.message_count": size,
    }
    with _tracer.start_as_current_span(
        f"{group} batch", context=Context(), kind=SpanKind.CONSUMER, attributes=attributes
    ) as batch:
        spans = Consumed(_tracer, group, batch)
        try:
            yield spans
        finally:
            spans.end()


# --- the outbox relay -----------------------------------------------------------------


class Published:
    """The relay's producer spans of one batch, one per event, in the event's trace."""

    def __init__(self, tracer: Tracer, service: str) -> None:
        self._tracer, self._service = tracer, service
        self._spans: list[Span] = []

    def start(self, topic: str, event_id: object, value: bytes) -> tuple[tuple[str, bytes], ...]:
        """Open the span of publishing one event; the Kafka headers that carry it."""
        try:
            document = orjson.loads(value)
        except orjson.JSONDecodeError:
            document = {}
        span = self._tracer.start_span(
            f"publish {topic}",
            context=_context(document.get(TRACEPARENT), document.get(TRACESTATE)),
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "send",
                "messaging.destination.name": topic,
                "messaging.message.id": str(event_id),
                "crm.event.type": str(document.get("type", "")),
                "crm.service": self._service,
            },
        )
        self._spans.append(span)
        traceparent, tracestate = _fields(span)
        headers = [(TRACEPARENT, (traceparent or "").encode())]
        if tracestate:
            headers.append((TRACESTATE, tracestate.encode()))
        return tuple(headers)

    def end(self, error: BaseException | None) -> None:
        for span in self._spans:
            if error is not None:
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            span.end()


@contextlib.contextmanager
def publishing(service: str) -> Iterator[Published | None]:
    """The producer spans of one relay batch (None when tracing is off)."""
    if _tracer is None:
        yield None
        return
    spans = Published(_tracer, service)
    try:
        yield spans
    except BaseException as error:
        spans.end(error)
        raise
    spans.end(None)


# --- instrumentation of the libraries ---------------------------------------------------


def instrument_app(app: FastAPI, service: str) -> None:
    """A server span per request (the caller's ``traceparent`` honoured), health and
    metrics probes left out."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    from shared.requestid import current_request_id

    def annotate(span: Span, scope: dict[str, Any]) -> None:
        if span.is_recording():
            span.set_attribute("crm.service", service)
            span.set_attribute("crm.request_id", current_request_id() or "")

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=_provider,
        excluded_urls=UNTRACED_PATHS,
        exclude_spans=["receive", "send"],
        server_request_hook=annotate,
    )


def instrument_client(client: httpx.AsyncClient) -> None:
    """A client span per call, its context sent in the ``traceparent`` header."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor.instrument_client(client, tracer_provider=_provider)


def instrument_engine(engine: AsyncEngine) -> None:
    """A span per SQL statement that goes through SQLAlchemy (the bulk statements sent
    to asyncpg directly are inside their consumer's batch span)."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import NoOpMeter

    tracer = _provider.get_tracer("opentelemetry.instrumentation.sqlalchemy")
    usage = NoOpMeter("crm").create_up_down_counter("db.client.connections.usage")
    EngineTracer(tracer, engine.sync_engine, usage)


def trace_ids() -> dict[str, str]:
    """The current trace and span ids, for a log line (empty when none is recording)."""
    if _tracer is None:
        return {}
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
    }
