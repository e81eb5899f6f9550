"""What a consumer group applies, and how its handlers receive events.

A ``Subscription`` names the topics a group reads and the payload classes its
handler applies (the types come from the registry, never typed as strings); a
handler receives each event as ``Received[P]``, typed by its payload.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncConnection

from shared.bus import Record
from shared.events import REGISTRY, CloudEvent
from shared.events.payload import Payload
from shared.uow import UnitOfWork

__all__ = [
    "BatchHandler",
    "CustomerKey",
    "Received",
    "Subscription",
    "TenantFilter",
    "UnknownEventType",
    "only",
]

P = TypeVar("P", bound=Payload)
Q = TypeVar("Q", bound=Payload)
CustomerKey = tuple[str, uuid.UUID]


@dataclass(frozen=True)
class Received(Generic[P]):
    """A consumed event: its envelope and its typed payload."""

    event: CloudEvent
    payload: P
    record: Record
    # The customer the event named, when a merge standing then made ``event.subject``
    # its survivor (``shared.merges.on_survivors``): what it adds belongs to that side,
    # and goes back there if the merge is undone.
    merged_from: uuid.UUID | None = None

    @cached_property  # asked many times per event; ``replace`` makes a new instance
    def customer(self) -> CustomerKey:
        """The tenant and canonical customer the event is about (its CloudEvents subject)."""
        if self.event.subject is None:
            raise ValueError(f"{self.event.type} {self.event.id} names no customer (no subject)")
        return self.event.tenantid, uuid.UUID(self.event.subject)


def only(batch: Iterable[Received[Any]], kind: type[Q]) -> list[Received[Q]]:
    """The events of ``batch`` whose payload is a ``kind``, typed as such, in order."""
    return [cast(Received[Q], r) for r in batch if isinstance(r.payload, kind)]


BatchHandler = Callable[[UnitOfWork, Sequence[Received[Any]]], Awaitable[None]]
# The tenants a group serves now, asked once per batch before anything is decoded.
TenantFilter = Callable[[AsyncConnection], Awaitable[Collection[str]]]


def by_tenant(batch: Iterable[Received[Any]]) -> dict[str, list[Received[Any]]]:
    """The batch's events per tenant, each tenant's in order (for rules per tenant)."""
    split: dict[str, list[Received[Any]]] = {}
    for received in batch:
        split.setdefault(received.event.tenantid, []).append(received)
    return split


class UnknownEventType(ValueError):
    """A subscription names a payload the registry does not know, or one that never
    travels on the topics it reads: a wiring mistake, refused when the service starts."""


@dataclass(frozen=True)
class Subscription:
    """A consumer group of a service: the topics it reads and the payloads it applies.

    The event types come from the registry (the payload classes the handler
    matches on are the ones named here, never strings typed a second time). Other
    types on those topics are skipped, except another version of a type it knows,
    which it cannot apply and so dead-letters.
    """

    group: str
    topics: tuple[str, ...]
    applies: tuple[type[Payload], ...]
    handler: BatchHandler
    batch_size: int | None = None  # records per batch; None: the service's consumer_batch_size
    # Only these tenants' events are read (None: every tenant's). A group that serves few
    # tenants (webhooks: those with a subscription) skips the others' events unparsed.
    tenants: TenantFilter | None = None
    types: frozenset[str] = field(init=False)
    _names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        types = frozenset(self._type_of(payload) for payload in self.applies)
        object.__setattr__(self, "types", types)
        object.__setattr__(self, "_names", frozenset(t.rsplit(".", 1)[0] for t in types))

    def _type_of(self, payload: type[Payload]) -> str:
        event_type = REGISTRY.type_name(payload)
        if event_type is None:
            raise UnknownEventType(
                f"subscription {self.group} applies {payload.__name__}, "
                "which is no registered event type (shared/events/registry.py)"
            )
        topic = ".".join(event_type.split(".")[:2])
        if topic not in self.topics:
            raise UnknownEventType(
                f"subscription {self.group} applies {event_type}, which travels on {topic}, "
                f"not on the topics it reads ({', '.join(self.topics)})"
            )
        return event_type

    def verdict(self, event_type: str) -> str:
        if event_type in self.types:
            return "apply"
        return "unsupported" if event_type.rsplit(".", 1)[0] in self._names else "ignore"
