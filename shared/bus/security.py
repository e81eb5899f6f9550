"""Kafka credentials: from settings to the keyword arguments of every aiokafka client.

    CRM_KAFKA_SECURITY_PROTOCOL   PLAINTEXT (default) | SSL | SASL_PLAINTEXT | SASL_SSL
    CRM_KAFKA_SASL_MECHANISM      PLAIN (default) | SCRAM-SHA-256 | SCRAM-SHA-512
    CRM_KAFKA_SASL_USERNAME, CRM_KAFKA_SASL_PASSWORD            (SASL_*: both required)
    CRM_KAFKA_SSL_CAFILE          the CA that signed the brokers' certificates (SSL, SASL_SSL)
    CRM_KAFKA_SSL_CERTFILE, CRM_KAFKA_SSL_KEYFILE, CRM_KAFKA_SSL_KEY_PASSWORD  (mutual TLS)

Every Kafka client the project creates (the bus's producer and consumers, the
dead-letter tool, the 360 rebuild, shared.topics_admin) takes its options
from ``client_options``, so one set of settings secures them all. Settings are
checked when they are read (``check``): a missing password or an unreadable
file stops the process at start with a message naming the setting, instead of
a connection that fails later. The password never appears in that message: the
check raises ``KafkaSettingsError``, which pydantic passes through as it is,
where a ``ValueError`` would be reported with every setting's input value.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.settings import ServiceSettings

_TLS = frozenset({"SSL", "SASL_SSL"})
_SASL = frozenset({"SASL_PLAINTEXT", "SASL_SSL"})


class KafkaSettingsError(Exception):
    """The Kafka security settings cannot work; the message names the setting."""


def check(settings: ServiceSettings) -> None:
    """Raise ``KafkaSettingsError`` if the Kafka security settings cannot work."""
    protocol = settings.kafka_security_protocol
    if protocol in _SASL:
        password = settings.kafka_sasl_password
        if not settings.kafka_sasl_username or not password or not password.get_secret_value():
            raise KafkaSettingsError(
                f"CRM_KAFKA_SECURITY_PROTOCOL={protocol} needs CRM_KAFKA_SASL_USERNAME "
                "and CRM_KAFKA_SASL_PASSWORD"
            )
    files = {
        "CRM_KAFKA_SSL_CAFILE": settings.kafka_ssl_cafile,
        "CRM_KAFKA_SSL_CERTFILE": settings.kafka_ssl_certfile,
        "CRM_KAFKA_SSL_KEYFILE": settings.kafka_ssl_keyfile,
    }
    given = {name: path for name, path in files.items() if path is not None}
    if given and protocol not in _TLS:
        raise KafkaSettingsError(
            f"{', '.join(given)} set but CRM_KAFKA_SECURITY_PROTOCOL={protocol} does not use "
            "TLS (choose SSL or SASL_SSL)"
        )
    for name, path in given.items():
        _readable(name, path)
    if (settings.kafka_ssl_certfile is None) != (settings.kafka_ssl_keyfile is None):
        raise KafkaSettingsError("CRM_KAFKA_SSL_CERTFILE and CRM_KAFKA_SSL_KEYFILE go together")


def _readable(name: str, path: Path) -> None:
    if not path.is_file():
        raise KafkaSettingsError(f"{name}={path}: no such file")
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        raise KafkaSettingsError(f"{name}={path}: cannot be read ({error.strerror})") from None


def client_options(settings: ServiceSettings) -> dict[str, Any]:
    """Keyword arguments for ``AIOKafkaProducer``, ``AIOKafkaConsumer`` and
    ``AIOKafkaAdminClient``: the security protocol, SASL credentials, a TLS context."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol in _SASL:
        password = settings.kafka_sasl_password
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": password.get_secret_value() if password else None,
        }
    if protocol in _TLS:
        options["ssl_context"] = _tls_context(settings)
    return options


def _tls_context(settings: ServiceSettings) -> Any:
    """Server certificates verified against the CA file (else the system's CAs), host
    names checked; a client certificate if one is configured (mutual TLS)."""
    from aiokafka.helpers import create_ssl_context

    key_password = settings.kafka_ssl_key_password
    return create_ssl_context(
        cafile=_text(settings.kafka_ssl_cafile),
        certfile=_text(settings.kafka_ssl_certfile),
        keyfile=_text(settings.kafka_ssl_keyfile),
        password=key_password.get_secret_value() if key_password else None,
    )


def _text(path: Path | None) -> str | None:
    return str(path) if path is not None else None
