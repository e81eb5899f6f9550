"""Personal fields opened for the receiver at the moment of delivery.

The topics carry a customer's personal fields sealed under the customer's key
(``shared.sealing``), and a delivery's body is kept as the topic had it: sealed. A
receiver has no key and must get the event as it always has, so the sender opens the
body just before it signs and posts it, with the keys profile still holds. A customer
erased while a delivery waits has no key any more: the fields go out empty, as the
customer's events now fold everywhere, and nothing personal was kept in the gateway's
delivery rows meanwhile.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import orjson

from shared.sealing import Sealed, SubjectKey, unseal

Keys = Callable[[str, set[str]], Awaitable[dict[str, SubjectKey]]]
"""The keys of a tenant's key ids that still exist (``shared.keyring.KeyRing.keys``)."""


async def opened(body: bytes, keys: Keys) -> bytes:
    """``body`` (a delivery, ``domain.body``) with every sealed part of its ``data``
    opened in place; unchanged when nothing is sealed."""
    if b'"sealed"' not in body:
        return body
    document = orjson.loads(body)
    parts = list(_sealed_parts(document.get("data")))
    if not parts:
        return body
    seals = [Sealed.model_validate(part.pop("sealed")) for part in parts]
    found = await keys(str(document.get("tenant_id", "")), {s.kid for s in seals})
    for part, sealed in zip(parts, seals, strict=True):
        key = found.get(sealed.kid)
        part.update((unseal(key, sealed) if key is not None else None) or {})
    return orjson.dumps(document)


def _sealed_parts(value: Any) -> Iterator[dict[str, Any]]:
    """The objects inside ``value`` that carry a ``sealed`` envelope."""
    if isinstance(value, dict):
        if isinstance(value.get("sealed"), dict):
            yield value
        for inner in value.values():
            yield from _sealed_parts(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _sealed_parts(inner)
