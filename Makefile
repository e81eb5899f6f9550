# The commands of the project (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install infra browser dev up down test lint format bench lock test-containers test-faults

install: $(STAMP)

# The versions of requirements.lock (pinned, what CI tested) within pyproject's ranges.
$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11+ is needed ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements.lock -e '.[dev]'
	touch $@

## Refresh requirements.lock: the newest versions pyproject's ranges allow, from a fresh venv.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install -q --upgrade pip
	.lock-venv/bin/pip install -q '.[dev]'
	{ echo '# Pinned versions of every dependency (runtime, model and dev extras), for reproducible'; \
	  echo '# installs: pip install -c requirements.lock -e ".[dev]". Refresh with `make lock`.'; \
	  .lock-venv/bin/pip freeze --exclude-editable | grep -v '^crm-lifecycle'; } > requirements.lock
	rm -rf .lock-venv build

## PostgreSQL and Kafka on 127.0.0.1, installed and started when missing.
infra: install
	deploy/local/postgres.sh start
	deploy/local/kafka.sh start

## Embedded mode: one process, SQLite + in-memory bus, demo data.
dev: install
	$(PY) -m services embedded

## Local topology: PostgreSQL, Kafka and the five services as separate processes.
up: infra
	deploy/local/services.sh start

down:
	deploy/local/services.sh stop
	deploy/local/kafka.sh stop
	deploy/local/postgres.sh stop

## Debian's Chromium for the dashboard's browser test, installed when missing (root, apt).
browser:
	deploy/local/chromium.sh

## Every test suite: unit, integration (real PostgreSQL + Kafka) and end-to-end (make up's processes).
test: infra browser
	deploy/local/services.sh start
	status=0; $(PY) -m pytest $(PYTEST_ARGS) || status=$$?; deploy/local/services.sh stop; exit $$status

## The fault suite: the same events delivered calmly and through kill -9 of every service,
## of the broker and an immediate stop of PostgreSQL must leave every customer alike (minutes).
test-faults: infra
	deploy/local/services.sh start
	status=0; $(PY) -m pytest -p no:cacheprovider -s tests/faults/run_faults.py || status=$$?; deploy/local/services.sh stop; exit $$status

## The image built from this tree, and the compose topology's end-to-end tests run in it
## (Docker and debootstrap installed and a daemon started when missing: needs root).
test-containers: infra
	deploy/local/services.sh stop
	deploy/docker/test-containers.sh

## The replay benchmark (~70,000 events) on a fresh stack of its own (own data directory
## and ports, removed afterwards), so no earlier run's tenants weigh on the figures.
bench: install
	tests/perf/fresh_stack.sh $(PY) -m tests.perf.replay $(BENCH_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy shared services

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
