"""The gateway keeps its OpenAPI contract: schemathesis, every check on, against the
gateway's own document in embedded mode (SQLite, the in-memory bus, demo data), with
the bootstrap key, which holds every scope.

Bounded and reproducible (schemathesis.toml: a fixed seed, 25 examples per operation,
no example database). The embedded gateway's per-key and failed-authentication limits
are raised through its settings, since schemathesis sends thousands of requests with one
key and its negative checks authenticate wrongly on purpose (429 stays documented).
The run prints its figures: operations, test cases, requests, failures, time.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
OPERATIONS = 98
LIMITS = {
    "CRM_RATE_LIMIT_PER_SECOND": "1000000",
    "CRM_RATE_LIMIT_BURST": "1000000",
    "CRM_AUTH_FAILURES_PER_SECOND": "1000000",
    "CRM_AUTH_FAILURE_BURST": "1000000",
    # hooks.py subscribes valid webhook cases to this host (nothing resolves here)
    "CRM_WEBHOOK_ALLOWED_HOSTS": "hooks.example.com",
    "CRM_WEBHOOK_MAX_SUBSCRIPTIONS": "10000",
}


@dataclass(frozen=True)
class Gateway:
    url: str
    key: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(**settings: str) -> dict[str, str]:
    """This process's environment without its CRM_ settings (the test stack's ports,
    a frozen clock), plus ``settings``."""
    kept = {name: value for name, value in os.environ.items() if not name.startswith("CRM_")}
    return {**kept, **settings}


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    """An embedded installation serving on a free port, until the test ends."""
    port, data = _free_port(), tmp_path / "data"
    settings = {
        **LIMITS,
        "CRM_DATA_DIR": str(data),
        "CRM_LOG_LEVEL": "WARNING",
        "CRM_SIGNING_MASTER_KEY": os.urandom(24).hex(),
    }
    with (tmp_path / "embedded.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "services", "embedded", "--port", str(port)],
            cwd=ROOT,
            env=_environment(**settings),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_ready(url, process)
            yield Gateway(url, (data / "bootstrap-api-key").read_text().strip())
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait_until_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"embedded mode stopped with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("embedded mode did not answer within 60 s")


def _requests_served(url: str) -> int:
    """How many requests the gateway has answered, from its own /metrics."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return int(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("crm_http_request_seconds_count{") and 'service="gateway"' in line
        )
    )


def test_the_gateway_keeps_its_openapi_contract(
    gateway: Gateway, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "schemathesis.json"
    served_before = _requests_served(gateway.url)
    started = time.monotonic()
    run = subprocess.run(
        [str(SCHEMATHESIS), "--config-file", str(ROOT / "schemathesis.toml"), "run",
         f"{gateway.url}/openapi.json", "--header", f"Authorization: Bearer {gateway.key}",
         "--no-color", "--report", "json", "--report-json-path", str(report)],
        cwd=ROOT, env=_environment(), capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    seconds = time.monotonic() - started
    requests = _requests_served(gateway.url) - served_before - 1  # less the first /metrics
    figures = json.loads(report.read_text())
    with capsys.disabled():
        print(
            f"\nschemathesis: {figures['operations']['tested']} operations, "
            f"{figures['test_cases']['generated']} test cases, {requests} requests, "
            f"{figures['test_cases']['unique_failures']} failures, {seconds:.0f} s"
        )

    assert run.returncode == 0, run.stdout[-30_000:] + run.stderr[-5_000:]
    assert figures["operations"]["tested"] == OPERATIONS
    assert figures["test_cases"]["unique_failures"] == 0
    assert figures["errors"] == []
    assert all(phase["status"] == "success" for phase in figures["phases"].values())
