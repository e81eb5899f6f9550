"""Guardrails on automatic linking, per tenant. Plain Python, no I/O.

The rules, and why:

1. **Blocked values are never identities.** A shared or placeholder e-mail
   (``noreply@…``, ``test@…``) or phone (a shop's own number) would tie strangers
   together: a blocked value a partner sends is ignored, kept neither on the record
   nor as an identity, so it opens no merge candidate and links nothing.
2. **A match across sources follows the tenant's rule.** ``propose`` (the default):
   an unknown partner reference makes a new customer and a shared e-mail or phone a
   merge candidate, for an operator to decide. ``link``: an unknown reference whose
   e-mail or phone exactly one customer holds joins that customer, for tenants whose
   partners verify contact details.
3. **A customer has at most ``max_identities`` partner references**: linking stops
   there (the reference makes its own customer), and an operator adding one more is
   refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from services.profile.resolution import Contact

OnMatch = Literal["propose", "link"]
DEFAULT_BLOCKED_EMAILS = ("noreply@*", "no-reply@*", "donotreply@*", "test@*")


def _compiled(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One expression for the patterns: ``*`` is any text, everything else literal,
    compared without case."""
    if not patterns:
        return None
    alternatives = (
        "".join(".*" if p == "*" else re.escape(p) for p in re.split(r"(\*)", pattern))
        for pattern in patterns
    )
    return re.compile("|".join(f"(?:{a})" for a in alternatives), re.IGNORECASE)


@dataclass(frozen=True)
class Guardrails:
    blocked_emails: tuple[str, ...] = DEFAULT_BLOCKED_EMAILS
    blocked_phones: tuple[str, ...] = ()
    max_identities: int = 20
    on_match: OnMatch = "propose"

    @cached_property
    def _emails(self) -> re.Pattern[str] | None:
        return _compiled(self.blocked_emails)

    @cached_property
    def _phones(self) -> re.Pattern[str] | None:
        return _compiled(self.blocked_phones)

    def blocks(self, kind: str, value: str) -> bool:
        pattern = self._emails if kind == "email" else self._phones if kind == "phone" else None
        return bool(pattern and pattern.fullmatch(value))

    def screened(self, contact: Contact) -> Contact:
        """The contact details without the blocked values."""
        email = None if contact.email and self.blocks("email", contact.email) else contact.email
        phone = None if contact.phone and self.blocks("phone", contact.phone) else contact.phone
        return Contact(contact.name, email, phone)


DEFAULT = Guardrails()
