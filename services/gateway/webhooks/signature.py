"""Standard Webhooks signatures (https://www.standardwebhooks.com), so any receiver can
check a delivery with the specification's libraries.

A delivery carries ``webhook-id`` (the event's id), ``webhook-timestamp`` (Unix
seconds of this attempt) and ``webhook-signature`` (``v1,<base64 HMAC-SHA256 of
"<id>.<timestamp>.<body>">``, keyed by the secret's bytes). The secret is shown as
``whsec_<base64>`` once, when the subscription is created; it is never stored:
like a partner's signing secret (``services.gateway.signing``) it is derived again
from ``CRM_SIGNING_MASTER_KEY`` and the subscription's id whenever a delivery is
signed. The ``webhook:`` prefix keeps the two kinds of derived secret apart.
(tests/unit/test_webhooks.py checks these signatures with the official library.)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

PREFIX = "whsec_"


def secret_for(master_key: str, subscription_id: uuid.UUID) -> str:
    """The subscription's signing secret, in the ``whsec_`` form receivers configure."""
    digest = hmac.new(
        master_key.encode(), b"webhook:" + subscription_id.bytes, hashlib.sha256
    ).digest()
    return PREFIX + base64.b64encode(digest).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value of ``body`` sent as ``message_id`` at ``timestamp``."""
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }
