"""Webhooks' rules, plain Python: which events a subscription receives, what is sent,
when a failed delivery is tried again, and when a subscription has failed for good.

- A subscription names event types of the registry (the platform's own events, on
  every topic but ``crm.inbound``, whose partner posts are not yet a customer's, and
  ``crm.deadletter``), or ``*`` for all of them, today and as the registry grows; a
  type's later versions reach the subscribers of its earlier ones.
- A delivery is at least once: its ``webhook-id`` is the event's id, the same on every
  attempt and replay, so a receiver drops a repeat by that id.
- Retries back off exponentially (``base · 2^(n−1)``, at most ``max``), each delay
  scaled by a jitter in [0.8, 1.2) so receivers that failed together are not all
  retried in the same second. The defaults (16 attempts, 5 s doubling to 6 h) span
  about a day.
- A delivery that fails every attempt fails for good; if its subscription has had no
  success since that round began, the receiver is persistently failing, and the
  subscription is disabled with the reason (a later success elsewhere means the
  receiver works and only this event was refused, so the subscription stays), and
  ``crm.gateway.webhook_disabled.v1`` tells the tenant (its other subscriptions too).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import orjson

from shared import topics
from shared.events import REGISTRY, CloudEvent

EVERY_TYPE = "*"
TOPICS = (
    topics.ACTIVITY,
    topics.PROFILE,
    topics.LIFECYCLE,
    topics.LOYALTY,
    topics.FEEDBACK,
    topics.GATEWAY,
)
TYPES = tuple(sorted(t.type for t in REGISTRY if t.topic in TOPICS))
_DELIVERIES = uuid.UUID("6f1c7f0e-7a43-4d0c-9a57-2f6f0e3d9b11")

Status = Literal["pending", "delivered", "failed"]


def wants(event_types: Collection[str], event_type: str) -> bool:
    """Whether a subscription to ``event_types`` receives an event of ``event_type``: one
    of its types, or a later version of one (a type the platform revised, such as
    ``complaint_resolved.v2``, goes on to the receivers of its v1; the sender opens its
    sealed fields, so it reads as the v1 did, under its own ``type``)."""
    if EVERY_TYPE in event_types or event_type in event_types:
        return True
    name, _, version = event_type.rpartition(".v")
    earlier = {f"{name}.v{n}" for n in range(1, int(version))} if version.isdigit() else set()
    return not earlier.isdisjoint(event_types)


def delivery_id(subscription_id: uuid.UUID, event_id: uuid.UUID) -> uuid.UUID:
    """One delivery per subscription and event, whoever records it and however often."""
    return uuid.uuid5(_DELIVERIES, f"{subscription_id}:{event_id}")


def body(event: CloudEvent) -> bytes:
    """What a receiver gets, in the Standard Webhooks shape (``type``, ``timestamp``,
    ``data``) with the event's id, customer and tenant beside them."""
    return orjson.dumps(
        {
            "id": str(event.id),
            "type": event.type,
            "timestamp": event.time.isoformat().replace("+00:00", "Z"),
            "subject": event.subject,
            "tenant_id": event.tenantid,
            "data": event.data,
        }
    )


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: float
    max_seconds: float

    def delay(self, failed_attempts: int, jitter: float) -> timedelta:
        """The wait after the ``failed_attempts``-th failure; ``jitter`` in [0, 1)."""
        exponent = min(failed_attempts - 1, 60)
        seconds = min(self.base_seconds * 2**exponent, self.max_seconds)
        return timedelta(seconds=seconds * (0.8 + 0.4 * jitter))


@dataclass(frozen=True)
class Attempt:
    """What one attempt got: the receiver's status code, or why there was none."""

    status_code: int | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300

    @property
    def why(self) -> str:
        if self.error is not None:
            return self.error
        return f"the receiver answered {self.status_code}"


@dataclass(frozen=True)
class Settled:
    """A delivery after an attempt: its status, when it is due again, and whether the
    subscription is to be disabled (with the reason)."""

    status: Status
    next_attempt_at: datetime | None
    disable: str | None = None


def after_attempt(
    attempt: Attempt,
    attempts: int,
    policy: RetryPolicy,
    now: datetime,
    round_started_at: datetime,
    last_success_at: datetime | None,
    jitter: float,
) -> Settled:
    """The delivery's next state after its ``attempts``-th attempt of this round."""
    if attempt.delivered:
        return Settled("delivered", None)
    if attempts < policy.max_attempts:
        return Settled("pending", now + policy.delay(attempts, jitter))
    if last_success_at is not None and last_success_at >= round_started_at:
        return Settled("failed", None)
    reason = (
        f"{attempts} attempts since {round_started_at.isoformat()} failed (the last: "
        f"{attempt.why}) and nothing was delivered since; fix the receiver, then enable "
        "the subscription again and replay the failed deliveries"
    )
    return Settled("failed", None, disable=reason[:500])
