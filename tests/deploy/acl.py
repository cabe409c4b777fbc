"""Redis servers that load deploy/redis/users.acl as compose does (rendered with fresh
passwords), on free loopback ports, and logins to them."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import redis

from couponrush.stack import redis_acl, redis_nodes
from couponrush.stack.commands import cluster_node_argv, redis_argv
from couponrush.stack.procs import free_port, spawn, stop
from couponrush.stack.ready import wait_until
from tests.deploy.manifests import DEPLOY, ROOT


@dataclass
class Logins:
    """A fresh password per user of users.acl."""

    passwords: dict[str, str] = field(
        default_factory=lambda: {var: secrets.token_hex(24) for var in redis_acl.USERS.values()}
    )

    def password(self, user: str) -> str:
        return self.passwords[redis_acl.USERS[user]]

    def settings(self, user: str) -> dict[str, str]:
        """The settings (by field name) a process logging in as ``user`` gets."""
        return {"redis_username": user, "redis_password": self.password(user)}

    def client(self, port: int, user: str | None) -> redis.Redis:
        """A client of one node as ``user`` (None: nobody, no AUTH at all)."""
        if user is None:
            return redis.Redis(port=port, decode_responses=True, socket_timeout=5)
        return redis.Redis(
            port=port,
            decode_responses=True,
            socket_timeout=5,
            username=user,
            password=self.password(user),
        )


@dataclass
class AclServers:
    logins: Logins
    work: Path
    ports: list[int]
    argvs: dict[int, list[str]] = field(default_factory=dict)
    procs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, port: int) -> None:
        self.procs[port] = spawn(self.argvs[port], self.work / f"{port}.log")
        wait_until(partial(self.answers, port), f"Redis on {port}", 20)

    def crash_and_restart(self, port: int) -> None:
        """kill -9 (no shutdown, no last fsync), then the same server again on its data."""
        proc = self.procs.pop(port)
        proc.kill()
        proc.wait(timeout=10)
        self.start(port)

    def admin(self, port: int | None = None) -> redis.Redis:
        return self.logins.client(port or self.ports[0], "admin")

    def answers(self, port: int) -> bool:
        with self.admin(port) as node:
            return bool(node.ping())

    def acl_log(self) -> list[dict[str, object]]:
        """Every refusal any node logged (ACL LOG), read as admin."""
        found: list[dict[str, object]] = []
        for port in self.ports:
            with self.admin(port) as node:
                found += node.acl_log()
        return found

    def stop(self) -> None:
        for proc in self.procs.values():
            stop(proc)


def _options(acl: Path) -> list[tuple[str, str]]:
    # As deploy/redis/cluster.conf sets them, with the files compose mounts.
    return [
        ("protected-mode", "yes"),
        ("aclfile", str(acl)),
        ("masteruser", "replica"),
        ("include", str(acl.with_name("auth.conf"))),
    ]


@contextmanager
def acl_servers(cluster: bool) -> Iterator[AclServers]:
    """One standalone server, or a Cluster of 3 primaries and 6 replicas formed by
    deploy/redis/cluster-init.sh as admin (replication logged in as replica)."""
    work = Path(tempfile.mkdtemp(prefix="couponrush-acl-"))
    logins = Logins()
    acl = redis_acl.write(ROOT, logins.passwords, work / "secrets")
    ports = redis_nodes.cluster_ports(9) if cluster else [free_port()]
    servers = AclServers(logins, work, ports)
    try:
        for port in ports:
            data = work / str(port)
            data.mkdir()
            argv = cluster_node_argv(port, data) if cluster else redis_argv(port, data)
            servers.argvs[port] = argv + [w for k, v in _options(acl) for w in (f"--{k}", v)]
            servers.start(port)
        if cluster:
            _form(servers)
        yield servers
    finally:
        servers.stop()
        shutil.rmtree(work, ignore_errors=True)


def _form(servers: AclServers) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "REDIS_USER": "admin",
        "REDISCLI_AUTH": servers.logins.password("admin"),
        "REDIS_NODES": " ".join(f"127.0.0.1:{p}" for p in servers.ports),
    }
    done = subprocess.run(
        ["sh", str(DEPLOY / "redis" / "cluster-init.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
