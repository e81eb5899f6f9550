"""The job that delivers webhooks: due delivery rows, taken under ``SKIP LOCKED`` (so
gateway replicas share them and none is sent twice at once), posted to their receivers
a bounded number at a time, each outcome written as soon as it is known.

A delivery is leased while it is in flight: should the process die mid-attempt, the
row falls due again when the lease ends and another replica sends it (the receiver
drops the repeat by its ``webhook-id``). The fan-out consumer wakes the job when it
records deliveries; otherwise it looks for due retries every ``webhook_poll_seconds``.
Scheduling follows the wall clock (not ``CRM_FROZEN_NOW``): receivers live in real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from datetime import datetime, timedelta

import httpx
import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncConnection

from services.gateway.settings import GatewaySettings
from services.gateway.webhooks import domain, hosts, opening, signature, store
from shared import metrics
from shared.clock import Clock, SystemClock
from shared.events import CloudEvent, new_event
from shared.events.gateway import WebhookDisabled
from shared.keyring import KeysUnavailable
from shared.uow import Database

log = structlog.get_logger()

DISABLED = Counter(
    "crm_webhook_subscriptions_disabled_total",
    "Webhook subscriptions disabled after a delivery failed every attempt",
)
STOP_GRACE_SECONDS = 5.0


class WebhookSender:
    name = "webhook-sender"

    def __init__(
        self,
        db: Database,
        settings: GatewaySettings,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        keys: opening.Keys | None = None,
    ) -> None:
        self._db, self._clock, self._transport = db, clock or SystemClock(), transport
        self._keys = keys  # to open sealed personal fields for the receiver (``opening``)
        self._master = settings.signing_master_key
        self._allowed = settings.webhook_allowed_host_list
        self._timeout = settings.webhook_timeout_seconds
        self._concurrency = settings.webhook_concurrency
        self._poll = settings.webhook_poll_seconds
        self._lease = timedelta(seconds=2 * self._timeout + 30)
        self.policy = domain.RetryPolicy(
            settings.webhook_max_attempts,
            settings.webhook_retry_base_seconds,
            settings.webhook_retry_max_seconds,
        )
        self._wake, self._stopping = asyncio.Event(), asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """Look for due deliveries now (new ones were recorded, or replayed)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        async with httpx.AsyncClient(
            transport=self._transport, follow_redirects=False, timeout=self._timeout
        ) as client:
            try:
                while not self._stopping.is_set():
                    more = await self._fill(client)
                    if not more:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), self._poll)
            finally:
                if self._in_flight:
                    await asyncio.wait(self._in_flight, timeout=STOP_GRACE_SECONDS)

    async def _fill(self, client: httpx.AsyncClient) -> bool:
        """Start attempts for as many due deliveries as there are free slots; whether
        more may be due right now (every free slot was filled)."""
        self._wake.clear()
        free = self._concurrency - len(self._in_flight)
        if free <= 0:
            return False  # a finishing attempt wakes the loop
        now = self._clock.now()
        async with self._db.unit_of_work() as uow:
            due = await store.take_due(uow.conn, now, free, now + self._lease)
            await uow.commit()
            if len(due) < free:  # caught up: how many wait, for the dashboard
                metrics.WEBHOOK_PENDING.set(await store.pending(uow.conn))
        for delivery in due:
            task = asyncio.create_task(self._deliver(client, delivery))
            self._in_flight.add(task)
            task.add_done_callback(self._finished)
        return len(due) == free

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wake.set()

    async def _deliver(self, client: httpx.AsyncClient, due: store.Due) -> None:
        try:
            started = time.perf_counter()
            attempt = await self.attempt(client, due)
            elapsed = time.perf_counter() - started
            outcome = await self._settle(due, attempt)
            metrics.WEBHOOK_DELIVERY_SECONDS.labels(outcome).observe(elapsed)
        except Exception:
            # The row stays leased and falls due again when the lease ends.
            log.exception("webhook delivery not settled", delivery_id=str(due.delivery_id))

    async def attempt(self, client: httpx.AsyncClient, due: store.Due) -> domain.Attempt:
        """Post the delivery once, signed, to the address its host was checked to have."""
        if self._master is None:
            return domain.Attempt(error="CRM_SIGNING_MASTER_KEY is unset: nothing can be signed")
        try:
            target = await hosts.target(due.url, self._allowed, self._timeout)
        except hosts.Refused as refused:
            return domain.Attempt(error=str(refused))
        try:
            body = await opening.opened(due.body, self._keys) if self._keys else due.body
        except KeysUnavailable as away:
            return domain.Attempt(error=f"{away}: personal fields cannot be opened yet")
        secret = signature.secret_for(self._master.get_secret_value(), due.subscription_id)
        headers = {
            "content-type": "application/json",
            "user-agent": "crm-webhooks/1",
            "host": target.host_header,
            **signature.headers(secret, str(due.event_id), int(time.time()), body),
        }
        request = client.build_request(
            "POST", target.url, content=body, headers=headers, extensions=target.extensions
        )
        try:
            async with asyncio.timeout(self._timeout):
                response = await client.send(request, stream=True)
                await response.aclose()  # the answer's body is never read
        except (httpx.HTTPError, TimeoutError, OSError) as error:
            kind = type(error).__name__
            return domain.Attempt(error=f"{kind}: {error}"[:500] if str(error) else kind)
        return domain.Attempt(status_code=response.status_code)

    async def _settle(self, due: store.Due, attempt: domain.Attempt) -> str:
        """Record the attempt's outcome (and disable the subscription after the last
        failed one); the outcome as the metrics name it."""
        now = self._clock.now()
        async with self._db.unit_of_work() as uow:
            last_attempt = not attempt.delivered and due.attempts >= self.policy.max_attempts
            # Read only when it decides something: whether the receiver worked since.
            last_success = (
                await store.last_success(uow.conn, due.subscription_id) if last_attempt else None
            )
            settled = domain.after_attempt(
                attempt,
                due.attempts,
                self.policy,
                now,
                due.round_started_at,
                last_success,
                random.random(),
            )
            error = None if attempt.delivered else attempt.why[:500]
            await store.settle(uow.conn, due, settled, now, attempt.status_code, error)
            if settled.disable:
                await store.set_disabled(uow.conn, due.subscription_id, now, settled.disable)
                uow.publish(await _disabled(uow.conn, due, settled.disable, now))
            await uow.commit()
        outcome = {"pending": "retrying"}.get(settled.status, settled.status)
        metrics.WEBHOOK_DELIVERIES.labels(outcome).inc()
        if settled.disable:
            DISABLED.inc()
            log.warning(
                "webhook subscription disabled",
                subscription_id=str(due.subscription_id),
                reason=settled.disable,
            )
        return outcome


async def _disabled(
    conn: AsyncConnection, due: store.Due, reason: str, now: datetime
) -> CloudEvent:
    """``crm.gateway.webhook_disabled.v1``: the tenant is told, on its topic and through
    its other subscriptions, that this one gets nothing more until it is enabled."""
    tenant = await store.tenant_of(conn, due.subscription_id)
    payload = WebhookDisabled(
        webhook_id=str(due.subscription_id),
        host=hosts.check_url(due.url).host,
        reason=reason,
        disabled_at=now,
    )
    key = str(due.subscription_id)
    return new_event(payload, source="/crm/gateway", tenant_id=tenant, key=key, time=now)


async def prune_log(db: Database, retention: timedelta) -> None:
    """Forget the deliveries settled longer ago than the retention."""
    async with db.unit_of_work() as uow:
        pruned = await store.prune(uow.conn, SystemClock().now() - retention)
        await uow.commit()
    if pruned:
        log.info("webhook deliveries pruned", count=pruned)
