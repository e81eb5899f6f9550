"""Feedback's own free texts on crm.feedback, sealed under the customer's key.

The desk's resolution of a complaint and a customer's comment on a token answer are
announced so that a rebuild of feedback folds them again (``decisions``); crm.feedback
keeps its events forever, so they travel sealed (``shared.sealing``) under the
customer's own key (source ``crm:record``), which profile makes on first use and an
erasure destroys. The key is fetched before the unit of work that announces the text
(no call while rows are locked); profile out of reach refuses the request (503,
nothing written). A customer profile holds no key for is erased, or being erased: the
text is left out of the announcement (the row keeps it until feedback's own erasure).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from shared.keyring import Keys
from shared.problems import Problem
from shared.sealing import P, SubjectKey, seal_payload

CustomerKeys = Mapping[uuid.UUID, SubjectKey]
NONE: CustomerKeys = {}


async def keys_for(
    keys: Keys, tenant_id: str, customer_id: uuid.UUID, text: str | None
) -> CustomerKeys:
    """The customer's key ``text`` will be sealed under: none asked for when there is no
    text, none given for an erased customer. Raises ``shared.keyring.KeysUnavailable``."""
    if not text:
        return NONE
    return await keys.customer_keys(tenant_id, [customer_id])


def sealed(payload: P, key: SubjectKey | None) -> P:
    """The payload with its texts sealed under ``key``; with none (an erased customer's,
    or a rebuild's, which announces nothing) the texts are left out."""
    if key is None:
        return payload.model_copy(update=dict.fromkeys(payload.PERSONAL))
    return seal_payload(payload, key)


def keys_away() -> Problem:
    """The answer when profile cannot give the key a text is sealed with."""
    return Problem(
        503,
        "service-unavailable",
        "The profile service cannot give the key this text is sealed with; nothing was "
        "recorded: retry shortly.",
    )
