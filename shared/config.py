"""Business rules as data: TOML files validated by a pydantic model at start."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from shared.fields import field_errors, summary

M = TypeVar("M", bound=BaseModel)


class RuleFileError(Exception):
    """A rule file that cannot be used; the text names the file and every problem.

    Not a ValueError on purpose: a service reads its rule file while its settings
    are validated, and pydantic would wrap a ValueError into a settings error that
    hides which file was wrong."""


def load_toml(path: Path, model: type[M], what: str, error: type[RuleFileError]) -> M:
    """Read ``path`` and validate it as ``model``; ``error`` names the file and every
    problem, so a bad file stops the service with a message an operator can act on."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as failure:
        raise error(f"cannot read {what} {path}: {failure}") from failure
    return parse_toml(text, model, f"{what} {path}", error)


def parse_toml(text: str, model: type[M], origin: str, error: type[RuleFileError]) -> M:
    """Validate TOML ``text`` as ``model``; ``error`` names ``origin`` and every problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as failure:
        raise error(f"{origin} is not valid TOML: {failure}") from failure
    try:
        return model.model_validate(raw)
    except ValidationError as failure:
        problems = summary(field_errors(failure.errors()), "file", limit=None)
        raise error(f"{origin}: {problems}") from failure
