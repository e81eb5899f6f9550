"""Kafka credentials: settings are checked at start, and become the same aiokafka options
for every client the project creates."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.bus.security import KafkaSettingsError, client_options
from shared.settings import ServiceSettings

PASSWORD = "s3cret-pa55word"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate and its key (PEM), as a CA and as a client certificate."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=kafka.test", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def settings(**values: object) -> ServiceSettings:
    return ServiceSettings.model_validate(values)


def test_plaintext_by_default_and_nothing_else():
    assert client_options(settings()) == {"security_protocol": "PLAINTEXT"}


def test_sasl_plaintext_carries_the_mechanism_and_credentials():
    options = client_options(
        settings(
            kafka_security_protocol="SASL_PLAINTEXT",
            kafka_sasl_mechanism="SCRAM-SHA-512",
            kafka_sasl_username="crm-gateway",
            kafka_sasl_password=PASSWORD,
        )
    )

    assert options == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "crm-gateway",
        "sasl_plain_password": PASSWORD,
    }


def test_sasl_ssl_adds_a_verifying_tls_context_with_the_ca(certificate):
    cert, _ = certificate
    options = client_options(
        settings(
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_mechanism="SCRAM-SHA-256",
            kafka_sasl_username="crm",
            kafka_sasl_password=PASSWORD,
            kafka_ssl_cafile=cert,
        )
    )

    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "kafka.test"),),)]
    assert options["sasl_mechanism"] == "SCRAM-SHA-256"


def test_ssl_with_a_client_certificate_loads_it(certificate):
    cert, key = certificate
    options = client_options(
        settings(
            kafka_security_protocol="SSL",
            kafka_ssl_cafile=cert,
            kafka_ssl_certfile=cert,
            kafka_ssl_keyfile=key,
        )
    )

    assert set(options) == {"security_protocol", "ssl_context"}
    assert options["security_protocol"] == "SSL"


def test_settings_come_from_crm_environment_variables(monkeypatch, certificate):
    cert, _ = certificate
    monkeypatch.setenv("CRM_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("CRM_KAFKA_SASL_MECHANISM", "PLAIN")
    monkeypatch.setenv("CRM_KAFKA_SASL_USERNAME", "crm")
    monkeypatch.setenv("CRM_KAFKA_SASL_PASSWORD", PASSWORD)
    monkeypatch.setenv("CRM_KAFKA_SSL_CAFILE", str(cert))

    loaded = ServiceSettings()

    assert loaded.kafka_sasl_password is not None
    assert loaded.kafka_sasl_password.get_secret_value() == PASSWORD
    assert PASSWORD not in repr(loaded)
    assert client_options(loaded)["sasl_plain_username"] == "crm"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"kafka_security_protocol": "SASL_SSL"}, "needs CRM_KAFKA_SASL_USERNAME"),
        (
            {"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_username": "crm"},
            "CRM_KAFKA_SASL_PASSWORD",
        ),
        (
            {"kafka_security_protocol": "SSL", "kafka_ssl_cafile": "/nonexistent/ca.pem"},
            "CRM_KAFKA_SSL_CAFILE=/nonexistent/ca.pem: no such file",
        ),
    ],
    ids=["sasl-no-credentials", "sasl-no-password", "missing-ca"],
)
def test_incomplete_settings_are_refused_naming_the_setting(values, message):
    with pytest.raises(KafkaSettingsError, match=message) as refused:
        settings(**values, kafka_ssl_key_password=PASSWORD)

    assert PASSWORD not in str(refused.value)


@pytest.mark.parametrize(
    ("values", "name"),
    [
        ({"kafka_security_protocol": "TLS"}, "kafka_security_protocol"),
        ({"kafka_sasl_mechanism": "GSSAPI"}, "kafka_sasl_mechanism"),
    ],
)
def test_unknown_protocols_and_mechanisms_are_refused(values, name):
    with pytest.raises(ValidationError, match=name) as refused:
        settings(**values, kafka_sasl_password=PASSWORD)

    assert PASSWORD not in str(refused.value)


def test_a_certificate_without_its_key_is_refused(certificate):
    cert, _ = certificate
    with pytest.raises(KafkaSettingsError, match="CERTFILE and CRM_KAFKA_SSL_KEYFILE go together"):
        settings(kafka_security_protocol="SSL", kafka_ssl_certfile=cert)


def test_tls_files_with_a_protocol_without_tls_are_refused(certificate):
    cert, _ = certificate
    with pytest.raises(KafkaSettingsError, match="does not use TLS"):
        settings(
            kafka_security_protocol="SASL_PLAINTEXT",
            kafka_sasl_username="crm",
            kafka_sasl_password=PASSWORD,
            kafka_ssl_cafile=cert,
        )


def test_the_password_never_shows_in_a_refusal():
    with pytest.raises(KafkaSettingsError) as refused:
        settings(kafka_security_protocol="SASL_SSL", kafka_sasl_password=PASSWORD)

    assert PASSWORD not in str(refused.value)
    assert "CRM_KAFKA_SASL_USERNAME" in str(refused.value)
