"""What the image promises: its own health check, an unprivileged user, no compiler,
and numpy and scipy only in the image built with the model extra."""

from __future__ import annotations

import json
import os
import subprocess
import time

from services import NAMES
from tests.deploy.containers.conftest import PROJECT

VERSION = os.environ.get("CRM_VERSION", "0.1.0")
FULL, SLIM = f"crm:{VERSION}", f"crm:{VERSION}-slim"


def run(image: str, script: str) -> subprocess.CompletedProcess[str]:
    command = ["docker", "run", "--rm", "--network", "host", image, "sh", "-c", script]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_the_images_run_unprivileged_without_compilers_or_pip() -> None:
    for image in (FULL, SLIM):
        done = run(image, "id -u; for t in gcc cc c++ make pip; do command -v $t; done; true")
        assert done.stdout.split() == ["10001"], (image, done.stdout, done.stderr)


def test_only_the_full_image_carries_the_churn_model() -> None:
    assert run(FULL, "python -c 'import numpy, scipy.optimize'").returncode == 0
    slim = run(SLIM, "python -m services lifecycle")
    assert slim.returncode != 0
    assert "install crm-lifecycle[model]" in slim.stderr


def test_every_service_container_is_healthy_by_its_health_check(stack: float) -> None:
    """Docker runs the health check every 5 s: each container turns healthy within a few."""
    containers = [f"{PROJECT}_{name}_1" for name in NAMES]
    deadline = time.monotonic() + 30
    while (states := health(containers)) != dict.fromkeys(containers, "healthy"):
        assert time.monotonic() < deadline, states
        time.sleep(1)


def health(containers: list[str]) -> dict[str, str]:
    inspected = subprocess.run(
        ["docker", "inspect", *containers], capture_output=True, text=True, check=True
    )
    return {
        c["Name"].strip("/"): c["State"]["Health"]["Status"] for c in json.loads(inspected.stdout)
    }
