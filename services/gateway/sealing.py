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

from collections.abc import Sequence
from typing import Any

from services.gateway.upstream import Upstreams
from shared import topics
from shared.contracts.privacy import SubjectKeys
from shared.events import REGISTRY, CloudEvent
from shared.events.activity import CustomerRef
from shared.problems import Problem
from shared.sealing import KeyCache, Personal, SubjectKey, seal

CacheKey = tuple[str, str, str]  # tenant, source, external_id
Part = type[Personal]


def _activities() -> dict[str, Part]:
    """The activity class of each crm.inbound type, when it has personal fields."""
    found: dict[str, Part] = {}
    for inbound in REGISTRY.payloads_on(topics.INBOUND):
        activity = inbound.model_fields["activity"].annotation
        name = REGISTRY.type_name(inbound)
        if name and isinstance(activity, type) and issubclass(activity, Personal):
            found[name] = activity
    return found


_ACTIVITY_OF = _activities()
_PARTS: list[Part] = [CustomerRef, *_ACTIVITY_OF.values()]
_BLANKS = {
    part: {n: part.model_fields[n].get_default(call_default_factory=True) for n in part.PERSONAL}
    for part in _PARTS
}


async def seal_events(
    upstreams: Upstreams, cache: KeyCache[CacheKey], tenant_id: str, events: Sequence[CloudEvent]
) -> list[CloudEvent]:
    """The events with their personal fields sealed under their subjects' keys (by
    position: a batch may repeat an id, and only its first is kept)."""
    subjects = [_subject(e) for e in events]
    if not any(subjects):
        return list(events)
    wanted = {(tenant_id, *s) for s in subjects if s is not None}
    keys = await _keys(upstreams, cache, tenant_id, wanted)
    return [
        e if s is None else _sealed(e, keys[(tenant_id, *s)])
        for e, s in zip(events, subjects, strict=True)
    ]


def _subject(event: CloudEvent) -> tuple[str, str] | None:
    """The partner's reference of the customer, if the event holds personal fields.

    Read from the event's JSON as ``ingestion`` validated and wrote it a moment ago,
    not parsed again: sealing is on every post's path."""
    data = event.data
    customer, activity = data.get("customer") or {}, data.get("activity") or {}
    kind = _ACTIVITY_OF.get(event.type)
    if not _fields(customer, CustomerRef) and not (kind and _fields(activity, kind)):
        return None
    return customer["source"], customer["external_id"]


def _fields(part: dict[str, Any], kind: Part) -> dict[str, Any]:
    """The personal fields of ``part`` that hold something (as ``personal_fields``)."""
    blanks = _BLANKS[kind]
    return {
        name: part[name]
        for name, blank in blanks.items()
        if part.get(name) not in (None, "", {}, []) and part[name] != blank
    }


def _seal_part(part: dict[str, Any], kind: Part, key: SubjectKey) -> dict[str, Any]:
    fields = _fields(part, kind)
    if not fields or part.get("sealed") is not None:
        return part
    blank = {name: _BLANKS[kind][name] for name in fields}
    return {**part, **blank, "sealed": seal(key, fields).model_dump(mode="json")}


def _sealed(event: CloudEvent, key: SubjectKey) -> CloudEvent:
    data = dict(event.data)
    data["customer"] = _seal_part(data["customer"], CustomerRef, key)
    kind = _ACTIVITY_OF.get(event.type)
    if kind is not None:
        data["activity"] = _seal_part(data["activity"], kind, key)
    return event.model_copy(update={"data": data})


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
            cache.put((tenant_id, given.source, given.external_id), given.key())
    found = {name: cache.get(name)[1] for name in wanted}
    if any(key is None for key in found.values()):
        raise Problem(503, "service-unavailable", "Keys for personal data are missing; retry.")
    return {name: key for name, key in found.items() if key is not None}
