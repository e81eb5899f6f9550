"""The README's first example works when pasted, against the local topology: it posts
a purchase, finds the customer and prints their 360 (no port, id or date to edit)."""

from __future__ import annotations

import json
import os
import re
import subprocess

from shared.settings import ServiceSettings
from tests.e2e.conftest import ROOT


def readme_example() -> str:
    readme = (ROOT / "README.md").read_text()
    after = readme.split("Post a purchase and read the\ncustomer back", 1)[1]
    match = re.search(r"```sh\n(.*?)```", after, re.DOTALL)
    assert match, "the README's purchase example is gone"
    return match.group(1)


def test_the_readme_purchase_example_runs_as_pasted(topology: ServiceSettings) -> None:
    env = {**os.environ, "CRM_GATEWAY_PORT": str(topology.gateway_port)}
    done = subprocess.run(
        ["timeout", "60", "bash", "-euo", "pipefail", "-c", readme_example()],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    posted, customer = done.stdout.strip().splitlines()[-2:]
    assert json.loads(posted)["status"] in ("accepted", "duplicate")
    view = json.loads(customer)  # the 360 of the customer found by the lookup
    assert {"customer_id", "stage", "loyalty", "stats"} <= set(view)
