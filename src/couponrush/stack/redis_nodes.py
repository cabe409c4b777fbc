"""Single Redis nodes on loopback, in any role: asking them, describing them, killing
them, and the ports and URL of each mode's layout. Shared by the local stack, the
fixtures of the fault tests and the benchmarks."""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Sequence
from typing import Any

import redis

from couponrush.core.errors import StackError
from couponrush.stack.commands import SENTINEL_MASTER
from couponrush.stack.procs import ephemeral_low, free_port, port_is_free
from couponrush.stack.ready import port_open, wait_until

CLUSTER_BUS_OFFSET = 10_000


def client(port: int) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=port, decode_responses=True, socket_timeout=1,
                       socket_connect_timeout=1, protocol=2)  # fmt: skip


def ask(port: int, *command: Any) -> Any:
    with client(port) as node:
        return node.execute_command(*command)


def info(port: int, section: str) -> dict[str, Any]:
    with client(port) as node:
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


def node_pid(port: int) -> int:
    return int(info(port, "server")["process_id"])


def describe(port: int) -> dict[str, Any]:
    """{addr, role, pid} of one node; role "down" and no pid when it does not answer."""
    addr = f"127.0.0.1:{port}"
    try:
        server = info(port, "server")
        role = "sentinel"
        if server.get("redis_mode") != "sentinel":
            role = {"master": "primary", "slave": "replica"}[info(port, "replication")["role"]]
        return {"addr": addr, "role": role, "pid": int(server["process_id"])}
    except (redis.RedisError, OSError):
        return {"addr": addr, "role": "down", "pid": None}


def kill(port: int) -> int:
    """kill -9 the Redis process listening on ``port``; its pid, once it stopped answering."""
    pid = node_pid(port)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not _answers(port), f"Redis on {port} to go away", 10)
    return pid


def _answers(port: int) -> bool:
    try:
        return port_open(port)
    except OSError:
        return False


def layout(mode: str, first_port: int) -> tuple[list[int], list[int]]:
    """The data nodes' and the sentinels' ports of a mode; ``first_port`` leads the data
    nodes (standalone: the only one; sentinel: the first primary)."""
    if mode == "cluster":
        return cluster_ports(6), []
    if mode == "sentinel":
        return [first_port, *[free_port() for _ in range(2)]], [free_port() for _ in range(3)]
    return [first_port], []


def url_of(mode: str, data_ports: Sequence[int], sentinel_ports: Sequence[int]) -> str:
    """COUPONRUSH_REDIS_URL for a mode (the format store.client reads)."""
    if mode == "cluster":
        return ",".join(f"redis://127.0.0.1:{p}" for p in data_ports)
    if mode == "sentinel":
        hosts = ",".join(f"127.0.0.1:{p}" for p in sentinel_ports)
        return f"redis+sentinel://{hosts}/{SENTINEL_MASTER}"
    return f"redis://127.0.0.1:{data_ports[0]}/0"
