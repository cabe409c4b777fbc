"""What the local stack runs: each process's command line, environment and start order."""

from __future__ import annotations

from pathlib import Path

from couponrush.settings import Settings
from couponrush.stack import monitoring, nginx, postgres
from couponrush.stack.commands import CLI, nginx_argv, redis_argv, tansu_argv
from couponrush.stack.state import StackState
from couponrush.stack.supervisor import Program


def environment(state: StackState, var: Path) -> dict[str, str]:
    return state.environment()


def programs(settings: Settings, state: StackState, var: Path) -> dict[str, Program]:
    """Stores first (started at once); the rest waits until `up` has migrated the schema."""
    found = stores(state, var)
    listen = f"{settings.gateway_host}:{state.gateway_port}"
    conf = nginx.write_config(settings, listen, state.app_addrs, var / "nginx")
    # One granian process per worker, each restarted on its own; `serve` clears the socket a
    # killed one left behind, which would otherwise keep its successor from binding. The
    # workers sum their metrics through files in var/metrics (prometheus_client).
    shared = {"PROMETHEUS_MULTIPROC_DIR": str(var / "metrics")}
    for i, port in enumerate(state.app_ports):
        serve = [*CLI, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        found[f"app-{i}"] = Program(serve, autostart=False, env=shared)
    for i, sock in enumerate(state.app_sockets):
        serve = [*CLI, "serve", "--uds", sock, "--workers", "1"]
        found[f"app-{i}"] = Program(serve, autostart=False, env=shared)
    found["app-metrics"] = monitoring.app_metrics(state, var)
    found["gateway"] = Program(nginx_argv(conf), autostart=False, stopsignal="QUIT")
    for role, command in (("consumer", "consume"), ("relay", "relay")):
        if role in state.metrics_ports:
            metrics = ["--metrics-port", str(state.metrics_ports[role])]
            found[role] = Program([*CLI, command, *metrics], autostart=False)
    return {**found, **monitoring.programs(state, var)}


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
