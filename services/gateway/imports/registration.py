"""A good row as the events a partner would have posted: ``customer.registered`` (and a
``consent.changed`` per consent column given), built and checked by ingestion itself.

So an imported customer takes the very path of a registration: the edge's checks
(e-mail, phone, bounds), then profile's identity resolution, guardrails and attributes,
and every service sees it like any other. Each event's partner id is derived from the
import and the row's line (``import:<id>:<line>``), so a retried chunk, a resumed job or
a crash between two chunks can never publish a row twice: the receipt table (and every
inbox downstream) drops the repeat. Its time is the upload's, the same on every try.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from services.gateway import ingestion
from services.gateway.imports.rows import Customer, Rejection
from shared.events import CloudEvent

CHANNEL = "import"


@dataclass(frozen=True)
class Importer:
    """Who imports, as the job recorded it: the key's partner, and what it may post for
    (``sources`` None: any, the operator's; ``event_types`` None: all)."""

    import_id: uuid.UUID
    tenant_id: str
    partner: str
    sources: Collection[str] | None
    event_types: Collection[str] | None
    uploaded_at: datetime


def events(importer: Importer, row: Customer, now: datetime) -> list[CloudEvent] | Rejection:
    """The row's events, or why the row is rejected (naming the field, never its value)."""
    source = row.reference["source"]
    if importer.sources is not None and source not in importer.sources:
        return Rejection(row.line, f"source: this API key may not post for source '{source}'")
    if row.consent and not _may_post(importer, "consent.changed"):
        return Rejection(row.line, "consent: this API key may not post consent.changed events")
    sender = ingestion.Sender(importer.tenant_id, importer.partner)
    built: list[CloudEvent] = []
    try:
        for raw in _posted(importer, row):
            event = ingestion.to_inbound(raw, sender, now)
            built.append(event.model_copy(update={"source": f"/imports/{importer.import_id}"}))
    except ingestion.InvalidEvent as invalid:
        return Rejection(row.line, _reason(invalid))
    return built


def _posted(importer: Importer, row: Customer) -> list[dict[str, object]]:
    prefix = f"import:{importer.import_id}:{row.line}"
    at = importer.uploaded_at.isoformat()
    registered: dict[str, object] = {
        "id": prefix,
        "type": "customer.registered",
        "occurred_at": at,
        "customer": row.reference,
        "data": {"channel": CHANNEL, "attributes": row.attributes},
    }
    reference = {k: row.reference[k] for k in ("source", "external_id")}
    consent: list[dict[str, object]] = [
        {
            "id": f"{prefix}:consent:{channel}:{purpose}",
            "type": "consent.changed",
            "occurred_at": at,
            "customer": reference,
            "data": {"channel": channel, "purpose": purpose, "granted": granted},
        }
        for (channel, purpose), granted in sorted(row.consent.items())
    ]
    return [registered, *consent]


def _may_post(importer: Importer, event_type: str) -> bool:
    return importer.event_types is None or event_type in importer.event_types


def _reason(invalid: ingestion.InvalidEvent) -> str:
    """The edge's refusal with the row's column names (``customer.email`` is ``email``)."""
    if not invalid.errors:
        return invalid.detail[:300]
    named = [
        f"{_column(e['field'])}: {e['message']}"[:200] for e in invalid.errors[:3] if e.get("field")
    ]
    return "; ".join(named) or invalid.detail[:300]


def _column(where: str) -> str:
    for prefix in ("customer.", "data.attributes.", "data."):
        if where.startswith(prefix):
            return where[len(prefix) :]
    return where
