"""Business rules as data: TOML files validated by a pydantic model at start."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def load_toml(path: Path, model: type[M], what: str, error: type[ValueError]) -> M:
    """Read ``path`` and validate it as ``model``; ``error`` names the file and every
    problem, so a bad file stops the service with a message an operator can act on."""
    try:
        with path.open("rb") as file:
            raw = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as failure:
        raise error(f"{what} {path}: {failure}") from failure
    try:
        return model.model_validate(raw)
    except ValidationError as failure:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in failure.errors()
        )
        raise error(f"{what} {path}: {problems}") from failure
