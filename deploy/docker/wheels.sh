#!/usr/bin/env bash
# Download the locked wheels the image needs (runtime, model extra, setuptools to build the
# project) into deploy/docker/wheels/, with the host's pip and its settings.
#   deploy/docker/wheels.sh [PYTHON]      (default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${1:-.venv/bin/python}"
out=deploy/docker/wheels
list="$(mktemp)"
trap 'rm -f "$list"' EXIT
"$PY" - >"$list" <<'PYTHON'
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
print("\n".join(project["dependencies"] + project["optional-dependencies"]["model"]))
print("setuptools>=69")
PYTHON
"$PY" -m pip download -q --only-binary=:all: --python-version 3.11 --platform manylinux2014_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 --implementation cp \
  -c requirements.lock -r "$list" -d "$out"
echo "[wheels] $(ls "$out"/*.whl | wc -l) wheels in $out"
