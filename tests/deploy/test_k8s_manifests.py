"""The Kubernetes manifests (deploy/k8s), rendered as ``kubectl kustomize`` would, are
valid against the Kubernetes schemas and keep the platform's promises: probes,
resources, unprivileged pods, autoscaling within the partition counts, disruption
budgets, the gateway alone reaching the inner services, the shipped rule files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from services import NAMES
from shared.topics import PARTITIONS
from tests.deploy.kustomize import render

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUSTOMIZATIONS = ["base", "overlays/production"]
# The oldest Kubernetes still commonly run (HPA autoscaling/v2, PDB policy/v1) and the newest.
VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]
INNER = [name for name in NAMES if name != "gateway"]


def rendered(which: str) -> list[dict[str, Any]]:
    return render(K8S / which)


def of_kind(resources: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


@pytest.mark.parametrize("which", KUSTOMIZATIONS)
@pytest.mark.parametrize("version", VERSIONS)
def test_every_resource_is_valid_against_the_kubernetes_schemas(which: str, version: str) -> None:
    resources = rendered(which)
    assert len(resources) >= 26
    for resource in resources:
        kubernetes_validate.validate(resource, version, strict=True)


@pytest.mark.parametrize("which", KUSTOMIZATIONS)
def test_every_service_runs_unprivileged_with_probes_and_resources(which: str) -> None:
    deployments = of_kind(rendered(which), "Deployment")
    assert set(deployments) == set(NAMES)
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        assert container["args"] == ["python", "-m", "services", name]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert "memory" in container["resources"]["limits"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_only_lifecycle_runs_the_image_with_the_churn_model() -> None:
    deployments = of_kind(rendered("overlays/production"), "Deployment")
    images = {
        name: d["spec"]["template"]["spec"]["containers"][0]["image"]
        for name, d in deployments.items()
    }
    assert images.pop("lifecycle") == "registry.example.com/crm:0.1.0"
    assert set(images.values()) == {"registry.example.com/crm:0.1.0-slim"}


@pytest.mark.parametrize("which", KUSTOMIZATIONS)
def test_autoscaling_cpu_for_the_gateway_lag_for_consumers_within_partitions(which: str) -> None:
    autoscalers = of_kind(rendered(which), "HorizontalPodAutoscaler")
    assert set(autoscalers) == set(NAMES)
    gateway = autoscalers.pop("gateway")["spec"]
    assert gateway["metrics"][0]["resource"]["name"] == "cpu"
    for name, autoscaler in autoscalers.items():
        spec = autoscaler["spec"]
        (metric,) = spec["metrics"]
        assert metric["external"]["metric"]["name"] == "kafka_consumergroup_lag"
        # A consumer group uses at most one replica per partition.
        assert spec["maxReplicas"] <= min(
            PARTITIONS[t] for t in PARTITIONS if t != "crm.deadletter"
        )
        groups = metric["external"]["metric"]["selector"]["matchExpressions"][0]["values"]
        assert all(group.startswith(f"{name}-") for group in groups), groups


@pytest.mark.parametrize("which", KUSTOMIZATIONS)
def test_every_service_has_a_disruption_budget(which: str) -> None:
    budgets = of_kind(rendered(which), "PodDisruptionBudget")
    assert {name: b["spec"]["minAvailable"] for name, b in budgets.items()} == dict.fromkeys(
        NAMES, 1
    )


def test_only_the_gateway_reaches_the_inner_services() -> None:
    resources = rendered("base")
    policies = of_kind(resources, "NetworkPolicy")
    policy = policies["inner-services-from-gateway-only"]
    selected = policy["spec"]["podSelector"]["matchLabels"]
    (rule,) = policy["spec"]["ingress"]
    (source,) = rule["from"]
    assert source == {
        "podSelector": {
            "matchLabels": {
                "app.kubernetes.io/name": "crm",
                "app.kubernetes.io/component": "gateway",
            }
        }
    }
    for name, deployment in of_kind(resources, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        covered = all(labels.get(k) == v for k, v in selected.items())
        assert covered == (name in INNER), name
    # Besides, feedback reaches profile for subject keys (sealed complaint texts).
    keys = policies["profile-keys-from-feedback"]["spec"]
    assert keys["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "profile"
    (rule,) = keys["ingress"]
    (source,) = rule["from"]
    assert source["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "feedback"
    assert set(policies) == {"inner-services-from-gateway-only", "profile-keys-from-feedback"}


def test_the_rule_files_are_the_shipped_ones_and_the_settings_find_them() -> None:
    shipped = {
        "stages.toml": ROOT / "services/lifecycle/stages.toml",
        "rules.toml": ROOT / "services/loyalty/rules.toml",
        "feedback.toml": ROOT / "services/feedback/feedback.toml",
    }
    resources = rendered("base")
    config_maps = of_kind(resources, "ConfigMap")
    (rules,) = [c for name, c in config_maps.items() if name.startswith("crm-rules-")]
    assert rules["data"] == {key: path.read_text() for key, path in shipped.items()}
    (settings,) = [c for name, c in config_maps.items() if name.startswith("crm-settings-")]
    files = {
        "lifecycle": settings["data"]["CRM_LIFECYCLE_CONFIG_FILE"],
        "loyalty": settings["data"]["CRM_LOYALTY_RULES_FILE"],
        "feedback": settings["data"]["CRM_FEEDBACK_CONFIG_FILE"],
    }
    deployments = of_kind(resources, "Deployment")
    for name, file in files.items():
        (mount,) = [
            m
            for m in deployments[name]["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
            if m["name"] == "rules"
        ]
        assert Path(file).parent == Path(mount["mountPath"])
        assert Path(file).name in rules["data"]
