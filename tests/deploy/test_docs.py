"""The generated references stay current, every setting is described, and every CRM_
variable the deployment files set is a real setting (a typo there is silently ignored
by the services, so it is caught here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import Field

from shared.settings import ServiceSettings
from tests.deploy.kustomize import render
from tools import docs

ROOT = docs.ROOT


def test_every_setting_has_a_description() -> None:
    assert len(docs.rows()) >= 60  # raises Undocumented, naming them, if one has none


def test_a_setting_without_a_description_stops_the_generator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Careless(ServiceSettings):
        careless_knob: int = Field(1)

    monkeypatch.setattr(docs, "settings_classes", lambda: [ServiceSettings, Careless])
    with pytest.raises(docs.Undocumented, match=r"Careless\.careless_knob"):
        docs.rows()


def test_the_configuration_reference_is_current() -> None:
    """Regenerate with `python -m tools.docs write` when a setting changes."""
    assert (ROOT / "docs/configuration.md").read_text() == docs.configuration()


def test_the_event_catalogue_is_current() -> None:
    assert (ROOT / "docs/events.md").read_text() == docs.events()


def test_the_reference_names_every_setting_of_every_class() -> None:
    reference = (ROOT / "docs/configuration.md").read_text()
    for cls in docs.settings_classes():
        for name in cls.model_fields:
            assert f"| `CRM_{name.upper()}` |" in reference, (cls.__name__, name)


def known_settings() -> set[str]:
    return {row[0] for row in docs.rows()}


def test_the_deployment_files_set_only_real_settings() -> None:
    compose = yaml.safe_load((ROOT / "deploy/compose/docker-compose.yml").read_text())
    named = set()
    for service in compose["services"].values():
        named |= {k for k in service.get("environment", {}) if k.startswith("CRM_")}
    for which in ("base", "overlays/production"):
        for resource in render(ROOT / "deploy/k8s" / which):
            if resource["kind"] == "ConfigMap" and resource["metadata"]["name"].startswith(
                "crm-settings"
            ):
                named |= set(resource["data"])
            pod = resource.get("spec", {}).get("template", {}).get("spec", {})
            for container in pod.get("containers", []):
                named |= {e["name"] for e in container.get("env", [])}
    dockerfile = (ROOT / "deploy/docker/Dockerfile").read_text()
    named |= set(re.findall(r"\b(CRM_[A-Z_]+)=", dockerfile))
    assert len(named) > 20
    assert named - known_settings() == set()


def test_the_docs_index_links_resolve() -> None:
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\((?!https?:|#)([^)#]+)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_the_pages_of_docs_exist() -> None:
    pages = {p.name for p in Path(ROOT / "docs").glob("*.md")}
    assert {"architecture.md", "api.md", "events.md", "operations.md", "configuration.md"} <= pages
