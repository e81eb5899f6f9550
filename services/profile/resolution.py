"""How a batch of partner events finds its customers. Plain Python, no I/O.

The rules, and why:

1. **A partner reference (source, external id) is the only automatic key.** An
   unknown reference makes a new customer, even when its e-mail or phone is known:
   anyone may post any e-mail, so a match proves nothing, and linking on it would let
   one partner write onto another partner's customer. A shared e-mail or phone makes
   a *merge candidate* instead, for an operator to confirm or dismiss.
2. **Contact details belong to the source that owns the record**: the source of the
   customer's first reference (after a merge, the survivor's). Its events set name,
   e-mail and phone (a detail left out keeps its value); another source's events
   never change them, not even an empty one, for the same reason as in 1.
3. **The identity table never contradicts the records.** A live customer's e-mail and
   phone identities are exactly the e-mail and phone of its record: when the owner
   changes one, the old identity is released and the new one claimed (and a claim of a
   value another customer holds opens a candidate).

4. **Attributes travel as merge patches** (``services.profile.attributes``) from any
   source's ``customer.registered`` or ``customer.updated``: they are the tenant's
   own declared facts, checked against its schema, not contact details one source owns.
   Each customer the batch changes gets one new version (its ETag).

Within a batch, a reference met twice is one customer, so two events about one new
person make one customer. Everything here works on the whole batch in memory; the
handler reads what it needs in one query per kind and writes in one statement each.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.profile import attributes
from shared.events.activity import CustomerRef

CustomerKey = tuple[str, uuid.UUID]  # tenant, customer
ReferenceKey = tuple[str, str, str]  # tenant, 'ref:<source>', external id
ContactKey = tuple[str, str, str]  # tenant, 'email' | 'phone', value
CONTACT_KINDS = ("email", "phone")
REFERENCE_PREFIX = "ref:"
_PAIRS = uuid.UUID("6f1d1c52-5f0e-4d0c-9a7e-0c5a1d6b2e11")


def reference_key(tenant_id: str, ref: CustomerRef) -> ReferenceKey:
    return (tenant_id, REFERENCE_PREFIX + ref.source, ref.external_id)


def is_reference(kind: str) -> bool:
    return kind.startswith(REFERENCE_PREFIX)


@dataclass(frozen=True)
class Contact:
    """How to reach a customer (e-mails compared lowercased)."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None

    @classmethod
    def of(cls, ref: CustomerRef) -> Contact:
        return cls(ref.name, ref.email.lower() if ref.email else None, ref.phone)

    def updated_by(self, sent: Contact) -> Contact:
        """What the owning source sent replaces ours; a detail it left out keeps its value."""
        return Contact(sent.name or self.name, sent.email or self.email, sent.phone or self.phone)

    def value(self, kind: str) -> str | None:
        return self.email if kind == "email" else self.phone if kind == "phone" else None


@dataclass
class Record:
    """A customer as the batch sees it: who owns its details, and what they are."""

    key: CustomerKey
    owner_source: str | None
    contact: Contact
    created_at: datetime
    order: int = -1  # creation order within the batch; -1 for customers met before it
    attributes: dict[str, Any] = field(default_factory=dict)
    version: int = 1

    @property
    def is_new(self) -> bool:
        return self.order >= 0

    def age(self) -> tuple[datetime, int, str]:
        """Older first: created earlier, or (same instant) met before the batch or earlier
        in it; the id breaks the last tie so that the order never depends on luck."""
        return (self.created_at, self.order, str(self.key[1]))


@dataclass(frozen=True)
class Claim:
    """A customer now holds this e-mail or phone, since event ``cause`` of the batch."""

    contact: ContactKey
    customer: CustomerKey
    cause: int


@dataclass(frozen=True)
class Holder:
    """A customer that held a claimed e-mail or phone before the batch."""

    customer: CustomerKey
    created_at: datetime


@dataclass(frozen=True)
class Candidate:
    """Two live customers who share what ``matched`` names; the older would survive."""

    candidate_id: uuid.UUID
    tenant_id: str
    survivor_id: uuid.UUID
    merged_id: uuid.UUID
    matched: tuple[str, ...]
    cause: int


def candidate_id(tenant_id: str, first: uuid.UUID, second: uuid.UUID) -> uuid.UUID:
    """One id per pair, whichever way round: a pair is proposed once."""
    low, high = sorted((str(first), str(second)))
    return uuid.uuid5(_PAIRS, f"{tenant_id}/{low}/{high}")


@dataclass(frozen=True)
class Update:
    """A customer's record as the batch left it, and what changed: attribute names and
    ``name``, ``email`` or ``phone``."""

    record: Record
    changed: list[str]


@dataclass
class Resolution:
    """The batch's customers: the references known before it, and the records of the
    customers they name; grows as the batch meets new references."""

    references: dict[ReferenceKey, CustomerKey]
    records: dict[CustomerKey, Record]
    now: datetime
    # The tenant's guardrails (``services.profile.guardrails``): what a partner's contact
    # details are once blocked values are dropped, and which e-mails and phones an
    # unknown reference may join the one customer holding them by.
    screen: Callable[[str, Contact], Contact] = lambda _tenant, contact: contact
    links: dict[ContactKey, CustomerKey] = field(default_factory=dict)
    new_references: dict[ReferenceKey, CustomerKey] = field(default_factory=dict)
    created: list[tuple[int, CustomerKey]] = field(default_factory=list)
    _before: dict[CustomerKey, tuple[str | None, Contact]] = field(default_factory=dict)
    _changed_by: dict[CustomerKey, int] = field(default_factory=dict)
    _attributes_before: dict[CustomerKey, dict[str, Any]] = field(default_factory=dict)
    _patched_by: dict[CustomerKey, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._before = {k: (r.owner_source, r.contact) for k, r in self.records.items()}
        self._attributes_before = {k: dict(r.attributes) for k, r in self.records.items()}

    def _linked(self, tenant_id: str, sent: Contact) -> CustomerKey | None:
        for kind in CONTACT_KINDS:
            value = sent.value(kind)
            if value and (customer := self.links.get((tenant_id, kind, value))):
                return customer
        return None

    def edit(self, index: int, customer: CustomerKey, patch: dict[str, str | None]) -> None:
        """An operator's merge patch of the contact details (``None`` removes one)."""
        record = self.records[customer]
        details = {k: patch.get(k, getattr(record.contact, k)) for k in ("name", *CONTACT_KINDS)}
        if details["email"]:
            details["email"] = details["email"].lower()
        edited = Contact(**details)
        if edited != record.contact:
            record.contact = edited
            self._changed_by[customer] = index

    def patch_attributes(self, index: int, customer: CustomerKey, patch: attributes.Patch) -> None:
        """Apply a checked merge patch (from event ``index``) to the customer's attributes."""
        record = self.records[customer]
        record.attributes = attributes.merged(record.attributes, patch)
        self._patched_by[customer] = index

    def cause(self, customer: CustomerKey) -> int:
        """The last event of the batch that changed the customer's record."""
        return max(self._changed_by.get(customer, -1), self._patched_by.get(customer, -1))

    def resolve(
        self, index: int, tenant_id: str, ref: CustomerRef, new_id: Callable[[], uuid.UUID]
    ) -> CustomerKey:
        """The customer event ``index`` is about (new for an unknown reference); applies
        the contact details it carries if its source owns the record."""
        key = reference_key(tenant_id, ref)
        customer = self.references.get(key)
        sent = self.screen(tenant_id, Contact.of(ref))
        if customer is None and (customer := self._linked(tenant_id, sent)) is not None:
            self.references[key] = self.new_references[key] = customer
        if customer is None:
            customer = (tenant_id, new_id())
            self.references[key] = self.new_references[key] = customer
            self.records[customer] = Record(
                customer, ref.source, Contact(), self.now, order=len(self.created)
            )
            self.created.append((index, customer))
        record = self.records[customer]
        if record.owner_source is None:  # a record older than ownership: its first speaker
            record.owner_source = ref.source
        if record.owner_source == ref.source:
            updated = record.contact.updated_by(sent)
            if updated != record.contact:
                record.contact = updated
                self._changed_by[customer] = index
        return customer

    def changed(self) -> list[Record]:
        """Customers met before the batch whose owner, details or attributes it changed."""
        return [
            r
            for k, r in self.records.items()
            if k in self._before
            and (
                self._before[k] != (r.owner_source, r.contact)
                or self._attributes_before[k] != r.attributes
            )
        ]

    def settle(self) -> list[Update]:
        """Give each customer met before the batch and changed by it its next version;
        returns what changed for every customer: those (details or attributes) and the
        new ones (attributes only, their creation being announced already)."""
        updates = []
        for key, record in self.records.items():
            before = self._attributes_before.get(key, {})
            changed = attributes.changed_names(before, record.attributes)
            if key in self._before:
                contact = self._before[key][1]
                changed += [
                    k
                    for k in ("name", *CONTACT_KINDS)
                    if getattr(contact, k) != getattr(record.contact, k)
                ]
                if self._before[key] != (record.owner_source, record.contact) or changed:
                    record.version += 1
            if changed:
                updates.append(Update(record, changed))
        return updates

    def released(self) -> list[tuple[ContactKey, CustomerKey]]:
        """E-mail and phone identities customers no longer hold."""
        return [
            ((key[0], kind, old), key)
            for key, (_, before) in self._before.items()
            for kind in CONTACT_KINDS
            if (old := before.value(kind)) and old != self.records[key].contact.value(kind)
        ]

    def claims(self) -> list[Claim]:
        """E-mail and phone identities customers newly hold."""
        found = []
        for key, cause in self._changed_by.items():
            before = self._before.get(key, (None, Contact()))[1]
            for kind in CONTACT_KINDS:
                new = self.records[key].contact.value(kind)
                if new and new != before.value(kind):
                    found.append(Claim((key[0], kind, new), key, cause))
        return found


def find_candidates(
    resolution: Resolution, holders: Iterable[tuple[ContactKey, Holder]]
) -> list[Candidate]:
    """The pairs of live customers that share a value some customer claimed in this
    batch: with a customer that held it before (and still does), or with another
    customer of the batch. One candidate per pair, listing every kind they share."""
    sharing = _sharing(resolution, holders)
    pairs: dict[tuple[CustomerKey, CustomerKey], tuple[set[str], int]] = {}
    for claim in resolution.claims():
        claimant_age = sharing[claim.contact][claim.customer]
        for other, age in sharing[claim.contact].items():
            if other == claim.customer:
                continue
            (_, older), (_, newer) = sorted([(age, other), (claimant_age, claim.customer)])
            kinds, cause = pairs.get((older, newer), (set(), claim.cause))
            pairs[(older, newer)] = (kinds | {claim.contact[1]}, min(cause, claim.cause))
    return [
        Candidate(
            candidate_id(older[0], older[1], newer[1]),
            older[0],
            older[1],
            newer[1],
            tuple(sorted(kinds)),
            cause,
        )
        for (older, newer), (kinds, cause) in pairs.items()
    ]


def _sharing(
    resolution: Resolution, holders: Iterable[tuple[ContactKey, Holder]]
) -> dict[ContactKey, dict[CustomerKey, tuple[datetime, int, str]]]:
    """Who holds each value once the batch is applied, with their age. A holder the
    batch touched is represented by its record (it may have let the value go)."""
    sharing: dict[ContactKey, dict[CustomerKey, tuple[datetime, int, str]]] = {}
    for contact, holder in holders:
        if holder.customer not in resolution.records:
            age = (holder.created_at, -1, str(holder.customer[1]))
            sharing.setdefault(contact, {})[holder.customer] = age
    for key, record in resolution.records.items():
        for kind in CONTACT_KINDS:
            if value := record.contact.value(kind):
                sharing.setdefault((key[0], kind, value), {})[key] = record.age()
    return sharing
