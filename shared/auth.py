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
        "desk:write",
        "loyalty:compensate",
        "loyalty:adjust",
        "operator",
        "storefront:sessions",
        "audit:read",
        "privacy:export",
        "privacy:erase",
        "customers:import",
    }
)
# Scopes an ``admin`` key holds without being granted them one by one: reading the audit
# log of its tenant, answering its customers' data-protection requests, importing its
# customers and adjusting their points by hand are part of administering it (a key may
# also be granted just one of them).
ADMIN_HOLDS: Final = frozenset(
    {"audit:read", "privacy:export", "privacy:erase", "customers:import", "loyalty:adjust"}
)
# Cross-tenant work (other tenants' keys, all-tenant sweeps): held by the bootstrap key
# alone, so no key an admin creates can ever reach beyond its tenant.
OPERATOR: Final = "operator"
GRANTABLE: Final = SCOPES - {OPERATOR}
KEY_PREFIX: Final = "crm_"
# A publishable key (``crm_pk_…``) is safe in a browser: minted for one shop-front session
# by a key holding ``storefront:sessions``, bound to one customer reference, short-lived,
# and holding this scope alone, which no other kind of key holds and no admin grants.
STOREFRONT: Final = "storefront"
PUBLISHABLE_PREFIX: Final = "crm_pk_"


def new_api_key(prefix: str = KEY_PREFIX) -> str:
    """A fresh API key; give it to its owner once and keep only its hash."""
    return prefix + secrets.token_urlsafe(32)


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()
