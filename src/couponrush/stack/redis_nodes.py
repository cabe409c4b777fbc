"""Single Redis nodes on loopback, in any role: asking them, describing them, killing
them, and the ports and URL of each mode's layout. Shared by the local stack, the
fixtures of the fault tests and the benchmarks."""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Mapping, Sequence
from typing import Any

import redis

from couponrush.core.errors import StackError
from couponrush.stack.commands import SENTINEL_MASTER
from couponrush.stack.procs import ephemeral_low, free_port, port_is_free
from couponrush.stack.ready import port_open, wait_until

CLUSTER_BUS_OFFSET = 10_000
# Each Cluster shard: a primary and two replicas, so a shard that lost one copy still has
# a replica to promote and, once promoted, a replica of its own.
CLUSTER_PRIMARIES, CLUSTER_REPLICAS = 3, 2
LOOPBACK = "127.0.0.1"
# Where each node listens, by port, when not on loopback (nodes in network namespaces).
Hosts = Mapping[int, str]


def host_of(hosts: Hosts | None, port: int) -> str:
    return (hosts or {}).get(port, LOOPBACK)


def client(port: int, host: str = LOOPBACK) -> redis.Redis:
    return redis.Redis(
        host=host,
        port=port,
        decode_responses=True,
        socket_timeout=1,
        socket_connect_timeout=1,
        protocol=2,
    )


def ask(port: int, *command: Any, host: str = LOOPBACK) -> Any:
    with client(port, host) as node:
        return node.execute_command(*command)


def info(port: int, section: str, host: str = LOOPBACK) -> dict[str, Any]:
    with client(port, host) as node:
        found: dict[str, Any] = node.info(section)
        return found


def cluster_ports(count: int) -> list[int]:
    """``count`` free ports whose cluster bus ports (+10000) are free too, all distinct and
    all below the kernel's ephemeral range: a port from that range can be taken by any
    outgoing connection between this check and the node's start."""
    low = ephemeral_low()
    chosen: set[int] = set()
    for _ in range(count * 200):
        port = random.randint(1_024, low - CLUSTER_BUS_OFFSET - 1)
        pair = {port, port + CLUSTER_BUS_OFFSET}
        if not pair & _with_buses(chosen) and all(port_is_free(p) for p in pair):
            chosen.add(port)
            if len(chosen) == count:
                return sorted(chosen)
    raise StackError("no free port pairs for the Redis Cluster nodes")


def _with_buses(ports: set[int]) -> set[int]:
    return ports | {p + CLUSTER_BUS_OFFSET for p in ports}


def node_pid(port: int, host: str = LOOPBACK) -> int:
    return int(info(port, "server", host)["process_id"])


def describe(port: int, host: str = LOOPBACK) -> dict[str, Any]:
    """{addr, role, pid} of one node; role "down" and no pid when it does not answer."""
    addr = f"{host}:{port}"
    try:
        server = info(port, "server", host)
        role = "sentinel"
        if server.get("redis_mode") != "sentinel":
            replication = info(port, "replication", host)
            role = {"master": "primary", "slave": "replica"}[replication["role"]]
        return {"addr": addr, "role": role, "pid": int(server["process_id"])}
    except (redis.RedisError, OSError):
        return {"addr": addr, "role": "down", "pid": None}


def kill(port: int, host: str = LOOPBACK) -> int:
    """kill -9 the Redis process listening on ``port``; its pid, once it stopped answering."""
    pid = node_pid(port, host)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not _answers(port, host), f"Redis on {host}:{port} to go away", 10)
    return pid


def _answers(port: int, host: str) -> bool:
    try:
        return port_open(port, host)
    except OSError:
        return False


def data_nodes(mode: str) -> int:
    """How many data nodes a mode's layout has."""
    return {"cluster": CLUSTER_PRIMARIES * (1 + CLUSTER_REPLICAS), "sentinel": 3}.get(mode, 1)


def layout(mode: str, first_port: int) -> tuple[list[int], list[int]]:
    """The data nodes' and the sentinels' ports of a mode; ``first_port`` leads the data
    nodes (standalone: the only one; sentinel: the first primary)."""
    if mode == "cluster":
        return cluster_ports(data_nodes(mode)), []
    if mode == "sentinel":
        replicas = [free_port() for _ in range(data_nodes(mode) - 1)]
        return [first_port, *replicas], [free_port() for _ in range(3)]
    return [first_port], []


def url_of(
    mode: str, data_ports: Sequence[int], sentinel_ports: Sequence[int], hosts: Hosts | None = None
) -> str:
    """COUPONRUSH_REDIS_URL for a mode (the format store.client reads)."""
    if mode == "cluster":
        return ",".join(f"redis://{host_of(hosts, p)}:{p}" for p in data_ports)
    if mode == "sentinel":
        found = ",".join(f"{host_of(hosts, p)}:{p}" for p in sentinel_ports)
        return f"redis+sentinel://{found}/{SENTINEL_MASTER}"
    return f"redis://{host_of(hosts, data_ports[0])}:{data_ports[0]}/0"
