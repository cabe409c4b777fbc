"""``up``, ``down``, ``status``: the local stack."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from couponrush.cli.app import Workers, app, console, print_json
from couponrush.settings import Settings

if TYPE_CHECKING:
    from couponrush.stack.local import Stack
    from couponrush.stack.state import StackState

Queue = Annotated[str | None, typer.Option(help="stream (no broker) or kafka")]
RedisMode = Annotated[
    str | None,
    typer.Option(
        "--redis",
        help="standalone, sentinel (1 primary, 2 replicas, 3 sentinels) "
        "or cluster (3 primaries, 2 replicas each)",
    ),
]
REDIS_MODES = ("standalone", "sentinel", "cluster")
KafkaBrokers = Annotated[
    int | None,
    typer.Option(
        min=1,
        max=9,
        help="Apache Kafka brokers in Kafka mode (3: replication 3, "
        "min.insync.replicas 2, as compose; default: COUPONRUSH_STACK_KAFKA_BROKERS, 1)",
    ),
]
Prometheus = Annotated[
    bool | None,
    typer.Option(
        "--prometheus/--no-prometheus",
        help="Also run Prometheus and the Redis and PostgreSQL exporters "
        "(default: COUPONRUSH_STACK_PROMETHEUS, on)",
    ),
]


def local_stack(settings: Settings | None = None) -> Stack:
    from couponrush.stack.local import Stack

    return Stack(settings or Settings())


def running_state() -> StackState:
    from couponrush.stack.local import require_running

    return require_running(local_stack())


Netns = Annotated[
    bool,
    typer.Option(
        "--netns",
        help="Each Redis node and sentinel (--redis sentinel or cluster) and each Kafka "
        "broker (--queue kafka) in a network namespace of its own, on a bridge the stack "
        "makes (needs root): links can then be cut and degraded (couponrush chaos)",
    ),
]


@app.command()
def up(
    workers: Workers = None,
    queue: Queue = None,
    redis: RedisMode = None,
    prometheus: Prometheus = None,
    netns: Netns = False,
    kafka_brokers: KafkaBrokers = None,
) -> None:
    """Start Redis, PostgreSQL, the app workers, the gateway, the consumer and Prometheus on
    loopback (state under ./var); with --queue kafka also Apache Kafka (KRaft; its jars are
    fetched with Maven on first use) and the relay; with --redis sentinel or cluster a Redis
    of several nodes, whose dead nodes the stack starts again once a replica took over.
    Returns once every process is ready, the pipeline included."""
    if queue not in (None, "stream", "kafka"):
        raise typer.BadParameter("queue is stream or kafka")
    if redis not in (None, *REDIS_MODES):
        raise typer.BadParameter(f"redis is one of {', '.join(REDIS_MODES)}")
    with console.status("starting the stack…"):
        state = local_stack().up(
            workers, queue, redis, prometheus, netns, kafka_brokers=kafka_brokers
        )
    console.print(f"[green]ready[/] {state.url}  (docs: {state.url}/docs)")
    console.print(f"admin token: {state.admin_token}")
    apps = state.app_urls or state.app_sockets
    console.print(f"redis ({state.redis_mode}): {state.redis_url}")
    console.print(f"database: {state.database_url}  queue: {state.queue}")
    if state.kafka_ports:
        console.print(
            f"kafka ({len(state.kafka_ports)} brokers): "
            f"{state.environment()['COUPONRUSH_KAFKA_BOOTSTRAP']}"
        )
    console.print(f"app workers: {', '.join(apps)}")
    console.print(f"prometheus: {state.prometheus_url or 'not running'}")
    if (
        (workers and workers != state.workers)
        or (queue and queue != state.queue)
        or (redis and redis != state.redis_mode)
        or (kafka_brokers and state.kafka_ports and kafka_brokers != len(state.kafka_ports))
    ):
        console.print(
            "[yellow]note:[/] the stack was already running with "
            f"{state.workers} workers, queue {state.queue}, Redis "
            f"{state.redis_mode} and {len(state.kafka_ports)} Kafka brokers; "
            "'couponrush down' first to change them"
        )


def _kafka_brokers(state: StackState, processes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """{node_id, addr, pid} of each Kafka node (pid None while it is down)."""
    pids = {p["name"]: p["pid"] for p in processes}
    addrs = state.kafka_bootstrap.split(",") if state.kafka_ports else []
    return [
        {"node_id": i, "addr": addr, "pid": pids.get(f"kafka-{i}")}
        for i, addr in enumerate(addrs, 1)
    ]


def _redis_nodes(state: StackState) -> list[dict[str, object]]:
    from couponrush.stack import redis_nodes

    hosts = state.redis_hosts
    ports = [*state.redis_data_ports, *state.sentinel_ports]
    return [redis_nodes.describe(p, redis_nodes.host_of(hosts, p)) for p in ports]


@app.command()
def down() -> None:
    """Stop everything `up` started and remove the network namespaces it made (also what a
    crashed run left behind)."""
    stopped = local_stack().down()
    console.print("stopped" if stopped else "nothing was running")


@app.command()
def heal() -> None:
    """Start the local stack's dead Redis data nodes again once a replica took over, so that
    each rejoins as a replica (`up` runs this under its supervisor when Redis has
    replicas; it runs until stopped)."""
    from couponrush.stack import healer

    healer.watch(local_stack())


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable")] = False,
) -> None:
    """Where the running stack is, and its processes."""
    stack = local_stack()
    state = stack.load_state()
    running = state is not None and stack.running()
    processes = stack.processes() if running else []
    body = {
        "running": running,
        "url": state.url if state else None,
        "admin_token": state.admin_token if state else None,
        "redis_url": state.redis_url if state else None,
        "gateway_url": state.url if state else None,
        "app_urls": state.app_urls if state else [],
        "app_sockets": state.app_sockets if state else [],
        "database_url": state.database_url if state else None,
        "queue": state.queue if state else None,
        "processes": processes,
        "redis_mode": state.redis_mode if state else None,
        "redis_nodes": _redis_nodes(state) if running and state else [],
        "kafka_brokers": _kafka_brokers(state, processes) if state else [],
        "metrics": list(state.metrics_urls.values()) if state else [],
        "prometheus_url": state.prometheus_url if state else None,
    }
    if as_json:
        typer.echo(json.dumps(body))
    else:
        print_json(body)
    if not running:
        raise typer.Exit(3)
