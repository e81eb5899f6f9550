"""Render a kustomization the way ``kubectl kustomize`` does, for the features our
manifests use, so that ``make test`` validates what would be applied without a
Kubernetes binary or the network.

Supported (anything else in a kustomization.yaml is refused, so the manifests cannot
drift into features this renderer would silently ignore): ``resources`` (files and
directories), ``namespace``, ``images``, ``patches`` (strategic-merge patch files, one
or more documents each), ``configMapGenerator`` (``literals``, ``files``; ``behavior``
create, merge or replace) and ``generatorOptions.disableNameSuffixHash``. Generated
ConfigMaps get kustomize's content-hash suffix and every reference to them follows.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

Resource = dict[str, Any]
KNOWN = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
KNOWN |= {"configMapGenerator", "generatorOptions"}
GENERATED = "crm.test/generated"  # marks a generated ConfigMap until it is named


def render(folder: Path) -> list[Resource]:
    """The resources of the kustomization in ``folder``, as kustomize would output them."""
    resources, hashed = _build(folder)
    return _name_generated(resources) if hashed else _unmark(resources)


def _build(folder: Path) -> tuple[list[Resource], bool]:
    spec = yaml.safe_load((folder / "kustomization.yaml").read_text())
    unknown = set(spec) - KNOWN
    assert not unknown, f"{folder}: kustomization keys this renderer does not know: {unknown}"
    resources: list[Resource] = []
    hashed = not spec.get("generatorOptions", {}).get("disableNameSuffixHash", False)
    for entry in spec.get("resources", []):
        path = folder / entry
        if path.is_dir():
            resources += _build(path)[0]
        else:
            resources += [d for d in yaml.safe_load_all(path.read_text()) if d]
    for generator in spec.get("configMapGenerator", []):
        _generate(resources, generator, folder)
    for patch in spec.get("patches", []):
        assert set(patch) == {"path"}, f"only patches from a file are supported: {patch}"
        for document in yaml.safe_load_all((folder / patch["path"]).read_text()):
            _apply_patch(resources, document)
    for image in spec.get("images", []):
        _set_image(resources, image)
    if "namespace" in spec:
        for resource in resources:
            if resource["kind"] != "Namespace":
                resource["metadata"]["namespace"] = spec["namespace"]
    return resources, hashed


def _generate(resources: list[Resource], generator: dict[str, Any], folder: Path) -> None:
    data: dict[str, str] = {}
    for literal in generator.get("literals", []):
        key, _, value = literal.partition("=")
        data[key] = value
    for file in generator.get("files", []):
        key, _, path = file.rpartition("=") if "=" in file else ("", "", file)
        data[key or Path(path).name] = (folder / path).read_text()
    name, behavior = generator["name"], generator.get("behavior", "create")
    existing = [r for r in resources if r["kind"] == "ConfigMap" and _name(r) == name]
    if behavior == "create":
        assert not existing, f"ConfigMap {name} generated twice"
        resources.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "annotations": {GENERATED: "true"}},
                "data": data,
            }
        )
        return
    assert existing, f"behavior {behavior} needs a ConfigMap {name} from a base"
    target = existing[0]
    target["data"] = {**target["data"], **data} if behavior == "merge" else data


def _name(resource: Resource) -> str:
    return str(resource["metadata"]["name"])


def _apply_patch(resources: list[Resource], patch: Resource) -> None:
    matches = [r for r in resources if r["kind"] == patch["kind"] and _name(r) == _name(patch)]
    assert len(matches) == 1, f"patch for {patch['kind']}/{_name(patch)} matches {len(matches)}"
    merged = merge(matches[0], patch)
    matches[0].clear()
    matches[0].update(merged)


def merge(base: Any, patch: Any) -> Any:
    """A strategic merge: maps merge key by key, lists of named items merge by name
    (containers, env, volumes, volumeMounts), other lists are replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            out[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    if isinstance(base, list) and isinstance(patch, list) and _named(base) and _named(patch):
        out = [copy.deepcopy(item) for item in base]
        for item in patch:
            same = [i for i, old in enumerate(out) if old["name"] == item["name"]]
            if same:
                out[same[0]] = merge(out[same[0]], item)
            else:
                out.append(copy.deepcopy(item))
        return out
    return copy.deepcopy(patch)


def _named(items: list[Any]) -> bool:
    return all(isinstance(item, dict) and "name" in item for item in items)


def _containers(resource: Resource) -> list[dict[str, Any]]:
    pod = resource.get("spec", {}).get("template", {}).get("spec", {})
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def _set_image(resources: list[Resource], image: dict[str, str]) -> None:
    for resource in resources:
        for container in _containers(resource):
            name = container["image"].split("@")[0].rsplit(":", 1)[0]
            if name == image["name"]:
                new = image.get("newName", name)
                tag = image.get("newTag", container["image"].rsplit(":", 1)[-1])
                container["image"] = f"{new}:{tag}"


def _name_generated(resources: list[Resource]) -> list[Resource]:
    """Suffix each generated ConfigMap's name with kustomize's hash of its content, and
    point every reference (volumes, envFrom, configMapKeyRef) at the new name."""
    renamed = {}
    for resource in resources:
        if resource.get("metadata", {}).get("annotations", {}).pop(GENERATED, None):
            name = _name(resource)
            resource["metadata"]["name"] = f"{name}-{config_map_hash(resource['data'])}"
            renamed[name] = resource["metadata"]["name"]
            if not resource["metadata"]["annotations"]:
                del resource["metadata"]["annotations"]
    for resource in resources:
        for key_path in _references(resource):
            if key_path.get("name") in renamed:
                key_path["name"] = renamed[key_path["name"]]
    return resources


def _unmark(resources: list[Resource]) -> list[Resource]:
    for resource in resources:
        annotations = resource.get("metadata", {}).get("annotations", {})
        if annotations.pop(GENERATED, None) and not annotations:
            del resource["metadata"]["annotations"]
    return resources


def _references(resource: Resource) -> list[dict[str, Any]]:
    pod = resource.get("spec", {}).get("template", {}).get("spec", {})
    found = [v["configMap"] for v in pod.get("volumes", []) if "configMap" in v]
    for container in _containers(resource):
        found += [e["configMapRef"] for e in container.get("envFrom", []) if "configMapRef" in e]
        for variable in container.get("env", []):
            source = variable.get("valueFrom", {})
            if "configMapKeyRef" in source:
                found.append(source["configMapKeyRef"])
    return found


def config_map_hash(data: dict[str, str]) -> str:
    """kustomize's name suffix: the SHA-256 of the ConfigMap's JSON as Go encodes it (keys
    sorted, HTML characters escaped; the name is empty when kustomize hashes), its first
    ten hex digits with 0, 1, 3, a, e replaced (so that it is never a number or a word)."""
    encoded = json.dumps(
        {"data": data, "kind": "ConfigMap", "name": ""},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    for character, escape in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        encoded = encoded.replace(character, escape)
    digest = hashlib.sha256(encoded.encode()).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))
