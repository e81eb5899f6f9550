"""API-key primitives: keys are random, shown once, and stored only as a hash.

A key has 256 bits of entropy, so one SHA-256 is the right hash: slow hashes
exist to protect guessable passwords, and would only slow every request.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Final

SCOPES: Final = frozenset(
    {
        "events:write",
        "customers:read",
        "customers:write",
        "loyalty:write",
        "feedback:write",
        "admin",
        "complaints:resolve",
        "loyalty:compensate",
        "operator",
    }
)
# Cross-tenant work (other tenants' keys, all-tenant sweeps): held by the bootstrap key
# alone, so no key an admin creates can ever reach beyond its tenant.
OPERATOR: Final = "operator"
GRANTABLE: Final = SCOPES - {OPERATOR}
KEY_PREFIX: Final = "crm_"


def new_api_key() -> str:
    """A fresh API key; give it to its owner once and keep only its hash."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()
