"""Event contracts: the CloudEvents envelope and the registry of typed payloads."""

from shared.events.envelope import CloudEvent, DecodeError, decode, encode, new_event
from shared.events.registry import REGISTRY, EventType, Registry

__all__ = [
    "REGISTRY",
    "CloudEvent",
    "DecodeError",
    "EventType",
    "Registry",
    "decode",
    "encode",
    "new_event",
]
