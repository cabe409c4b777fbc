"""deploy/k8s: every kustomization renders, validates against the Kubernetes schemas, and
keeps the properties the design needs (non-root, probes, spread, budgets, autoscaling)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.deploy.manifests import (
    KUSTOMIZATIONS,
    PRODUCTION,
    Doc,
    find,
    pod_spec,
    rendered,
    resources,
    run,
    workloads,
)

# The oldest Kubernetes the manifests promise to work on, and the newest the validator
# ships (its default).
VERSIONS = ["1.32.0", None]
SERVING = ("app", "gateway")
DEPLOYMENTS = {"app", "gateway", "consumer", "relay"}
kustomizations = pytest.mark.parametrize(
    "kustomization", KUSTOMIZATIONS, ids=[p.name for p in KUSTOMIZATIONS]
)


@kustomizations
@pytest.mark.parametrize("version", VERSIONS, ids=["oldest", "newest"])
def test_validates_against_the_kubernetes_schemas(
    kustomization: Path, version: str | None, tmp_path: Path
) -> None:
    manifest = tmp_path / "rendered.yaml"
    manifest.write_text(rendered(kustomization))
    pinned = ["--kubernetes-version", version] if version else []
    # Strict: an unknown field is an error, not silently dropped by the API server.
    done = run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet", *pinned, str(manifest)]
    )
    assert done.returncode == 0, done.stdout + done.stderr


@kustomizations
def test_the_workloads_of_the_design(kustomization: Path) -> None:
    docs = resources(kustomization)
    kinds = {(doc["kind"], doc["metadata"]["name"]) for doc in workloads(docs)}
    assert kinds == {("Deployment", name) for name in DEPLOYMENTS} | {
        ("Job", "migrate"),
        ("CronJob", "reconcile"),
    }
    # Secrets are never in git: the manifests only refer to them.
    assert not [doc for doc in docs if doc["kind"] == "Secret"]


@kustomizations
def test_pods_run_unprivileged_with_bounded_resources(kustomization: Path) -> None:
    for workload in workloads(resources(kustomization)):
        name = workload["metadata"]["name"]
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            for bound in ("requests", "limits"):
                assert set(container["resources"][bound]) == {"cpu", "memory"}, name
            image = container["image"]
            assert ":" in image.rsplit("/", 1)[-1], f"{name}: image without a tag"
            assert not image.endswith(":latest"), name


@kustomizations
def test_deployments_have_probes_spread_and_budgets(kustomization: Path) -> None:
    docs = resources(kustomization)
    for name in DEPLOYMENTS:
        deployment = find(docs, "Deployment", name)
        spec = pod_spec(deployment)
        for container in spec["containers"]:
            assert "readinessProbe" in container, name
            assert "livenessProbe" in container, name
        keys = {c["topologyKey"] for c in spec["topologySpreadConstraints"]}
        assert "topology.kubernetes.io/zone" in keys, name
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        budget = find(docs, "PodDisruptionBudget", name)
        assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items(), name


@kustomizations
def test_app_and_gateway_scale_on_cpu(kustomization: Path) -> None:
    docs = resources(kustomization)
    for name in SERVING:
        target = find(docs, "HorizontalPodAutoscaler", name)["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", name)
        # The autoscaler owns the count; a replicas field would reset it on every apply.
        assert "replicas" not in find(docs, "Deployment", name)["spec"], name


@kustomizations
def test_every_service_selects_pods_of_a_workload(kustomization: Path) -> None:
    docs = resources(kustomization)
    pods = [
        w["spec"]["template"]["metadata"]["labels"]
        for w in workloads(docs)
        if w["kind"] == "Deployment"
    ]
    for service in (doc for doc in docs if doc["kind"] == "Service"):
        selector: Doc = service["spec"]["selector"]
        assert any(selector.items() <= labels.items() for labels in pods), service


def test_production_spreads_the_serving_tiers_over_zones_strictly() -> None:
    docs = resources(PRODUCTION)
    for name in SERVING:
        spread = pod_spec(find(docs, "Deployment", name))["topologySpreadConstraints"]
        zone = [c for c in spread if c["topologyKey"] == "topology.kubernetes.io/zone"]
        assert [c["whenUnsatisfiable"] for c in zone] == ["DoNotSchedule"], name
    service = find(docs, "Service", "gateway")["spec"]
    assert (service["type"], service["externalTrafficPolicy"]) == ("LoadBalancer", "Local")
