"""The Grafana dashboard and the Prometheus alert rules in deploy/monitoring/: valid
documents, and every metric they query is one our services serve on /metrics (a renamed
metric would leave an empty panel or an alert that never fires)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.embedded import embedded_client

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
METRIC = re.compile(r"\b(crm_[a-z0-9_]+)")
DURATION = re.compile(r"^[0-9]+[smhd]$")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


@pytest.fixture(scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The sample names the five services' /metrics can hold (embedded mode: one registry)."""
    async with embedded_client(tmp_path_factory.mktemp("monitoring")) as client:
        text = (await client.get("/metrics")).text
    names = set()
    for family in text_string_to_metric_families(text):
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
    return names


def _rules() -> list[dict]:
    document = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def _panel_queries() -> list[str]:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p["targets"]]


def test_the_alert_rules_are_well_formed_and_cover_what_operators_must_hear_of() -> None:
    rules = _rules()
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
        assert DURATION.match(rule.get("for", "0s")), rule
        assert rule["expr"].count("(") == rule["expr"].count(")"), rule["alert"]
    assert len({rule["alert"] for rule in rules}) == len(rules)
    queried = {m for rule in rules for m in METRIC.findall(rule["expr"])}
    assert {  # consumer lag, outbox age, dead letters, error rate
        "crm_consumer_lag",
        "crm_outbox_oldest_age_seconds",
        "crm_dead_letters_total",
        "crm_http_request_seconds_count",
    } <= queried


def test_the_dashboard_is_grafana_json_with_a_query_per_panel() -> None:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and dashboard["uid"] and dashboard["title"]
    for panel in dashboard["panels"]:
        assert panel["targets"] and all(t["expr"] for t in panel["targets"]), panel["title"]
        assert panel["datasource"]["type"] == "prometheus"


async def test_every_metric_the_dashboard_and_alerts_query_is_served(served: set[str]) -> None:
    queried = {m for e in [*_panel_queries(), *(r["expr"] for r in _rules())] for m in
               METRIC.findall(e)}  # fmt: skip
    assert queried, "no metric found in the queries"
    assert queried - served == set()
