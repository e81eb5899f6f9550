"""The lifecycle configuration is validated at start: a mistake is named, not guessed at."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.lifecycle.domain.config import ConfigError, load_config, parse_config
from services.lifecycle.settings import DEFAULT_CONFIG

GOOD_RULE = '[[transition]]\nfrom = ["none"]\non = "registered"\nto = "prospect"\n'


def test_the_shipped_configuration_is_valid():
    config = load_config(DEFAULT_CONFIG)

    assert config.silence.silent_after_days == 90
    assert config.silence.churned_after_days == 365
    assert config.loyal.min_orders == 5


def test_an_unknown_stage_is_named():
    text = '[[transition]]\nfrom = ["lead"]\non = "engaged"\nto = "vip"\n'

    with pytest.raises(ConfigError, match=r"transition\.0\.to: .*unknown stage 'vip'"):
        parse_config(text)


def test_an_unknown_from_stage_trigger_and_guard_are_each_named():
    text = '[[transition]]\nfrom = ["leed"]\non = "clicked"\nto = "lead"\nguard = "rich"\n'

    with pytest.raises(ConfigError) as raised:
        parse_config(text)

    message = str(raised.value)
    assert "unknown stage 'leed'" in message
    assert "unknown trigger 'clicked'" in message
    assert "unknown guard 'rich'" in message


def test_thresholds_in_the_wrong_order_are_refused():
    text = GOOD_RULE + "[silence]\nsilent_after_days = 400\nchurned_after_days = 365\n"

    with pytest.raises(ConfigError, match=r"silent_after_days .* must be less than"):
        parse_config(text)


def test_a_misspelt_setting_is_refused_rather_than_ignored():
    with pytest.raises(ConfigError, match="silent_afer_days"):
        parse_config(GOOD_RULE + "[silence]\nsilent_afer_days = 30\n")


def test_invalid_toml_and_a_missing_file_are_reported(tmp_path: Path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_config("[[transition]\n")
    with pytest.raises(ConfigError, match="cannot read lifecycle configuration"):
        load_config(tmp_path / "missing.toml")


def test_a_business_can_change_the_thresholds(tmp_path: Path):
    path = tmp_path / "stages.toml"
    path.write_text(GOOD_RULE + "[silence]\nsilent_after_days = 30\nchurned_after_days = 120\n")

    assert load_config(path).silence.silent_after_days == 30
