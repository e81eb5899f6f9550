"""Profile's identity rules (plain Python): a partner reference is the only automatic
key, a shared e-mail or phone makes a merge candidate, contact details belong to the
source that owns the record, and identities always equal the records."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.profile.resolution import (
    Candidate,
    Contact,
    CustomerKey,
    Holder,
    Record,
    ReferenceKey,
    Resolution,
    candidate_id,
    find_candidates,
    reference_key,
)
from shared.events.activity import CustomerRef

T = "tenant-1"
EARLIER = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 10, 15, tzinfo=UTC)
LI = "li@example.com"
PHONE = "+8613800000000"


def ref(source: str = "pos", external_id: str = "C-1", **contact: str) -> CustomerRef:
    return CustomerRef(source=source, external_id=external_id, **contact)


@dataclass
class Profile:
    """Profile's tables in memory, written as the handler writes them."""

    references: dict[ReferenceKey, CustomerKey] = field(default_factory=dict)
    records: dict[CustomerKey, Record] = field(default_factory=dict)
    identities: set[tuple[str, str, str, uuid.UUID]] = field(default_factory=set)
    candidates: dict[uuid.UUID, Candidate] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=itertools.count)

    def post(
        self, *refs: CustomerRef, now: datetime = NOW
    ) -> tuple[list[CustomerKey], list[Candidate]]:
        """One batch: returns each event's customer and the candidates it opened."""
        known = {k: c for r in refs if (c := self.references.get(k := reference_key(T, r)))}
        records = {c: replace(self.records[c]) for c in known.values()}
        resolution = Resolution(known, records, now)
        resolved = [resolution.resolve(i, T, r, self._new_id) for i, r in enumerate(refs)]
        claimed = {c.contact for c in resolution.claims()}
        holders = [
            ((t, k, v), Holder((t, c), self.records[(t, c)].created_at))
            for t, k, v, c in self.identities
            if (t, k, v) in claimed
        ]
        candidates = find_candidates(resolution, holders)
        for _, key in resolution.created:
            self.records[key] = resolution.records[key]
        self.records.update({r.key: r for r in resolution.changed()})
        for (t, k, v), (_, c) in resolution.released():
            self.identities.remove((t, k, v, c))
        self.identities |= {(*c.contact, c.customer[1]) for c in resolution.claims()}
        self.references.update(resolution.new_references)
        opened = [c for c in candidates if c.candidate_id not in self.candidates]
        self.candidates.update({c.candidate_id: c for c in opened})
        return resolved, opened

    def _new_id(self) -> uuid.UUID:
        return uuid.UUID(int=next(self.ids) + 1)

    def contact(self, key: CustomerKey) -> Contact:
        return self.records[key].contact

    def identities_of(self, key: CustomerKey, kind: str) -> set[str]:
        return {v for t, k, v, c in self.identities if (t, c) == key and k == kind}


def test_two_events_about_one_new_person_in_a_batch_make_one_customer():
    profile = Profile()

    (first, second), candidates = profile.post(ref(), ref(email=LI, phone=PHONE))

    assert first == second
    assert len(profile.records) == 1 and candidates == []
    assert profile.contact(first) == Contact(None, LI, PHONE)


def test_different_people_in_a_batch_stay_different_customers():
    (alice, bob), _ = Profile().post(ref(external_id="C-1"), ref(external_id="C-2"))

    assert alice != bob


def test_a_known_reference_resolves_to_its_customer_in_a_later_batch():
    profile = Profile()
    (first,), _ = profile.post(ref())

    (again,), _ = profile.post(ref())

    assert again == first


def test_another_source_naming_a_known_email_gets_its_own_customer_and_a_candidate():
    profile = Profile()
    (alice,), _ = profile.post(ref("pos", "C-1", email=LI, name="Li Wei"))

    (mallory,), candidates = profile.post(ref("shop", "S-9", email="Li@Example.com", name="X"))

    assert mallory != alice
    assert profile.contact(alice) == Contact("Li Wei", LI, None)
    [candidate] = candidates
    assert (candidate.survivor_id, candidate.merged_id) == (alice[1], mallory[1])
    assert candidate.matched == ("email",)


def test_another_external_id_of_the_same_source_with_a_known_phone_is_a_candidate_too():
    profile = Profile()
    (alice,), _ = profile.post(ref("pos", "C-1", phone=PHONE))

    (other,), [candidate] = profile.post(ref("pos", "C-2", phone=PHONE))

    assert other != alice
    assert (candidate.survivor_id, candidate.merged_id, candidate.matched) == (
        alice[1],
        other[1],
        ("phone",),
    )


def test_sharing_email_and_phone_makes_one_candidate_naming_both():
    profile = Profile()
    profile.post(ref("pos", "C-1", email=LI, phone=PHONE))

    _, [candidate] = profile.post(ref("shop", "S-1", email=LI, phone=PHONE))

    assert candidate.matched == ("email", "phone")


def test_two_new_people_sharing_an_email_in_one_batch_stay_two_with_the_first_surviving():
    (first, second), [candidate] = Profile().post(
        ref("pos", "C-1", email=LI), ref("shop", "S-1", email=LI)
    )

    assert first != second
    assert (candidate.survivor_id, candidate.merged_id) == (first[1], second[1])


def test_a_customer_met_before_the_batch_is_older_even_at_the_same_instant():
    profile = Profile()
    (alice,), _ = profile.post(ref("pos", "C-1", email=LI), now=NOW)

    (bob,), [candidate] = profile.post(ref("shop", "S-1", email=LI), now=NOW)

    assert (candidate.survivor_id, candidate.merged_id) == (alice[1], bob[1])


def test_a_pair_is_proposed_once():
    profile = Profile()
    profile.post(ref("pos", "C-1", email=LI))
    _, first = profile.post(ref("shop", "S-1", email=LI))

    _, again = profile.post(ref("shop", "S-1", email=LI, phone=PHONE))

    assert len(first) == 1 and again == []


def test_candidate_ids_name_the_pair_whichever_way_round_within_a_tenant():
    a, b = uuid.uuid4(), uuid.uuid4()

    assert candidate_id(T, a, b) == candidate_id(T, b, a)
    assert candidate_id(T, a, b) != candidate_id("tenant-2", a, b)


def test_the_owning_source_changes_its_details_and_the_identities_follow():
    profile = Profile()
    (alice,), _ = profile.post(ref(email=LI, phone=PHONE, name="Li Wei"))

    profile.post(ref(email="New@Example.com", name="Wei Li"))

    assert profile.contact(alice) == Contact("Wei Li", "new@example.com", PHONE)
    assert profile.identities_of(alice, "email") == {"new@example.com"}
    assert profile.identities_of(alice, "phone") == {PHONE}


def test_a_source_that_does_not_own_the_record_never_changes_it():
    """After a merge, the shop's reference names the POS's customer: its details stay
    the POS's, even the empty phone."""
    profile = Profile()
    (alice,), _ = profile.post(ref("pos", "C-1", email=LI, name="Li Wei"))
    profile.references[reference_key(T, ref("shop", "S-1"))] = alice

    (same,), candidates = profile.post(ref("shop", "S-1", email="x@example.com", phone=PHONE))

    assert same == alice and candidates == []
    assert profile.contact(alice) == Contact("Li Wei", LI, None)
    assert profile.identities_of(alice, "email") == {LI}


def test_the_owner_taking_an_email_another_customer_holds_opens_a_candidate():
    profile = Profile()
    (old,), _ = profile.post(ref("pos", "C-1", email="a@example.com"), now=EARLIER)
    (young,), _ = profile.post(ref("shop", "S-1", email=LI), now=NOW)

    _, [candidate] = profile.post(ref("pos", "C-1", email=LI), now=NOW + timedelta(days=1))

    assert (candidate.survivor_id, candidate.merged_id) == (old[1], young[1])
    assert profile.identities_of(old, "email") == {LI} == profile.identities_of(young, "email")


def test_a_value_let_go_in_the_batch_is_no_match():
    profile = Profile()
    profile.post(ref("pos", "C-1", email=LI))

    _, candidates = profile.post(
        ref("pos", "C-1", email="a@example.com"), ref("shop", "S", email=LI)
    )

    assert candidates == []


def test_references_are_per_tenant():
    resolution = Resolution({}, {}, NOW)
    ids = iter([uuid.uuid4(), uuid.uuid4()])

    first = resolution.resolve(0, "t1", ref(), lambda: next(ids))
    second = resolution.resolve(1, "t2", ref(), lambda: next(ids))

    assert first[1] != second[1]


SOURCES = st.sampled_from(["pos", "shop"])
EXTERNAL = st.sampled_from(["1", "2", "3"])
EMAILS = st.none() | st.sampled_from(["a@example.com", "b@example.com"])
PHONES = st.none() | st.sampled_from(["+4512345678", "+4587654321"])
REFS = st.builds(
    lambda s, x, e, p: ref(s, x, **{k: v for k, v in (("email", e), ("phone", p)) if v}),
    SOURCES,
    EXTERNAL,
    EMAILS,
    PHONES,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(REFS, min_size=1, max_size=4), min_size=1, max_size=6))
def test_identities_equal_records_and_every_shared_value_has_a_candidate(batches):
    profile = Profile()
    for step, batch in enumerate(batches):
        before = {k: (r.owner_source, r.contact) for k, r in profile.records.items()}
        resolved, _ = profile.post(*batch, now=NOW + timedelta(minutes=step))
        for key, (owner, contact) in before.items():
            speakers = {r.source for r, k in zip(batch, resolved, strict=True) if k == key}
            if profile.contact(key) != contact:
                assert owner in speakers  # only the owning source changes a record

    for key, record in profile.records.items():
        for kind in ("email", "phone"):
            value = record.contact.value(kind)
            assert profile.identities_of(key, kind) == ({value} if value else set())
    for (t, kind, value), holders in itertools.groupby(
        sorted((t, k, v, c) for t, k, v, c in profile.identities), key=lambda i: i[:3]
    ):
        customers = [c for *_, c in holders]
        for a, b in itertools.combinations(customers, 2):
            assert candidate_id(t, a, b) in profile.candidates, (kind, value)
