"""The compose topology in containers (``make test-containers``), with the image built
from this tree; not part of ``make test``, which runs without a Docker daemon.

The images (``crm:<version>`` and ``-slim``) must exist: deploy/docker/test-containers.sh
builds them and runs these tests with CRM_CONTAINER_TESTS=1."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from shared.auth import new_api_key
from tests.deploy.containers.hostmode import host_mode, port

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_FILE = ROOT / "deploy" / "compose" / "docker-compose.yml"
DATA = ROOT / ".data"
PROJECT = "crm-containers"
READY_WITHIN = 240.0

if not os.environ.get("CRM_CONTAINER_TESTS"):
    collect_ignore_glob = ["test_*.py"]


def kept(path: Path, make: str) -> str:
    """A secret the local topology keeps in .data (the same key works against both)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


def compose(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    derived = DATA / "compose" / "docker-compose.host.yml"
    command = ["docker-compose", "-p", PROJECT, "-f", str(derived), *arguments]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def stack_env() -> dict[str, str]:
    return {
        **os.environ,
        "CRM_PG_PASSWORD": secrets.token_urlsafe(16),  # the local server trusts loopback
        "CRM_INTERNAL_SECRET": kept(DATA / "internal-secret", secrets.token_urlsafe(32)),
        "CRM_BOOTSTRAP_API_KEY": kept(DATA / "bootstrap-api-key", new_api_key()),
    }


@pytest.fixture(scope="session")
def stack(stack_env: dict[str, str]) -> Iterator[float]:
    """docker compose up on the host network; yields the seconds from ``up`` to a ready
    gateway, and takes everything down afterwards."""
    derived = host_mode(yaml.safe_load(COMPOSE_FILE.read_text()), stack_env)
    (DATA / "compose").mkdir(parents=True, exist_ok=True)
    (DATA / "compose" / "docker-compose.host.yml").write_text(yaml.safe_dump(derived))
    compose("down", "--remove-orphans", env=stack_env)
    started = time.monotonic()
    up = compose("up", "-d", "--no-build", env=stack_env)
    assert up.returncode == 0, up.stdout + up.stderr + logs(stack_env)
    ready = wait_ready(f"http://127.0.0.1:{port(stack_env, 'gateway')}/readyz", started)
    seconds = ready - started
    (DATA / "compose" / "start-to-ready-seconds").write_text(f"{seconds:.1f}\n")
    print(f"\n[containers] compose start-to-ready: {seconds:.1f} s")
    try:
        yield seconds
    finally:
        compose("down", "--remove-orphans", env=stack_env)


def wait_ready(url: str, started: float) -> float:
    last = ""
    while time.monotonic() - started < READY_WITHIN:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.monotonic()
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.25)
    raise AssertionError(f"the gateway was not ready within {READY_WITHIN}s: {last}")


def logs(env: dict[str, str]) -> str:
    return compose("logs", "--tail", "30", env=env).stdout


@pytest.fixture(scope="session")
async def gateway(stack: float, stack_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port(stack_env, 'gateway')}",
        headers={"Authorization": f"Bearer {stack_env['CRM_BOOTSTRAP_API_KEY']}"},
        timeout=10,
    ) as client:
        yield client


@pytest.fixture
def run_id() -> str:
    return uuid.uuid4().hex[:10]
