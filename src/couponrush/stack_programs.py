"""What the local stack runs: each process's command line, environment and start order."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from couponrush import gateway, procs
from couponrush.db import localpg
from couponrush.pipeline import kafka
from couponrush.supervisor import Program

if TYPE_CHECKING:
    from couponrush.settings import Settings
    from couponrush.stack import StackState

CLI = [sys.executable, "-m", "couponrush"]


def environment(state: StackState, var: Path) -> dict[str, str]:
    env = {
        "COUPONRUSH_REDIS_URL": state.redis_url,
        "COUPONRUSH_DATABASE_URL": state.database_url,
        "COUPONRUSH_ADMIN_TOKEN": state.admin_token,
        "COUPONRUSH_COUPON_SECRET": state.coupon_secret,
        "COUPONRUSH_QUEUE": state.queue,
        "PROMETHEUS_MULTIPROC_DIR": str(var / "metrics"),
    }
    if state.queue == "kafka":
        env["COUPONRUSH_KAFKA_BOOTSTRAP"] = f"127.0.0.1:{state.kafka_port}"
    return env


def programs(settings: Settings, state: StackState, var: Path) -> dict[str, Program]:
    """Stores first (started at once); the rest waits until `up` has migrated the schema."""
    found = stores(state, var)
    listen = f"{settings.gateway_host}:{state.gateway_port}"
    conf = gateway.write_config(settings, listen, state.app_addrs, var / "nginx")
    for i, port in enumerate(state.app_ports):
        found[f"app-{i}"] = Program(procs.app_argv("127.0.0.1", port, 1), autostart=False)
    for i, sock in enumerate(state.app_sockets):
        found[f"app-{i}"] = Program(procs.app_argv("", 0, 1, uds=Path(sock)), autostart=False)
    found["gateway"] = Program(gateway.nginx_argv(conf), autostart=False, stopsignal="QUIT")
    found["consumer"] = Program([*CLI, "consume"], autostart=False)
    if state.queue == "kafka":
        found["relay"] = Program([*CLI, "relay"], autostart=False)
    return found


def stores(state: StackState, var: Path) -> dict[str, Program]:
    pg_argv = localpg.postgres_argv(state.pg_port, var / "pg", var / "pg-run")
    found = {
        "redis": Program(procs.redis_argv(state.redis_port, var / "redis")),
        # SIGINT is PostgreSQL's fast shutdown: it does not wait for clients to leave.
        "postgres": Program(pg_argv, stopsignal="INT"),
    }
    if state.queue == "kafka":
        found["kafka"] = Program(kafka.tansu_argv(state.kafka_port))
    return found


def prepare(var: Path) -> None:
    """Folders and the database cluster, once."""
    localpg.open_to_server_user(var)
    for sub in ("redis", "logs", "run"):
        (var / sub).mkdir(parents=True, exist_ok=True)
    localpg.give_to_server_user(var / "pg-run")
    localpg.initdb(var / "pg")
