"""The topics command's settings: flags over CRM_ settings, and what each topic gets.
(Creating topics on a real broker is what `make infra` and the integration suite do.)"""

from __future__ import annotations

import pytest

from shared.bus import MAX_MESSAGE_BYTES
from shared.topics_admin import parse


def test_a_single_broker_keeps_events_forever_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("REPLICATION_FACTOR", "MIN_INSYNC_REPLICAS", "RETENTION_MS"):
        monkeypatch.delenv(f"CRM_TOPIC_{name}", raising=False)
    settings, timeout = parse(["create"])
    assert settings.topic_replication_factor == 1
    assert settings.topic_config() == {
        "retention.ms": "-1",
        "max.message.bytes": str(MAX_MESSAGE_BYTES),
    }
    assert timeout == 60.0


def test_flags_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_TOPIC_REPLICATION_FACTOR", "2")
    monkeypatch.setenv("CRM_TOPIC_RETENTION_MS", "86400000")
    settings, _ = parse(["create", "--replication-factor", "3", "--min-insync-replicas", "2"])
    assert settings.topic_replication_factor == 3
    assert settings.topic_config() == {
        "retention.ms": "86400000",
        "max.message.bytes": str(MAX_MESSAGE_BYTES),
        "min.insync.replicas": "2",
    }


def test_more_insync_replicas_than_replicas_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        parse(["create", "--replication-factor", "1", "--min-insync-replicas", "2"])
    assert "cannot exceed the replication factor" in capsys.readouterr().err
