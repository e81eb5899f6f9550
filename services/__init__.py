"""The five services of the platform; each runs as its own process (or all in one)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.runtime import ServiceDefinition

NAMES = ("gateway", "profile", "lifecycle", "feedback", "loyalty")
MODEL_MODULES = frozenset({"numpy", "scipy"})  # the "model" extra (pyproject.toml)


def definition(name: str) -> ServiceDefinition[Any, Any]:
    """The service called ``name`` (imported on demand: one process needs one service)."""
    if name not in NAMES:
        raise ValueError(f"unknown service '{name}'; choose one of {', '.join(NAMES)}")
    try:
        return importlib.import_module(f"services.{name}.app").SERVICE
    except ModuleNotFoundError as missing:
        if missing.name not in MODEL_MODULES:
            raise
        # The churn model's libraries come with an extra, so that the other services'
        # images leave them out: say which one, rather than a bare import error.
        raise RuntimeError(
            f"the {name} service needs the churn model's libraries ({missing.name}): "
            "install crm-lifecycle[model], or run the image built with them"
        ) from missing
