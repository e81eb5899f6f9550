"""Create the platform's Kafka topics on the local broker (``make infra`` and the tests).

Kept for the scripts that call it by path; the command is

    python -m shared.topics_admin create [--prefix P] [--timeout S] ...

which reads the broker from CRM_KAFKA_BOOTSTRAP, else 127.0.0.1:${CRM_KAFKA_PORT:-59092}.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

# The script lives in deploy/local/; `shared` is a top-level package of the repo.
REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from shared.topics_admin import create, parse  # noqa: E402

if __name__ == "__main__":
    settings, timeout = parse(["create", *sys.argv[1:]])
    asyncio.run(create(settings, timeout))
