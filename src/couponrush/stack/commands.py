"""The command line of every program couponrush runs, shared by the local stack (under
supervisord), the tests and the benchmarks, so all of them run exactly the same servers.
(PostgreSQL's, which needs its own user handling, is in stack.postgres.)"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from couponrush.stack.procs import binary

APP_FACTORY = "couponrush.web.rsgi:app"
# The command line itself, for the programs that are couponrush commands.
CLI = [sys.executable, "-m", "couponrush"]


Options = list[tuple[str, str]]
SENTINEL_MASTER = "couponrush"
# Replication of Sentinel and Cluster nodes: resyncs without a disk round trip, replicas
# reported within a second (Redis leaves a replica out of CLUSTER SLOTS until its first
# replicated byte), and a primary that refuses writes when no replica keeps up.
REPLICATED: Options = [
    ("repl-diskless-sync", "yes"), ("repl-diskless-sync-delay", "0"),
    ("repl-ping-replica-period", "1"), ("min-replicas-to-write", "1"),
    ("min-replicas-max-lag", "5"),
]  # fmt: skip
# A dead primary is replaced about 1.5-2.5 s after it stops answering; a shard that is
# down stops its own events only (no full coverage needed), and a replica may take over
# however long its link was down.
CLUSTER_NODE: Options = [
    ("cluster-enabled", "yes"), ("cluster-config-file", "nodes.conf"),
    ("cluster-node-timeout", "1000"), ("cluster-replica-validity-factor", "0"),
    ("cluster-require-full-coverage", "no"), ("cluster-allow-reads-when-down", "no"),
]  # fmt: skip


def redis_options(
    port: int, data_dir: Path, appendfsync: str = "everysec", bind: str = "127.0.0.1"
) -> Options:
    """A Redis on one address (loopback unless a network namespace's) with AOF on, no
    snapshots, and no eviction ever. Protected mode refuses every client that is not on
    loopback, so a node in a namespace (reached only from this host) turns it off."""
    protected = "yes" if bind.startswith("127.") else "no"
    return [
        ("port", str(port)),
        ("bind", bind),
        ("protected-mode", protected),
        ("dir", str(data_dir)),
        ("appendonly", "yes"),
        ("appendfsync", appendfsync),
        ("save", ""),
        ("maxmemory-policy", "noeviction"),
        ("daemonize", "no"),
        ("tcp-backlog", "4096"),
        ("loglevel", "warning"),
    ]


def redis_server() -> str:
    return binary("redis-server", "run 'make install' (Debian package redis-server)")


def redis_argv(
    port: int,
    data_dir: Path,
    appendfsync: str = "everysec",
    extra: Sequence[tuple[str, str]] = (),
    bind: str = "127.0.0.1",
) -> list[str]:
    options = [*redis_options(port, data_dir, appendfsync, bind), *extra]
    return [redis_server(), *[word for key, value in options for word in (f"--{key}", value)]]


def cluster_node_argv(port: int, data_dir: Path, bind: str = "127.0.0.1") -> list[str]:
    """One node of a Cluster; its role lives in nodes.conf beside its data."""
    return redis_argv(port, data_dir, extra=[*REPLICATED, *CLUSTER_NODE], bind=bind)


def conf_text(options: Options) -> str:
    return "".join(f"{key} {value}\n" if value else f'{key} ""\n' for key, value in options)


def sentinel_node_conf(
    port: int, data_dir: Path, primary: tuple[str, int], bind: str = "127.0.0.1"
) -> str:
    """A data node watched by the sentinels, as a file: a failover rewrites its role
    there (CONFIG REWRITE), so a restart keeps the role it had last. ``primary``: the
    first primary's (host, port)."""
    options = [*redis_options(port, data_dir, bind=bind), *REPLICATED]
    if (bind, port) != primary:
        options.append(("replicaof", f"{primary[0]} {primary[1]}"))
    return conf_text(options)


def sentinel_conf(
    port: int, work_dir: Path, primary: tuple[str, int], bind: str = "127.0.0.1"
) -> str:
    """A sentinel of the local primary; the sentinel rewrites this file as it learns."""
    name = SENTINEL_MASTER
    return "".join(
        f"{line}\n"
        for line in (
            f"port {port}",
            f"bind {bind}",
            f'dir "{work_dir}"',
            "daemonize no",
            "loglevel notice",
            "sentinel resolve-hostnames no",
            f"sentinel monitor {name} {primary[0]} {primary[1]} 2",
            f"sentinel down-after-milliseconds {name} 1000",
            f"sentinel failover-timeout {name} 5000",
            f"sentinel parallel-syncs {name} 2",
        )
    )


def conf_argv(conf: Path, sentinel: bool = False) -> list[str]:
    return [redis_server(), str(conf), *(["--sentinel"] if sentinel else [])]


def app_argv(host: str, port: int, workers: int, uds: Path | None = None) -> list[str]:
    """granian serving the app's RSGI factory (web/rsgi.py); settings reach it through the
    environment.

    With ``uds`` it listens on a Unix socket (owner-only) instead of host:port: behind the
    gateway that saves the loopback TCP stack on every request, about a fifth of the CPU.
    """
    granian = str(Path(sys.executable).with_name("granian"))
    # granian's own lines as JSON too, like every other line of the stack
    log_config = str(resources.files("couponrush").joinpath("logging.json"))
    where = (
        ["--uds", str(uds), "--uds-permissions", "384"]
        if uds
        else ["--host", host, "--port", str(port)]
    )
    return [
        granian,
        "--interface",
        "rsgi",
        "--factory",
        APP_FACTORY,
        *where,
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "1",
        "--no-ws",
        "--backlog",
        "4096",
        "--log-level",
        "warning",
        "--log-config",
        log_config,
        "--workers-kill-timeout",
        "10",
    ]


def nginx_argv(conf: Path) -> list[str]:
    """nginx in the foreground (its supervisor or test fixture owns the process)."""
    nginx = binary("nginx", "run 'make install' (Debian package nginx-light)")
    return [
        nginx,
        "-c",
        str(conf),
        "-p",
        str(conf.parent),
        "-e",
        str(conf.parent / "error.log"),
        "-g",
        "daemon off;",
    ]
