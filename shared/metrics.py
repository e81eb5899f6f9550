"""Prometheus metrics, defined once and labelled by service (embedded mode runs
all five services in one process, so they share one registry)."""

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Histogram(
    "crm_http_request_seconds",
    "HTTP requests by route and status, with their latency",
    ["service", "method", "route", "status"],
)
EVENTS_CONSUMED = Counter(
    "crm_events_consumed_total",
    "Events taken from the bus, by outcome (applied, duplicate, ignored, dead_lettered)",
    ["service", "consumer", "outcome"],
)
BATCH_SECONDS = Histogram(
    "crm_consumer_batch_seconds", "Time to apply one consumed batch", ["service", "consumer"]
)
OUTBOX_PUBLISHED = Counter(
    "crm_outbox_published_total", "Outbox rows published to the bus", ["service"]
)
CONSUMER_LAG = Gauge(
    "crm_consumer_lag",
    "Messages on the consumer's partitions not yet consumed (as of its last fetch)",
    ["service", "consumer"],
)
OUTBOX_PARKED = Counter(
    "crm_outbox_parked_total",
    "Outbox rows the bus refused for good, put on crm.deadletter instead, by reason",
    ["service", "reason"],
)
DEAD_LETTERS = Counter(
    "crm_dead_letters_total",
    "Events a consumer dead-lettered, by reason (the error's class)",
    ["service", "consumer", "reason"],
)
CONSUMER_RETRIES = Counter(
    "crm_consumer_retries_total",
    "Batches or events applied again after a handler error that was not the message's fault",
    ["service", "consumer"],
)
