"""The metric names the alert rules and the dashboard read, found in their PromQL."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.deploy.manifests import DEPLOY, load_yaml

ALERTS = DEPLOY / "prometheus" / "alerts.yml"
ALERT_TESTS = DEPLOY / "prometheus" / "tests"
DASHBOARD = DEPLOY / "grafana" / "couponrush.json"
# Served by the gateway (nginx's Lua module), not by a Python process.
GATEWAY_PREFIX = "couponrush_gateway_"

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
_LABEL_VALUES = re.compile(r"label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)")


def names_in(expr: str) -> set[str]:
    """Every metric name ``expr`` selects (not functions, keywords, labels or strings)."""
    text = _STRINGS.sub(" ", expr)
    text = _GROUPING.sub(" ", _RANGES.sub(" ", _MATCHERS.sub(" ", text)))
    found = set()
    for match in _NAME.finditer(text):
        if text[match.end() :].lstrip().startswith("("):
            continue  # a function or an aggregation
        if match.group().lower() not in _KEYWORDS:
            found.add(match.group())
    return found


def rules() -> list[dict[str, Any]]:
    (doc,) = load_yaml(ALERTS.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return doc


def dashboard_exprs() -> list[str]:
    doc = dashboard()
    exprs = [t["expr"] for p in doc["panels"] for t in p.get("targets", [])]
    for var in doc["templating"]["list"]:
        exprs += [f"{name}" for name in _LABEL_VALUES.findall(var["query"]["query"])]
    return exprs


def rule_names() -> set[str]:
    return set().union(*(names_in(rule["expr"]) for rule in rules()))


def dashboard_names() -> set[str]:
    return set().union(*(names_in(expr) for expr in dashboard_exprs()))
