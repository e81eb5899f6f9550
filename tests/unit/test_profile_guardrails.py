"""Identity guardrails: blocked patterns (``*`` any text, everything else literal,
case-insensitive) drop a contact detail and nothing else."""

from __future__ import annotations

from services.profile.guardrails import DEFAULT, Guardrails
from services.profile.resolution import Contact


def test_a_pattern_blocks_what_it_spells_and_a_star_any_text():
    rails = Guardrails(("shop.desk@*", "*@example.test"), ("+4930123*",))
    assert rails.blocks("email", "Shop.Desk@store.example")
    assert not rails.blocks("email", "shopxdesk@store.example")  # the dot is literal
    assert rails.blocks("email", "anyone@example.test")
    assert rails.blocks("phone", "+49301234567") and not rails.blocks("phone", "+49309999")
    assert not rails.blocks("name", "shop.desk@x")


def test_screening_drops_blocked_details_and_keeps_the_rest():
    sent = Contact("Li", "noreply@shop.example", "+4930555")
    assert DEFAULT.screened(sent) == Contact("Li", None, "+4930555")
    assert Guardrails((), ()).screened(sent) == sent
