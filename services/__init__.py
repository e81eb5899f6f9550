"""The five services of the platform; each runs as its own process (or all in one)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.app import ServiceDefinition

NAMES = ("gateway", "profile", "lifecycle", "feedback", "loyalty")


def definition(name: str) -> ServiceDefinition:
    """The service called ``name`` (imported on demand: one process needs one service)."""
    if name not in NAMES:
        raise ValueError(f"unknown service '{name}'; choose one of {', '.join(NAMES)}")
    return importlib.import_module(f"services.{name}.app").SERVICE
