"""Merge then undo, folded in memory the way profile's store applies the plans: the
merged customer gets back exactly what it had, and the survivor keeps what it had plus
what its own sources changed meanwhile, whatever arrived in between."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from hypothesis import given, settings
from hypothesis import strategies as st

from services.profile.merging import plan_merge
from services.profile.resolution import Contact
from services.profile.unmerging import Moved, plan_unmerge, survivor_after

Identity = tuple[str, str]
EMAILS = ["a@example.com", "b@example.com", None]
PHONES = ["+4511111111", "+4522222222", None]
NAMES = ["Li", "Ana", None]


@dataclass
class Side:
    contact: Contact
    refs: set[Identity] = field(default_factory=set)
    contacts: set[Identity] = field(default_factory=set)

    def identities(self) -> set[Identity]:
        return self.refs | self.contacts


def side(contact: Contact, refs: list[str]) -> Side:
    held = {(k, v) for k in ("email", "phone") if (v := contact.value(k)) is not None}
    return Side(contact, {(r.split("/")[0], r) for r in refs}, held)


def contacts() -> st.SearchStrategy[Contact]:
    return st.builds(Contact, st.sampled_from(NAMES), st.sampled_from(EMAILS),
                     st.sampled_from(PHONES))  # fmt: skip


# What may arrive for the survivor while merged: a new partner reference, or its own
# source changing a detail to a value nobody had.
Change = tuple[str, str]
changes = st.lists(
    st.tuples(st.sampled_from(["ref", "name", "email", "phone"]), st.integers(0, 3)).map(
        lambda c: (c[0], f"new-{c[1]}@example.com" if c[0] == "email" else f"new{c[1]}")
    ),
    max_size=4,
)


def meanwhile(s: Side, change: Change) -> None:
    kind, value = change
    if kind == "ref":
        s.refs.add(("ref:late", value))
        return
    if kind in ("email", "phone"):
        s.contacts = {i for i in s.contacts if i[0] != kind} | {(kind, value)}
    s.contact = replace(s.contact, **{kind: value})


def merge(survivor: Side, merged: Side) -> Moved:
    plan = plan_merge(survivor.contact, merged.contact, merged.identities())
    for kind, value in plan.moved:
        (survivor.refs if kind.startswith("ref:") else survivor.contacts).add((kind, value))
    merged.refs, merged.contacts = set(), set()
    survivor.contact = replace(survivor.contact, **plan.filled)
    return Moved.of(plan.record())


def unmerge(moved: Moved, survivor: Side, merged: Side) -> None:
    plan = plan_unmerge(moved, survivor.contact, survivor.identities(), merged.contact)
    for kind, value in plan.back:  # the survivor's row moves to the merged customer
        survivor.refs.discard((kind, value))
        survivor.contacts.discard((kind, value))
    for kind, value in [*plan.back, *plan.restore]:
        (merged.refs if kind.startswith("ref:") else merged.contacts).add((kind, value))
    survivor.contact = survivor_after(survivor.contact, plan)


def copy(s: Side) -> Side:
    return Side(s.contact, set(s.refs), set(s.contacts))


@settings(max_examples=300, deadline=None)
@given(contacts(), contacts(), changes)
def test_merge_then_undo_restores_both_whatever_arrived_in_between(
    survivor_contact: Contact, merged_contact: Contact, arrived: list[Change]
) -> None:
    survivor = side(survivor_contact, ["ref:pos/C-1"])
    merged = side(merged_contact, ["ref:shop/S-1", "ref:pos/C-2"])
    expected_survivor, expected_merged = copy(survivor), copy(merged)
    for change in arrived:
        meanwhile(expected_survivor, change)

    moved = merge(survivor, merged)
    for change in arrived:
        meanwhile(survivor, change)
    unmerge(moved, survivor, merged)

    assert (merged.contact, merged.identities()) == (
        expected_merged.contact,
        expected_merged.identities(),
    )
    assert (survivor.contact, survivor.identities()) == (
        expected_survivor.contact,
        expected_survivor.identities(),
    )


def test_a_detail_the_merge_filled_is_emptied_again_but_a_later_one_stays() -> None:
    survivor, merged = side(Contact("Li"), []), side(Contact("Li", "a@example.com"), [])
    moved = merge(survivor, merged)
    assert survivor.contact.email == "a@example.com"
    plan = plan_unmerge(moved, survivor.contact, survivor.identities(), merged.contact)
    assert (plan.back, plan.cleared) == ([("email", "a@example.com")], ["email"])

    meanwhile(survivor, ("email", "b@example.com"))
    plan = plan_unmerge(moved, survivor.contact, survivor.identities(), merged.contact)
    assert (plan.back, plan.restore, plan.cleared) == ([], [("email", "a@example.com")], [])


def test_an_old_merge_record_without_the_later_keys_reads_as_nothing_repointed() -> None:
    moved = Moved.of({"moved": [["ref:pos", "C-1"]], "released": [], "filled": {}})
    assert (moved.moved, moved.repointed, moved.released_rows) == ((("ref:pos", "C-1"),), (), ())
