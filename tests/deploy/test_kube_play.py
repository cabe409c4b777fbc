"""The Kubernetes manifests' workloads run for real (`couponrush kube race`): the podman
overlay played by `podman kube play` with the images built here (app x2, consumer,
gateway, the migrate Job's pod, a Redis and a PostgreSQL of its own), raced through the
gateway pod while an app pod and the Redis pod are killed with SIGKILL, the invariants
checked, and nothing of it left: no pod, secret or network."""

from __future__ import annotations

import shutil

import pytest

from couponrush.rush.kube_race import run_kube_race
from couponrush.stack import containers, images, kube
from tests.deploy.manifests import ROOT
from tests.deploy.test_deployed import NEEDED

pytestmark = pytest.mark.skipif(shutil.which("podman") is None, reason="kube play is podman's")


@pytest.mark.timeout(900)
def test_the_manifests_workloads_play_and_survive_their_kills() -> None:
    engine = containers.detect(ROOT)
    images.build_all(engine, ROOT, NEEDED, print)

    result = run_kube_race(ROOT, clients=0, say=print)

    assert result.breaches == [], result.to_json()
    assert result.set_check.ok, result.to_json()
    assert result.killed == ["app-pod-0-app", "redis-pod-0-redis"]
    assert result.set_check.told == result.set_check.rows == result.plan.stock
    assert result.edge_answers > 0, result.to_json()
    pods = engine.run("pod", "ps", "--format", "{{.Name}}").stdout.split()
    assert not [pod for pod in pods if kube.OURS.match(pod)]
    assert not set(engine.run("secret", "ls", "--format", "{{.Name}}").stdout.split()) & set(
        kube.SECRETS
    )
    assert kube.NETWORK not in engine.run("network", "ls", "--format", "{{.Name}}").stdout.split()


def test_what_kube_play_cannot_run_is_what_the_docs_name() -> None:
    docs = (ROOT / "docs" / "deployment.md").read_text()
    for kind in {name.split("/")[0] for name in kube.skipped(kube.render(ROOT))}:
        assert kind in docs, f"docs/deployment.md does not say kube play leaves {kind} out"
