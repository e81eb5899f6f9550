"""Which Kafka errors are the record's fault, for good, and which are the moment's.

A record is *refused* when no retry can ever publish it: too large for the topic
or the producer, invalid or corrupt, a timestamp or format the topic will not
take, a topic that does not exist (after a metadata refresh) or may not be
written, a key or value that is not bytes. Its sender parks it and moves on.

Everything else is not the record's fault: the broker away, a leader moving, a
timeout (aiokafka marks those ``retriable`` and, with idempotence, retries them
itself), or a producer left unusable by an earlier failure
(``OutOfOrderSequenceNumber``, a stopped sender). The record is sent again later,
by a fresh producer if need be.
"""

from __future__ import annotations

from aiokafka import errors

from shared.bus import RecordRejected

_REFUSED: tuple[type[Exception], ...] = (
    errors.MessageSizeTooLargeError,  # 10: over the topic's max.message.bytes, or ours
    errors.RecordTooLargeError,
    errors.RecordListTooLargeError,  # 18
    errors.CorruptRecordException,  # 2
    errors.InvalidTopicError,  # 17
    errors.TopicAuthorizationFailedError,  # 29
    errors.InvalidTimestampError,  # 32
    errors.UnsupportedForMessageFormatError,  # 43
    errors.PolicyViolationError,  # 44
    errors.UnknownTopicOrPartitionError,  # 3: only raised to us once metadata says so
)
_UNSERIALISABLE = (TypeError, ValueError)  # a key or value aiokafka cannot send as bytes


def refusal(error: Exception, size: int) -> RecordRejected | None:
    """The refusal ``error`` amounts to for a record of ``size`` bytes, or None if a later
    attempt may succeed. The reason names the error and its Kafka code, never the record."""
    if isinstance(error, _REFUSED):
        kind = type(error).__name__
        code = getattr(error, "errno", None)
        where = f" (Kafka error {code})" if code is not None else ""
        return RecordRejected(kind, f"{kind}{where}: record of {size} bytes")
    if isinstance(error, _UNSERIALISABLE):
        return RecordRejected("SerializationError", f"SerializationError: {type(error).__name__}")
    return None


def retriable(error: Exception) -> bool:
    """Whether aiokafka says trying again may work (the broker away, a leader moving)."""
    return bool(getattr(error, "retriable", False)) or isinstance(
        error, errors.KafkaTimeoutError | OSError
    )
