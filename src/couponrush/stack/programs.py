"""What the local stack runs: each process's command line, environment and start order."""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import SecretStr

from couponrush.settings import Settings
from couponrush.stack import nginx, postgres
from couponrush.stack.commands import nginx_argv, redis_argv, tansu_argv
from couponrush.stack.state import StackState
from couponrush.stack.supervisor import Program

CLI = [sys.executable, "-m", "couponrush"]


def environment(state: StackState, var: Path) -> dict[str, str]:
    return {**state.environment(), "PROMETHEUS_MULTIPROC_DIR": str(var / "metrics")}


def gateway_config(settings: Settings, state: StackState, var: Path) -> Path:
    """The gateway's nginx.conf under var/nginx, with the feed's token from the state and
    its JSON access log in var/logs (buffered) when gateway_access_log is on."""
    listen = f"{settings.gateway_host}:{state.gateway_port}"
    log = nginx.json_log(var / "logs" / "gateway-access.log", buffered=True)
    stacked = settings.model_copy(update={"edge_feed_token": SecretStr(state.edge_feed_token)})
    return nginx.write_config(stacked, listen, state.app_addrs, var / "nginx",
                              log if settings.gateway_access_log else "off")  # fmt: skip


def programs(settings: Settings, state: StackState, var: Path) -> dict[str, Program]:
    """Stores first (started at once); the rest waits until `up` has migrated the schema."""
    found = stores(state, var)
    conf = gateway_config(settings, state, var)
    # One granian process per worker, each restarted on its own; `serve` clears the socket a
    # killed one left behind, which would otherwise keep its successor from binding.
    for i, port in enumerate(state.app_ports):
        serve = [*CLI, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        found[f"app-{i}"] = Program(serve, autostart=False)
    for i, sock in enumerate(state.app_sockets):
        serve = [*CLI, "serve", "--uds", sock, "--workers", "1"]
        found[f"app-{i}"] = Program(serve, autostart=False)
    found["gateway"] = Program(nginx_argv(conf), autostart=False, stopsignal="QUIT")
    found["consumer"] = Program([*CLI, "consume"], autostart=False)
    if state.queue == "kafka":
        found["relay"] = Program([*CLI, "relay"], autostart=False)
    return found


def stores(state: StackState, var: Path) -> dict[str, Program]:
    pg_argv = postgres.postgres_argv(state.pg_port, var / "pg", var / "pg-run")
    found = {
        "redis": Program(redis_argv(state.redis_port, var / "redis")),
        # SIGINT is PostgreSQL's fast shutdown: it does not wait for clients to leave.
        "postgres": Program(pg_argv, stopsignal="INT"),
    }
    if state.queue == "kafka":
        found["kafka"] = Program(tansu_argv(state.kafka_port))
    return found


def prepare(var: Path) -> None:
    """Folders and the database cluster, once."""
    postgres.open_to_server_user(var)
    for sub in ("redis", "logs", "run"):
        (var / sub).mkdir(parents=True, exist_ok=True)
    postgres.give_to_server_user(var / "pg-run")
    postgres.initdb(var / "pg")
