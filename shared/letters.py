"""What a dead letter looks like, whoever writes it (a consumer, the outbox relay).

A dead letter is the original message (key, bytes, and its own non-``crm-``
headers) on ``crm.deadletter``, with headers saying why and where it failed:
``crm-error`` (an error class, a code, a short message that holds no personal
data), ``crm-service``, ``crm-origin`` (``consumer`` or ``outbox``), ``crm-topic``
(where it came from or was going), ``crm-failed-at``, and the origin's own
position (``crm-consumer``, ``crm-partition``, ``crm-offset``; ``crm-outbox-id``).

A dead letter must itself be publishable, or the writer would stall on it: a
value too large for the bus is cut to its first bytes (enough to read the
envelope's id and type), and ``crm-value-bytes`` / ``crm-value-sha256`` /
``crm-value-truncated`` say what it was. Such a letter cannot be replayed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from shared import topics
from shared.bus import Headers, Message, message_size

REASON_CHARS = 2000
KEPT_PREFIX_BYTES = 64 * 1024
_KEPT_KEY_BYTES = 1024
_ELISION_HEADERS_BYTES = 256


def dead_letter(
    original: Message,
    *,
    reason: str,
    service: str,
    origin: str,
    position: Headers,
    failed_at: datetime,
    limit: int,
) -> Message:
    """The dead letter of ``original`` (its topic being where it came from or was going)."""
    headers: Headers = (
        ("crm-error", reason[:REASON_CHARS].encode()),
        ("crm-service", service.encode()),
        ("crm-origin", origin.encode()),
        ("crm-topic", original.topic.encode()),
        *position,
        ("crm-failed-at", failed_at.isoformat().encode()),
        *((name, value) for name, value in original.headers if not name.startswith("crm-")),
    )
    letter = Message(topics.DEADLETTER, original.key, original.value, headers)
    if message_size(letter) <= limit:
        return letter
    return _cut_to_fit(letter, limit)


def _cut_to_fit(letter: Message, limit: int) -> Message:
    value, key = letter.value, (letter.key or b"")[:_KEPT_KEY_BYTES] or None
    frame = message_size(Message(letter.topic, key, b"", letter.headers))
    kept = max(0, min(KEPT_PREFIX_BYTES, limit - frame - _ELISION_HEADERS_BYTES))
    elision: Headers = (
        ("crm-value-bytes", str(len(value)).encode()),
        ("crm-value-sha256", hashlib.sha256(value).hexdigest().encode()),
        ("crm-value-truncated", str(kept).encode()),
    )
    return Message(letter.topic, key, value[:kept], letter.headers + elision)
