"""The subject keys a consumer needs to open the personal fields it keeps (``shared.sealing``),
read from profile, which keeps them, in one signed call per batch and cached a minute;
and the customers' own keys (source ``crm:record``) a service seals the personal fields
of its own events about them with (``customer_keys``), made by profile on first use for
a customer it holds, never for an erased one.

A key profile no longer has was destroyed by an erasure: the fields open to nothing,
which is what an erased person's events should fold to. Profile out of reach is the
infrastructure's fault, never the event's: ``KeysUnavailable`` is a ``ConnectionError``,
so the consumer keeps the batch in hand and retries rather than dead-lettering it.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import replace
from typing import Any, Protocol

import httpx

from shared import outgoing
from shared.contracts.privacy import SubjectKeyGiven, SubjectKeys
from shared.internal import TENANT_HEADER, InternalAuth
from shared.sealing import KeyCache, Personal, SubjectKey, kids_of, open_with
from shared.subscription import Received

KEYS_BY_KID = "/internal/subject-keys/by-kid"
KEYS_OF_CUSTOMERS = "/internal/subject-keys/customers"
MAX_KIDS = 500


class KeysUnavailable(ConnectionError):
    """Profile did not give the keys; the batch waits for it."""


class Keys(Protocol):
    """Where a service gets subject keys (``KeyRing``, reaching profile)."""

    async def keys(self, tenant_id: str, kids: Iterable[str]) -> dict[str, SubjectKey]: ...

    async def customer_keys(
        self, tenant_id: str, customer_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, SubjectKey]: ...


class KeyRing:
    def __init__(self, client: httpx.AsyncClient, cache: KeyCache[str] | None = None) -> None:
        self._client, self._cache = client, cache or KeyCache()
        self._customers: KeyCache[tuple[str, uuid.UUID]] = KeyCache()

    async def keys(self, tenant_id: str, kids: Iterable[str]) -> dict[str, SubjectKey]:
        """The keys of ``kids`` that still exist (one call for those not cached)."""
        wanted = set(kids)
        missing = self._cache.missing(sorted(wanted))
        for start in range(0, len(missing), MAX_KIDS):
            await self._fetch(tenant_id, missing[start : start + MAX_KIDS])
        found = {kid: self._cache.get(kid)[1] for kid in wanted}
        return {kid: key for kid, key in found.items() if key is not None}

    async def customer_keys(
        self, tenant_id: str, customer_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, SubjectKey]:
        """The keys of the customers profile holds (made on first use; an erased or
        unknown customer has none), by one call for those not cached."""
        wanted = {(tenant_id, c) for c in customer_ids}
        missing = self._customers.missing(sorted(wanted))
        for start in range(0, len(missing), MAX_KIDS):
            chunk = missing[start : start + MAX_KIDS]
            await self._fetch_customers(tenant_id, [customer for _, customer in chunk])
        found = {name[1]: self._customers.get(name)[1] for name in wanted}
        return {customer: key for customer, key in found.items() if key is not None}

    async def _fetch_customers(self, tenant_id: str, customer_ids: list[uuid.UUID]) -> None:
        body = {"customer_ids": [str(c) for c in customer_ids]}
        given = await self._ask(KEYS_OF_CUSTOMERS, tenant_id, body)
        by_customer = {k.external_id: k for k in given.values()}
        for customer in customer_ids:
            key = by_customer.get(str(customer))
            found = key.key() if key else None
            self._customers.put((tenant_id, customer), found)
            if found is not None:  # the same key opens what it sealed
                self._cache.put(found.kid, found)

    async def _fetch(self, tenant_id: str, kids: list[str]) -> None:
        given = await self._ask(KEYS_BY_KID, tenant_id, {"kids": kids})
        for kid in kids:
            key = given.get(kid)
            self._cache.put(kid, key.key() if key else None)

    async def _ask(
        self, path: str, tenant_id: str, body: dict[str, Any]
    ) -> dict[str, SubjectKeyGiven]:
        """Profile's answer, by key id; ``KeysUnavailable`` if it gives none."""
        try:
            answer = await self._client.post(path, json=body, headers={TENANT_HEADER: tenant_id})
        except httpx.HTTPError as error:
            raise KeysUnavailable("profile does not answer for subject keys") from error
        if answer.status_code != 200:
            raise KeysUnavailable(f"profile answered {answer.status_code} for subject keys")
        return {k.kid: k for k in SubjectKeys.model_validate_json(answer.content).keys}


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
    ring: Keys,
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
