"""The Kubernetes manifests raced on this host: their workloads played by `podman kube
play` (stack.kube: the podman overlay, the local images, a Redis and a PostgreSQL of its
own), then the short race of the compose deployment through the gateway pod's published
port (one app pod and the Redis pod killed with SIGKILL mid-burst), the invariants
checked, and everything removed."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from couponrush.rush.deployed import RaceResult, Topology, plan_of, race
from couponrush.stack import kube
from couponrush.stack.compose import terminate_as_interrupt
from couponrush.stack.containers import detect
from couponrush.stack.procs import free_port

TOPOLOGY = Topology(app="app", redis=("redis",), postgres="postgres", gateway="gateway")


def run_kube_race(root: Path, clients: int, say: Callable[[str], None]) -> RaceResult:
    """Play, race, remove; whatever happened (Ctrl-C and SIGTERM included), nothing of
    it is left."""
    with tempfile.TemporaryDirectory(prefix="couponrush-kube-") as folder:
        stack = kube.KubeStack(detect(root), root, Path(folder), free_port(), say)
        say(f"not played by kube play: {', '.join(kube.skipped(kube.render(root)))}")
        stack.down()
        with terminate_as_interrupt():
            try:
                took = stack.up()
                say(f"ready after {took:.0f} s")
                result = race(stack, plan_of(True, clients), TOPOLOGY, kill_after_s=2.0)
                result.up_s = took
                return result
            finally:
                left = stack.down()
                if left:
                    say(f"swept after kube play --down: {', '.join(left)}")
