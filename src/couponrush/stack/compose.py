"""deploy/compose.yaml on this host: its secrets file, and `up`/`down` under podman-compose
(or docker compose).

Debian's podman-compose starts containers but neither waits for depends_on's conditions
nor (with no systemd on the host to time them) runs healthchecks. So `up` starts the
services wave by wave in dependency order and waits, between waves, for what compose
would: each started service healthy by its own compose healthcheck, each one-shot job
exited 0. docker compose does both itself (`up --wait`).
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from couponrush.core.errors import StackError
from couponrush.stack import redis_acl
from couponrush.stack.compose_env import read_env
from couponrush.stack.containers import Engine, detect

PROJECT = "couponrush"
DEPLOY = Path("deploy")
# The short race's services (deploy/compose.small.yaml).
SMALL = ("redis-1", "redis-2", "postgres", "migrate", "app", "consumer", "gateway")
_LABEL = "io.podman.compose.project"
_POLL_S = 1.0


def load(files: Iterable[Path]) -> dict[str, Any]:
    """The services of the compose files, later files merged over earlier ones (ruamel,
    of the dev tools: these commands run from a checkout)."""
    from ruamel.yaml import YAML

    merged: dict[str, Any] = {}
    for path in files:
        _merge(merged, YAML(typ="safe").load(path.read_text()).get("services", {}))
    return merged


def _merge(into: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


@dataclass
class Project:
    engine: Engine
    files: list[Path]
    env_file: Path
    name: str = PROJECT
    say: Callable[[str], None] = print
    services: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.services = load(self.files)

    @classmethod
    def for_repo(
        cls,
        root: Path,
        env_file: Path | None = None,
        small: bool = False,
        name: str = PROJECT,
        say: Callable[[str], None] = print,
    ) -> Project:
        """deploy/compose.yaml, with compose.debian.yaml where the stores' images are the
        ones built here (podman, or no registry's image present), and compose.small.yaml
        for the short race."""
        engine = detect(root)
        files = [root / DEPLOY / "compose.yaml"]
        if engine.name == "podman" or not engine.exists("redis:7.4-bookworm"):
            files.append(root / DEPLOY / "compose.debian.yaml")
        if small:
            files.append(root / DEPLOY / "compose.small.yaml")
        return cls(engine, files, env_file or root / DEPLOY / "compose.env", name, say)

    def command(self, *args: str) -> list[str]:
        files = [arg for path in self.files for arg in ("-f", str(path))]
        if self.engine.name == "docker":
            return [
                "docker",
                "compose",
                "-p",
                self.name,
                "--env-file",
                str(self.env_file),
                *files,
                *args,
            ]
        return ["podman-compose", "-p", self.name, *files, *args]

    def compose(self, *args: str, timeout: float = 600) -> None:
        env = {**self.engine.env(), **read_env(self.env_file)}
        done = subprocess.run(
            self.command(*args),
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            cwd=self.files[0].parent,
        )
        if done.returncode != 0:
            raise StackError(f"{' '.join(args[:2])} failed: {(done.stdout + done.stderr)[-2000:]}")

    def redis_secrets(self) -> Path:
        """Render Redis's ACL file and the replicas' login from the env file's passwords
        into the folder compose.yaml mounts (REDIS_SECRETS, else deploy/secrets/redis)."""
        env = read_env(self.env_file)
        folder = self.files[0].parent / env.get("REDIS_SECRETS", "secrets/redis")
        redis_acl.write(self.files[0].parent.parent, env, folder)
        return folder

    def up(
        self, wanted: Iterable[str] | None = None, only: bool = False, deadline_s: float = 600
    ) -> float:
        """Start ``wanted`` (default: every service without a profile) and what they
        depend on (``only``: those alone, in their order); return the seconds until all
        of it was healthy."""
        started = time.monotonic()
        self.redis_secrets()
        wanted = list(wanted or default_services(self.services))
        chosen = sorted(wanted) if only else closure(self.services, wanted)
        if self.engine.name == "docker":
            self.compose("up", "-d", "--wait", *chosen, timeout=deadline_s)
            return time.monotonic() - started
        # podman-compose creates every container (it adds each service's dependencies,
        # which the short form leaves out: those are created, never started).
        self.compose("up", "--no-start", "--no-build", *chosen)
        deadline = started + deadline_s
        for wave in waves(self.services, chosen):
            self.say(f"starting {', '.join(wave)}")
            names = [name for service in wave for name in self.containers(service)]
            self.engine.run("start", *names)
            for service in wave:
                self.settle(service, deadline)
        return time.monotonic() - started

    def containers(self, service: str) -> list[str]:
        done = self.engine.run(
            "ps",
            "-a",
            "--filter",
            f"label={_LABEL}={self.name}",
            "--filter",
            f"label=com.docker.compose.service={service}",
            "--format",
            "{{.Names}}",
        )
        return sorted(done.stdout.split())

    def settle(self, service: str, deadline: float) -> None:
        """Wait until ``service`` is what its dependents wait for: a one-shot job exited 0,
        a service with a healthcheck healthy by it, any other one running."""
        spec = self.services[service]
        for name in self.containers(service):
            while not self._settled(name, spec):
                if time.monotonic() > deadline:
                    logs = self.engine.run("logs", "--tail", "30", name, check=False)
                    raise StackError(
                        f"{name} did not become ready in time:\n{logs.stdout}{logs.stderr}"
                    )
                time.sleep(_POLL_S)

    def _settled(self, name: str, spec: dict[str, Any]) -> bool:
        state = self.engine.run(
            "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name
        ).stdout.split()
        if spec.get("restart") == "no":
            if state[0] == "exited" and state[1] != "0":
                raise StackError(f"{name} failed with exit code {state[1]}")
            return state[0] == "exited"
        test = health_test(spec)
        if state[0] != "running" or test is None:
            return state[0] == "running"
        timeout = _seconds(spec["healthcheck"].get("timeout", "30s"))
        try:
            done = self.engine.run("exec", name, *test, check=False, timeout=timeout + 5)
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0

    def down(self) -> list[str]:
        """Stop and remove every container, volume and network of the project; return
        what had to be swept after compose's own `down` (nothing, normally)."""
        if self.engine.name == "docker":
            self.compose("down", "--volumes", "--remove-orphans", "--timeout", "10")
            return []
        self.compose("down", "--volumes", "-t", "10")
        return self.sweep()

    def sweep(self) -> list[str]:
        swept = []
        for kind, remove in (
            ("ps -a", "rm -f"),
            ("volume ls", "volume rm -f"),
            ("network ls", "network rm -f"),
        ):
            names = self.leftovers(kind)
            if names:
                self.engine.run(*remove.split(), *names, check=False)
                swept += names
        return swept

    def leftovers(self, kind: str) -> list[str]:
        """Containers (``ps -a``), volumes or networks of this project still present."""
        fmt = "{{.Names}}" if kind == "ps -a" else "{{.Name}}"
        done = self.engine.run(*kind.split(), "--format", fmt, check=False)
        return [name for name in done.stdout.split() if name.startswith(f"{self.name}_")]


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI job cancelled, `kill`) raises KeyboardInterrupt as Ctrl-C does, so
    the caller's clean-up runs and what it started is removed; a second SIGTERM then
    does not cut that clean-up short."""

    def interrupt(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt(f"signal {signum}")

    before = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def default_services(services: dict[str, Any]) -> list[str]:
    return [name for name, spec in services.items() if not spec.get("profiles")]


def depends(spec: dict[str, Any]) -> list[str]:
    found = spec.get("depends_on") or []
    return list(found) if isinstance(found, (list, dict)) else []


def _needs(spec: dict[str, Any], chosen: list[str]) -> set[str]:
    return set(depends(spec)) & set(chosen)


def closure(services: dict[str, Any], wanted: Iterable[str]) -> list[str]:
    chosen: list[str] = []
    todo = list(wanted)
    while todo:
        name = todo.pop()
        if name not in chosen:
            chosen.append(name)
            todo.extend(depends(services[name]))
    return sorted(chosen)


def waves(services: dict[str, Any], chosen: list[str]) -> list[list[str]]:
    """``chosen`` in waves: each service after every one it depends on."""
    placed: set[str] = set()
    found = []
    while len(placed) < len(chosen):
        wave = [s for s in chosen if s not in placed and _needs(services[s], chosen) <= placed]
        if not wave:
            raise StackError(f"a depends_on cycle among {sorted(set(chosen) - placed)}")
        found.append(wave)
        placed.update(wave)
    return found


def health_test(spec: dict[str, Any]) -> list[str] | None:
    """The service's compose healthcheck as a command to exec, None if it has none."""
    check = spec.get("healthcheck") or {}
    test = check.get("test")
    if check.get("disable") or not test:
        return None
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    words = [word.replace("$$", "$") for word in test]
    if words[0] == "CMD-SHELL":
        return ["sh", "-c", words[1]]
    return words[1:] if words[0] == "CMD" else None


def _seconds(text: str) -> float:
    units = {"ms": 0.001, "s": 1.0, "m": 60.0}
    for unit in ("ms", "s", "m"):
        if text.endswith(unit):
            return float(text.removesuffix(unit)) * units[unit]
    return float(text)
