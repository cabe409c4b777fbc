"""The Kubernetes manifests' workloads run by `podman kube play` on this host: the podman
overlay (deploy/k8s/overlays/podman) rendered by kubectl's kustomize, the Secrets it
names made as podman secrets with fresh values, then played stage by stage (stores, the
migrate Job's pod, app and consumer, gateway), each stage ready by the manifests' own
readiness probes (the stores by their own clients) before the next.

kube play (podman 4.3) runs Pods, Deployments with their replicas, ConfigMaps and Secret
references in the environment; it runs no Service, autoscaler, budget or NetworkPolicy,
no Job or CronJob (a Job's pod template is played as a Pod here) and crashes on a Secret
volume. Pods find each other by pod name (<deployment>-pod-<i>) on one podman network.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from couponrush.core.errors import StackError
from couponrush.stack import redis_acl
from couponrush.stack.containers import Engine

OVERLAY = Path("deploy") / "k8s" / "overlays" / "podman"
NETWORK = "couponrush-kube"
STAGES = (("redis", "postgres"), ("migrate",), ("app", "consumer"), ("gateway",))
PLAYED = {"Deployment", "Job", "ConfigMap"}
SECRETS = (
    "couponrush-secrets",
    "couponrush-redis-users",
    "couponrush-redis-acl",
    "couponrush-pg-app",
    "couponrush",
)
# The pods kube play makes of the stages' workloads.
OURS = re.compile(rf"^({'|'.join(n for stage in STAGES for n in stage)})(-pod-\d+)?$")
_POLL_S = 1.0
Doc = dict[str, Any]


def render(root: Path) -> list[Doc]:
    """The overlay as `kubectl apply -k` would send it (kubectl of the dev tools)."""
    from ruamel.yaml import YAML

    kubectl = str(Path(sys.executable).with_name("kubectl"))
    done = subprocess.run(
        [kubectl, "kustomize", str(root / OVERLAY)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise StackError(f"kubectl kustomize failed: {done.stderr.strip()}")
    return [doc for doc in YAML(typ="safe", pure=True).load_all(done.stdout) if doc]


def skipped(docs: list[Doc]) -> list[str]:
    """What kube play cannot run, by kind/name."""
    return sorted({f"{d['kind']}/{d['metadata']['name']}" for d in docs if d["kind"] not in PLAYED})


def as_pod(job: Doc) -> Doc:
    """A Job's pod template as a Pod of the Job's name."""
    template = job["spec"]["template"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {**template.get("metadata", {}), "name": job["metadata"]["name"]},
        "spec": template["spec"],
    }


def fresh_secrets(root: Path) -> dict[str, dict[str, str]]:
    """The Secrets the manifests name (deploy/k8s/README.md), with fresh values; the
    Redis ACL file rendered from deploy/redis/users.acl for the overlay's Redis."""
    passwords = {var: secrets.token_hex(24) for var in redis_acl.USERS.values()}
    acl = redis_acl.render((root / redis_acl.TEMPLATE).read_text(), passwords)
    users = {f"{u}-password": passwords[redis_acl.USERS[u]] for u in ("app", "pipeline", "ops")}
    return {
        "couponrush-secrets": {
            "admin-token": secrets.token_hex(24),
            "coupon-secret": secrets.token_hex(32),
            "edge-feed-token": secrets.token_hex(24),
        },
        "couponrush-redis-users": users,
        "couponrush-redis-acl": {
            "users.acl": acl,
            "admin-password": passwords[redis_acl.USERS["admin"]],
        },
        "couponrush-pg-app": {"password": secrets.token_hex(24)},
        "couponrush": {"password": secrets.token_hex(24)},  # Kafka's; stream mode uses none
    }


@dataclass
class KubeStack:
    """The played workloads, and what the deployed race needs of a deployment: the engine,
    an env file with the passwords it checks with, and each service's containers."""

    engine: Engine
    root: Path
    work: Path
    port: int
    say: Callable[[str], None] = print
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    played: list[Path] = field(default_factory=list)

    @property
    def env_file(self) -> Path:
        return self.work / "kube.env"

    def up(self, deadline_s: float = 600) -> float:
        """Secrets, network, then every stage played and ready; the seconds it took."""
        started = time.monotonic()
        docs = render(self.root)
        self.values = fresh_secrets(self.root)
        for name, data in self.values.items():
            blob = json.dumps({k: base64.b64encode(v.encode()).decode() for k, v in data.items()})
            self.engine.run("secret", "create", name, "-", input_text=blob)
        self.engine.run("network", "create", NETWORK)
        self._write_env()
        for stage in STAGES:
            self.say(f"playing {', '.join(stage)}")
            self._play(docs, stage)
            for name in stage:
                self._ready(name, docs, started + deadline_s)
        return time.monotonic() - started

    def _write_env(self) -> None:
        acl, pg = self.values["couponrush-redis-acl"], self.values["couponrush-pg-app"]
        self.env_file.write_text(
            f"COUPONRUSH_ADMIN_TOKEN={self.values['couponrush-secrets']['admin-token']}\n"
            f"REDIS_ADMIN_PASSWORD={acl['admin-password']}\nPOSTGRES_PASSWORD={pg['password']}\n"
            f"GATEWAY_PORT={self.port}\n"
        )
        self.env_file.chmod(0o600)

    def _play(self, docs: list[Doc], names: tuple[str, ...]) -> None:
        from ruamel.yaml import YAML

        chosen = [d for d in docs if d["kind"] == "ConfigMap"]
        for doc in docs:
            if doc["kind"] in ("Deployment", "Job") and doc["metadata"]["name"] in names:
                chosen.append(as_pod(doc) if doc["kind"] == "Job" else self._published(doc))
        path = self.work / f"{'-'.join(names)}.yaml"
        with path.open("w") as out:
            YAML(typ="safe", pure=True).dump_all(chosen, out)
        self.played.append(path)
        self.engine.run("kube", "play", "--network", NETWORK, str(path), timeout=600)

    def _published(self, doc: Doc) -> Doc:
        """Only the gateway's plain-HTTP port published, on 127.0.0.1 (what the load
        balancer would be); kube play would publish every containerPort on the host."""
        played = copy.deepcopy(doc)
        for container in played["spec"]["template"]["spec"]["containers"]:
            container.pop("ports", None)
            if doc["metadata"]["name"] == "gateway":
                container["ports"] = [
                    {
                        "name": "http",
                        "containerPort": 8080,
                        "hostPort": self.port,
                        "hostIP": "127.0.0.1",
                    }
                ]
        return played

    def containers(self, service: str) -> list[str]:
        """The containers of a Deployment's pods (<name>-pod-<i>-<container>), or of the
        Pod played for a Job."""
        done = self.engine.run("ps", "-a", "--pod", "--format", "{{.Names}} {{.PodName}}")
        pod = re.compile(rf"^{re.escape(service)}(-pod-\d+)?$")
        return sorted(
            n
            for n, p in (
                line.split() for line in done.stdout.splitlines() if len(line.split()) == 2
            )
            if pod.match(p) and not n.endswith("-infra")
        )

    def _ready(self, name: str, docs: list[Doc], deadline: float) -> None:
        containers = self.containers(name)
        if not containers:
            raise StackError(f"kube play started no pod of {name}")
        check = self._check(name, docs)
        for container in containers:
            while not check(container):
                if time.monotonic() > deadline:
                    logs = self.engine.run("logs", "--tail", "30", container, check=False)
                    raise StackError(
                        f"{container} was not ready in time:\n{logs.stdout}{logs.stderr}"
                    )
                time.sleep(_POLL_S)

    def _check(self, name: str, docs: list[Doc]) -> Callable[[str], bool]:
        if name == "redis":
            auth = f"REDISCLI_AUTH={self.values['couponrush-redis-acl']['admin-password']}"
            return lambda c: (
                "PONG" in self._exec("-e", auth, c, "redis-cli", "--user", "admin", "ping")
            )
        if name == "postgres":
            return lambda c: "accepting" in self._exec(c, "pg_isready", "-h", "127.0.0.1")
        if name == "migrate":
            return self._exited_ok
        return self._probe(
            next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == name)
        )

    def _exec(self, *args: str) -> str:
        return self.engine.run("exec", *args, check=False, timeout=30).stdout

    def _exited_ok(self, container: str) -> bool:
        state = self.engine.run(
            "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", container
        ).stdout.split()
        if state[0] == "exited" and state[1] != "0":
            raise StackError(f"{container} failed with exit code {state[1]}")
        return state[0] == "exited"

    def _probe(self, workload: Doc) -> Callable[[str], bool]:
        """The workload's own readinessProbe (httpGet), asked from this host."""
        (spec,) = workload["spec"]["template"]["spec"]["containers"]
        probe = spec["readinessProbe"]["httpGet"]
        ports = {p.get("name"): p["containerPort"] for p in spec.get("ports", [])}
        port = ports.get(probe["port"], probe["port"])

        def ready(container: str) -> bool:
            ip = self.engine.run(
                "inspect",
                "--format",
                "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                container,
            ).stdout.strip()
            try:
                return httpx.get(f"http://{ip}:{port}{probe['path']}", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        return ready

    def down(self) -> list[str]:
        """Every played pod, the secrets and the network removed; what was left of them."""
        for path in reversed(self.played):
            self.engine.run("kube", "play", "--down", str(path), check=False, timeout=300)
        for name in SECRETS:
            self.engine.run("secret", "rm", name, check=False)
        pods = self.engine.run("pod", "ps", "--format", "{{.Name}}", check=False).stdout.split()
        left = [p for p in pods if OURS.match(p)]
        if left:
            self.engine.run("pod", "rm", "-f", *left, check=False)
        self.engine.run("network", "rm", "-f", NETWORK, check=False)
        return left
