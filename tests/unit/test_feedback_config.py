"""Feedback's rule file: the shipped one is valid, and a bad one is refused with a
message naming the file and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.feedback.domain import ConfigError, load_config
from services.feedback.settings import SHIPPED_CONFIG, FeedbackSettings

GOOD = """
[sla.hours]
critical = 2
high = 12
medium = 24
low = 48

[escalation]
repeat_hours = 6
max_level = 2

[invitations]
csat_after_hours = 3
throttle_days = 7
expires_after_days = 5
nps_every_days = 90
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feedback.toml"
    path.write_text(text)
    return path


def test_the_shipped_file_sets_the_documented_defaults():
    config = load_config(SHIPPED_CONFIG)

    assert config.sla.hours == {"critical": 4, "high": 24, "medium": 48, "low": 72}
    assert config.invitations.csat_after_hours == 24
    assert config.invitations.throttle_days == 30
    assert config.invitations.nps_every_days is None
    assert config.escalation.max_level == 3


def test_a_business_file_is_read_into_its_rules(tmp_path):
    config = load_config(write(tmp_path, GOOD))

    assert config.sla.hours["critical"] == 2
    assert config.escalation.repeat_hours == 6
    assert config.invitations.nps_every_days == 90


def test_the_settings_read_the_file_they_are_pointed_at(tmp_path):
    settings = FeedbackSettings(service="feedback", feedback_config_file=write(tmp_path, GOOD))

    assert settings.config.invitations.throttle_days == 7


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (("low = 48\n", ""), "no SLA hours for severity low"),
        (("critical = 2", "critical = 0"), "sla.hours.critical"),
        (("critical = 2", "urgent = 2"), "sla.hours.urgent"),
        (("max_level = 2", "max_level = 0"), "escalation.max_level"),
        (("throttle_days = 7", "throttle_days = -1"), "invitations.throttle_days"),
        (("csat_after_hours = 3", "csat_after_hourz = 3"), "invitations.csat_after_hourz"),
    ],
)
def test_a_bad_file_is_refused_naming_the_problem(tmp_path, change, named):
    path = write(tmp_path, GOOD.replace(*change))

    with pytest.raises(ConfigError) as refused:
        load_config(path)

    assert named in str(refused.value)
    assert str(path) in str(refused.value)


def test_an_unreadable_or_missing_file_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="feedback config"):
        load_config(write(tmp_path, "[sla.hours\n"))
    with pytest.raises(ConfigError, match=r"missing\.toml"):
        load_config(tmp_path / "missing.toml")


def test_a_bad_file_stops_the_settings_from_being_built(tmp_path):
    path = write(tmp_path, "[escalation]\nmax_level = 1\n")

    with pytest.raises(ConfigError, match=r"feedback config .*sla: Field required"):
        FeedbackSettings(service="feedback", feedback_config_file=path)
