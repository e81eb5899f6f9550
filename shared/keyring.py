"""The subject keys a consumer needs to open the personal fields it keeps (``shared.sealing``),
read from profile, which keeps them, in one signed call per batch and cached a minute.

A key profile no longer has was destroyed by an erasure: the fields open to nothing,
which is what an erased person's events should fold to. Profile out of reach is the
infrastructure's fault, never the event's: ``KeysUnavailable`` is a ``ConnectionError``,
so the consumer keeps the batch in hand and retries rather than dead-lettering it.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import replace
from typing import Any

import httpx

from shared import outgoing
from shared.contracts.privacy import SubjectKeys
from shared.internal import TENANT_HEADER, InternalAuth
from shared.sealing import KeyCache, Personal, SubjectKey, kids_of, open_with
from shared.subscription import Received

KEYS_BY_KID = "/internal/subject-keys/by-kid"
MAX_KIDS = 500


class KeysUnavailable(ConnectionError):
    """Profile did not give the keys; the batch waits for it."""


class KeyRing:
    def __init__(self, client: httpx.AsyncClient, cache: KeyCache[str] | None = None) -> None:
        self._client, self._cache = client, cache or KeyCache()

    async def keys(self, tenant_id: str, kids: Iterable[str]) -> dict[str, SubjectKey]:
        """The keys of ``kids`` that still exist (one call for those not cached)."""
        wanted = set(kids)
        missing = self._cache.missing(sorted(wanted))
        for start in range(0, len(missing), MAX_KIDS):
            await self._fetch(tenant_id, missing[start : start + MAX_KIDS])
        found = {kid: self._cache.get(kid)[1] for kid in wanted}
        return {kid: key for kid, key in found.items() if key is not None}

    async def _fetch(self, tenant_id: str, kids: list[str]) -> None:
        try:
            answer = await self._client.post(
                KEYS_BY_KID, json={"kids": kids}, headers={TENANT_HEADER: tenant_id}
            )
        except httpx.HTTPError as error:
            raise KeysUnavailable("profile does not answer for subject keys") from error
        if answer.status_code != 200:
            raise KeysUnavailable(f"profile answered {answer.status_code} for subject keys")
        given = {k.kid: k for k in SubjectKeys.model_validate_json(answer.content).keys}
        for kid in kids:
            key = given.get(kid)
            self._cache.put(kid, SubjectKey(kid, base64.b64decode(key.secret)) if key else None)


@contextlib.asynccontextmanager
async def key_ring(
    url: str, internal_secret: str, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[KeyRing]:
    """A key ring reaching profile at ``url`` (in-process through ``transport`` in
    embedded mode), open for the service's lifetime."""
    async with outgoing.client(
        "profile",
        base_url=url,
        transport=transport,
        timeout=10.0,
        auth=InternalAuth(internal_secret),
    ) as client:
        yield KeyRing(client)


async def open_batch(
    ring: KeyRing,
    tenant_id: str,
    batch: Sequence[Received[Any]],
    kinds: tuple[type[Personal], ...],
) -> list[Received[Any]]:
    """The tenant's events with the sealed fields of ``kinds`` (those the consumer keeps)
    opened, by one call for the batch's keys (none when nothing is sealed); an erased
    subject's fields open empty."""
    kids = kids_of(r.payload for r in batch if isinstance(r.payload, kinds))
    if not kids:
        return list(batch)
    keys = await ring.keys(tenant_id, kids)
    return [
        replace(r, payload=open_with(r.payload, keys)) if isinstance(r.payload, kinds) else r
        for r in batch
    ]
