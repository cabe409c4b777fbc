"""The alert rules (promtool's unit tests), the dashboard, and their names: offline.

That every name they read exists on a running stack is tests/stack/test_observability.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from couponrush.pipeline.metrics import PipelineMetrics, Role
from couponrush.web.metrics import Metrics
from tests.deploy.manifests import DEPLOY, ROOT, load_yaml, run, services
from tests.deploy.metric_names import (
    ALERT_TESTS,
    ALERTS,
    dashboard,
    dashboard_exprs,
    dashboard_names,
    rule_names,
    rules,
)

PROMTOOL = "/usr/bin/promtool"
ALERT_NAMES = {
    "OutboxBacklogHigh",
    "ConsumerStalled",
    "DeadLettersPresent",
    "ReconcileBreach",
    "RedisDown",
    "RedisMemoryHigh",
    "IssueServerErrors",
    "Overload503Ratio",
    "IssueLatencyP99High",
    "KafkaConsumerLagGrowing",
    "KafkaConsumerStalled",
    "KafkaConsumerMissing",
}
DOCS = ROOT / "docs" / "observability.md"


@pytest.fixture(scope="module")
def promtool() -> str:
    if not Path(PROMTOOL).exists():
        pytest.fail("promtool is missing: run 'make install' (Debian package prometheus)")
    return PROMTOOL


def test_the_rules_are_valid_and_pass_their_unit_tests(promtool: str) -> None:
    checked = run([promtool, "check", "rules", str(ALERTS)])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tests = sorted(str(p) for p in ALERT_TESTS.glob("*.yml"))
    done = run([promtool, "test", "rules", *tests])
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_compose_prometheus_is_valid_and_scrapes_what_the_rules_read(promtool: str) -> None:
    config = DEPLOY / "prometheus" / "prometheus.yml"
    done = run([promtool, "check", "config", str(config)])
    assert done.returncode == 0, done.stdout + done.stderr
    (doc,) = load_yaml(config.read_text())
    jobs = {job["job_name"] for job in doc["scrape_configs"]}
    # RedisDown reads up{job="redis"}; the gateway job needs nginx's Lua module, which the
    # compose gateway (the official image) lacks.
    assert {
        "couponrush-app",
        "couponrush-consumer",
        "couponrush-relay",
        "redis",
        "postgres",
        "prometheus",
    } == jobs
    exporters = {"redis-exporter:9121", "postgres-exporter:9187"}
    named = {
        c.get("replacement") for j in doc["scrape_configs"] for c in j.get("relabel_configs", [])
    }
    named |= {
        t for j in doc["scrape_configs"] for s in j.get("static_configs", []) for t in s["targets"]
    }
    assert exporters <= named
    assert {name.split(":")[0] for name in exporters} <= set(services())


def test_every_alert_exists_and_is_shown_firing_by_a_unit_test() -> None:
    assert {r["alert"] for r in rules()} == ALERT_NAMES
    firing = set()
    for path in ALERT_TESTS.glob("*.yml"):
        (doc,) = load_yaml(path.read_text())
        for case in doc["tests"]:
            firing |= {t["alertname"] for t in case.get("alert_rule_test", []) if t["exp_alerts"]}
    assert firing == ALERT_NAMES


def test_the_dashboard_reads_the_provisioned_datasource_and_lays_out_cleanly() -> None:
    doc = dashboard()
    provisioned = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yaml"
    ((source,),) = [doc["datasources"] for doc in load_yaml(provisioned.read_text())]
    panels = doc["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for p in panels:
        grid = p["gridPos"]
        assert grid["x"] + grid["w"] <= 24, p["title"]
        if p["type"] != "row":
            assert p["datasource"]["uid"] == source["uid"], p["title"]
            assert p["targets"], p["title"]
            assert all(t["expr"] and t["refId"] for t in p["targets"]), p["title"]


def test_every_dashboard_query_parses(promtool: str, tmp_path: Path) -> None:
    # promtool has no query checker; a recording rule per query is parsed the same way.
    grafana = {"$__rate_interval": "1m", "$event": ".*"}
    lines = ["groups:", "  - name: dashboard", "    rules:"]
    for i, expr in enumerate(dashboard_exprs()):
        for var, value in grafana.items():
            expr = expr.replace(var, value)
        lines += [f"      - record: dashboard:query_{i}", f"        expr: {expr!r}"]
    path = tmp_path / "dashboard_rules.yml"
    path.write_text("\n".join(lines) + "\n")
    done = run([promtool, "check", "rules", str(path)])
    assert done.returncode == 0, done.stdout + done.stderr


def registered_families() -> set[str]:
    roles: tuple[Role, ...] = ("consumer", "relay", "reconcile")
    registries = [Metrics().registry] + [PipelineMetrics(role).registry for role in roles]
    return {m.name for r in registries for m in r.collect()}


def test_every_metric_is_documented() -> None:
    documented = set(re.findall(r"`([a-z_:]+)(?:\{[^`]*\})?`", DOCS.read_text()))
    read = rule_names() | dashboard_names()
    families = {re.sub(r"_(bucket|sum|count|total)$", "", n) for n in read}
    missing = (registered_families() | families) - {
        re.sub(r"_(bucket|sum|count|total)$", "", n) for n in documented
    }
    assert not missing, f"not in docs/observability.md: {sorted(missing)}"


def test_the_readme_and_the_docs_list_every_panel() -> None:
    titles = [p["title"] for p in dashboard()["panels"] if p["type"] != "row"]
    for page in (ROOT / "README.md", DOCS):
        text = page.read_text()
        assert [t for t in titles if t not in text] == [], page.name
