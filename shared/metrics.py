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
OUTBOX_BACKLOG = Gauge(
    "crm_outbox_backlog",
    "Outbox rows not yet published (as of the last look, every few seconds)",
    ["service"],
)
OUTBOX_OLDEST_AGE = Gauge(
    "crm_outbox_oldest_age_seconds",
    "Age of the oldest outbox row not yet published (0 when the outbox is empty)",
    ["service"],
)
UPSTREAM_SECONDS = Histogram(
    "crm_upstream_request_seconds",
    "Calls the gateway forwards to a service, by upstream, method and status, with their "
    "latency to the answer's headers",
    ["upstream", "method", "status"],
)
UPSTREAM_ERRORS = Counter(
    "crm_upstream_errors_total",
    "Forwarded calls that failed, by upstream and reason (timeout, unreachable, status_5xx)",
    ["upstream", "reason"],
)
RATE_LIMITED = Counter(
    "crm_rate_limited_total",
    "Requests answered 429, by the limit that refused them (the problem type's slug: "
    "rate-limited per API key, too-many-failed-authentications per address)",
    ["service", "limit"],
)
# Webhooks (the gateway's deliveries to partners' endpoints): defined here, once, for the
# deliverer to count into.
WEBHOOK_DELIVERIES = Counter(
    "crm_webhook_deliveries_total",
    "Webhook delivery attempts, by outcome (delivered: a 2xx; retrying: failed, another "
    "attempt is due; failed: given up after the last attempt)",
    ["outcome"],
)
WEBHOOK_DELIVERY_SECONDS = Histogram(
    "crm_webhook_delivery_seconds",
    "Time of one webhook delivery attempt, to the endpoint's answer or the timeout",
    ["outcome"],
)
WEBHOOK_PENDING = Gauge(
    "crm_webhook_pending",
    "Webhook deliveries due or waiting for a retry (as of the deliverer's last look)",
)
