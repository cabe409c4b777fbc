"""What the local stack runs: each process's command line, environment and start order."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import SecretStr

from couponrush.settings import Settings
from couponrush.stack import kafka, kafka_dist, monitoring, nginx, postgres
from couponrush.stack.commands import (
    CLI,
    cluster_node_argv,
    conf_argv,
    nginx_argv,
    redis_argv,
    sentinel_conf,
    sentinel_node_conf,
)
from couponrush.stack.netns import Net
from couponrush.stack.redis_nodes import Hosts, host_of
from couponrush.stack.state import StackState
from couponrush.stack.supervisor import Program


def gateway_config(settings: Settings, state: StackState, var: Path) -> Path:
    """The gateway's nginx.conf under var/nginx, with the feed's token, Redis and the coupon
    secret from the state (the win lane's), and its JSON access log in var/logs (buffered)
    when gateway_access_log is on."""
    listen = f"{settings.gateway_host}:{state.gateway_port}"
    log = nginx.json_log(var / "logs" / "gateway-access.log", buffered=True)
    stacked = settings.model_copy(
        update={
            "edge_feed_token": SecretStr(state.edge_feed_token),
            "redis_url": state.redis_url,
            "redis_mode": state.redis_mode,
            "coupon_secret": SecretStr(state.coupon_secret),
        }
    )
    return nginx.write_config(
        stacked,
        listen,
        state.app_addrs,
        var / "nginx",
        log if settings.gateway_access_log else "off",
    )


def programs(
    settings: Settings, state: StackState, var: Path, net: Net | None = None
) -> dict[str, Program]:
    """Stores first (started at once); the rest waits until `up` has migrated the schema."""
    found = stores(state, var, net)
    conf = gateway_config(settings, state, var)
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
    found["app-metrics"] = monitoring.app_metrics(state, shared)
    found["gateway"] = Program(nginx_argv(conf), autostart=False, stopsignal="QUIT")
    for role, command in (("consumer", "consume"), ("relay", "relay")):
        if role in state.metrics_ports:
            metrics = ["--metrics-port", str(state.metrics_ports[role])]
            found[role] = Program(
                [*CLI, command, *metrics], autostart=False, env=pipeline_env(settings)
            )
    found |= monitoring.programs(state, var)
    if state.redis_members:
        # Last, so that `down` stops it first: it would start the nodes being stopped.
        env = {"COUPONRUSH_VAR_DIR": str(var)}
        found["healer"] = Program([*CLI, "heal"], autostart=False, env=env)
    return found


def pipeline_env(settings: Settings) -> dict[str, str]:
    """The stack's own Kafka tuning for the relay and the consumer (the topic's copies come
    with the state: they follow the number of brokers)."""
    names = (
        "kafka_topic",
        "kafka_partitions",
        "kafka_delivery_timeout_ms",
        "kafka_max_poll_interval_ms",
    )
    return {f"COUPONRUSH_{name.upper()}": str(getattr(settings, name)) for name in names}


def kafka_programs(state: StackState, var: Path, net: Net | None = None) -> dict[str, Program]:
    """One program per node, "kafka-<node id>". With several, a killed broker stays down
    (its partitions are led elsewhere) until `couponrush up` starts it again, as Redis's
    replicated nodes do; a lone one is restarted at once. With ``net`` each node runs in
    its member's network namespace (on the address its config names)."""
    nodes = state.kafka_nodes(var)
    libs = kafka_dist.libs()
    found = {}
    for node in nodes:
        name = f"kafka-{node.node_id}"
        argv = _inside(net, name, kafka.broker_argv(node, libs))
        found[name] = Program(argv, autorestart=len(nodes) == 1)
    return found


def stores(state: StackState, var: Path, net: Net | None = None) -> dict[str, Program]:
    pg_argv = postgres.postgres_argv(state.pg_port, var / "pg", var / "pg-run")
    layout = (state.redis_mode, state.redis_data_ports, state.sentinel_ports)
    found = {
        **redis_programs(*layout, var / "redis", state.redis_hosts, net),
        # SIGINT is PostgreSQL's fast shutdown: it does not wait for clients to leave.
        "postgres": Program(pg_argv, stopsignal="INT"),
    }
    if state.queue == "kafka":
        found.update(kafka_programs(state, var, net))
    return found


def redis_programs(
    mode: str,
    data_ports: Sequence[int],
    sentinel_ports: Sequence[int],
    folder: Path,
    hosts: Hosts | None = None,
    net: Net | None = None,
) -> dict[str, Program]:
    """Standalone: one server ("redis"). Cluster: nine nodes; Sentinel: three data nodes,
    from files they rewrite (roles), and three sentinels ("redis-<i>" is the data node on
    ``data_ports[i]``, "sentinel-<i>" the sentinel on ``sentinel_ports[i]``). With ``net``
    each node runs in its member's network namespace, on its address in ``hosts``."""
    if mode == "standalone":
        return {"redis": Program(redis_argv(data_ports[0], folder))}
    found = {}
    primary = (host_of(hosts, data_ports[0]), data_ports[0])
    for i, port in enumerate(data_ports):
        node, bind = folder / f"node-{port}", host_of(hosts, port)
        node.mkdir(parents=True, exist_ok=True)
        if mode == "cluster":
            argv = cluster_node_argv(port, node, bind)
        else:
            text = sentinel_node_conf(port, node, primary, bind)
            argv = conf_argv(_once(node / "redis.conf", text))
        found[f"redis-{i}"] = Program(_inside(net, f"redis-{i}", argv), autorestart=False)
    for i, port in enumerate(sentinel_ports):
        work = folder / f"sentinel-{port}"
        work.mkdir(parents=True, exist_ok=True)
        text = sentinel_conf(port, work, primary, host_of(hosts, port))
        argv = conf_argv(_once(work / "sentinel.conf", text), sentinel=True)
        found[f"sentinel-{i}"] = Program(_inside(net, f"sentinel-{i}", argv))
    return found


def _inside(net: Net | None, member: str, argv: list[str]) -> list[str]:
    return argv if net is None else net.exec_argv(member, argv)


def _once(path: Path, text: str) -> Path:
    if not path.exists():
        path.write_text(text)
    return path


def prepare(var: Path) -> None:
    """Folders and the database cluster, once."""
    postgres.open_to_server_user(var)
    for sub in ("redis", "logs", "run"):
        (var / sub).mkdir(parents=True, exist_ok=True)
    postgres.give_to_server_user(var / "pg-run")
    postgres.initdb(var / "pg")
