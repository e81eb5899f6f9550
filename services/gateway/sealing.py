"""The gateway seals what partners post about a person before it reaches a topic.

Topics keep their events forever; a person's erasure reaches them by destroying the
key their personal fields were sealed under (``shared.sealing``). The keys live in
profile's database beside the identities erasure deletes (``services.profile.
subject_keys``); the gateway names a subject by what it knows, the partner's customer
reference, and asks profile for the keys a request's events need in one internal call,
keeping them a minute in ``GatewayResources.subject_keys`` so that a steady stream of
the same customers costs no call at all. An event with nothing personal in it (most
purchases) needs no key and no call, so ingestion still works while profile is away
for everything but contact details and free texts.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from services.gateway.upstream import Upstreams
from shared.contracts.privacy import SubjectKeys
from shared.events import REGISTRY, CloudEvent
from shared.events.activity import ACTIVITIES, REVISED, CustomerRef, Inbound
from shared.problems import Problem
from shared.sealing import KeyCache, Personal, SubjectKey, personal_fields, seal_payload

CacheKey = tuple[str, str, str]  # tenant, source, external_id
_CUSTOMER_FIELDS = CustomerRef.PERSONAL
_WRITTEN = (*ACTIVITIES.values(), *(payload for _, payload in REVISED.values()))
# Every activity's personal fields, ``properties`` among them: a non-empty one (a text,
# a map) makes the event personal at a glance, before it is parsed again.
_ACTIVITY_FIELDS = tuple({n: None for a in _WRITTEN for n in getattr(a, "PERSONAL", ())})


async def seal_events(
    upstreams: Upstreams, cache: KeyCache[CacheKey], tenant_id: str, events: Sequence[CloudEvent]
) -> list[CloudEvent]:
    """The events with their personal fields sealed under their subjects' keys (by
    position: a batch may repeat an id, and only its first is kept)."""
    personal = [_personal_inbound(e) for e in events]
    if not any(personal):
        return list(events)
    wanted = {(tenant_id, *_ref(p)) for p in personal if p is not None}
    keys = await _keys(upstreams, cache, tenant_id, wanted)
    return [
        e if p is None else _sealed(e, p, keys[(tenant_id, *_ref(p))])
        for e, p in zip(events, personal, strict=True)
    ]


def _personal_inbound(event: CloudEvent) -> Inbound[Any] | None:
    """The event's payload if it holds personal fields (checked on the plain data
    first, so an event without any is not parsed again)."""
    customer, activity = event.data.get("customer") or {}, event.data.get("activity") or {}
    if not any(customer.get(n) for n in _CUSTOMER_FIELDS) and not any(
        activity.get(n) for n in _ACTIVITY_FIELDS
    ):
        return None
    inbound = REGISTRY.parse(event.type, event.data)
    if not isinstance(inbound, Inbound):
        return None
    parts = (inbound.customer, inbound.activity)
    if not any(personal_fields(p) for p in parts if isinstance(p, Personal)):
        return None
    return inbound


def _ref(inbound: Inbound[Any]) -> tuple[str, str]:
    return inbound.customer.source, inbound.customer.external_id


def _sealed(event: CloudEvent, inbound: Inbound[Any], key: SubjectKey) -> CloudEvent:
    activity = inbound.activity
    sealed = inbound.model_copy(
        update={
            "customer": seal_payload(inbound.customer, key),
            "activity": seal_payload(activity, key) if isinstance(activity, Personal) else activity,
        }
    )
    return event.model_copy(update={"data": sealed.model_dump(mode="json", by_alias=True)})


async def _keys(
    upstreams: Upstreams, cache: KeyCache[CacheKey], tenant_id: str, wanted: set[CacheKey]
) -> dict[CacheKey, SubjectKey]:
    """The subjects' keys: from the cache, and the others from profile in one call."""
    missing = cache.missing(sorted(wanted))
    if missing:
        body = {"references": [{"source": s, "external_id": x} for _, s, x in missing]}
        answer = await upstreams.post("profile", "/internal/subject-keys", tenant_id, body)
        if answer.status_code != 200:
            raise Problem(
                503,
                "service-unavailable",
                "The profile service cannot give the keys personal data is sealed with; "
                "retry shortly.",
            )
        for given in SubjectKeys.model_validate_json(answer.content).keys:
            key = SubjectKey(given.kid, base64.b64decode(given.secret))
            cache.put((tenant_id, given.source, given.external_id), key)
    found = {name: cache.get(name)[1] for name in wanted}
    if any(key is None for key in found.values()):
        raise Problem(503, "service-unavailable", "Keys for personal data are missing; retry.")
    return {name: key for name, key in found.items() if key is not None}
