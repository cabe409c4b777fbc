"""Redis Sentinel and Cluster on loopback: forming them, knowing when they are ready,
finding the primary that holds an event, and killing it.

Shared by the local stack, the fixtures of the fault tests and the benchmarks; every
check reads the nodes themselves, so it holds after failovers too.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence

import redis

from couponrush.core.errors import StackError
from couponrush.stack.commands import SENTINEL_MASTER
from couponrush.stack.procs import binary
from couponrush.stack.ready import redis_ready, wait_until
from couponrush.stack.redis_nodes import (
    CLUSTER_REPLICAS,
    Hosts,
    ask,
    host_of,
    info,
    kill,
)
from couponrush.stack.state import StackState
from couponrush.store.keys import event_keys

# Runtime-only (a restarted sentinel forgets it): with the default 1 s ping period and a
# down-after of 1 s a sentinel can flag a just-promoted primary down and fail over again;
# 300 ms pings avoid that (100 ms would starve the replicas' INFO freshness).
SENTINEL_DEBUG = ("ping-period", 300, "ask-period", 100, "info-period", 500, "publish-period", 500)


def form_cluster(ports: Sequence[int], hosts: Hosts | None = None) -> None:
    """Three primaries with CLUSTER_REPLICAS replicas each, once: a node that knows others
    is left alone."""
    if int(_cluster_info(ports[0], hosts)["cluster_known_nodes"]) > 1:
        return
    cli = binary("redis-cli", "run 'make install' (Debian package redis-tools)")
    addrs = [f"{host_of(hosts, p)}:{p}" for p in ports]
    replicas = str(CLUSTER_REPLICAS)
    create = [cli, "--cluster", "create", *addrs, "--cluster-replicas", replicas, "--cluster-yes"]
    done = subprocess.run(create, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise StackError(f"redis-cli --cluster create failed: {done.stdout[-500:]}")


def _cluster_info(port: int, hosts: Hosts | None) -> dict[str, str]:
    text = str(ask(port, "CLUSTER", "INFO", host=host_of(hosts, port)))
    return dict(line.split(":", 1) for line in text.split() if ":" in line)


def cluster_ready(ports: Sequence[int], hosts: Hosts | None = None) -> Callable[[], bool]:
    """Every node sees every slot served, every node healthy, each primary with its linked
    replicas that CLUSTER SLOTS reports (the client learns its replica map there)."""
    primaries = len(ports) // (1 + CLUSTER_REPLICAS)

    def check() -> bool:
        return all(_node_ready(port, host_of(hosts, port), len(ports), primaries) for port in ports)

    return check


def _node_ready(port: int, host: str, nodes: int, primaries: int) -> bool:
    found = _cluster_info(port, {port: host})
    if (found["cluster_state"], found["cluster_slots_ok"]) != ("ok", "16384"):
        return False
    if int(found["cluster_known_nodes"]) != nodes:
        return False
    flags = [line.split()[2] for line in str(ask(port, "CLUSTER", "NODES", host=host)).splitlines()]
    if any(bad in f for f in flags for bad in ("fail", "handshake", "noaddr")):
        return False
    if sum("master" in f for f in flags) != primaries:
        return False
    slots = ask(port, "CLUSTER", "SLOTS", host=host)
    if len(slots) != primaries or any(len(r) < 3 + CLUSTER_REPLICAS for r in slots):
        return False
    return bool(info(port, "replication", host).get("master_link_status", "up") == "up")


def slot_primary(ports: Sequence[int], key: str, hosts: Hosts | None = None) -> int:
    """The port of the primary that owns ``key``'s slot, as the first live node says."""
    for port in ports:
        host = host_of(hosts, port)
        try:
            slot = int(ask(port, "CLUSTER", "KEYSLOT", key, host=host))
            for start, end, primary, *_ in ask(port, "CLUSTER", "SLOTS", host=host):
                if start <= slot <= end:
                    return int(primary[1])
        except (redis.RedisError, OSError):
            continue
    raise StackError(f"no live cluster node knows the owner of {key!r}")


def tune_sentinels(ports: Sequence[int], hosts: Hosts | None = None) -> None:
    for port in ports:
        ask(port, "SENTINEL", "DEBUG", *SENTINEL_DEBUG, host=host_of(hosts, port))


def sentinel_primary(sentinel_ports: Sequence[int], hosts: Hosts | None = None) -> int:
    """The port of the primary the first live sentinel names."""
    for port in sentinel_ports:
        try:
            found = ask(
                port,
                "SENTINEL",
                "GET-MASTER-ADDR-BY-NAME",
                SENTINEL_MASTER,
                host=host_of(hosts, port),
            )
            _, primary = found
            return int(primary)
        except (redis.RedisError, OSError, TypeError, ValueError):
            continue
    raise StackError("no live sentinel names a primary")


def sentinel_ready(
    data_ports: Sequence[int], sentinel_ports: Sequence[int], hosts: Hosts | None = None
) -> Callable[[], bool]:
    """Every sentinel names one primary, which has every other data node as an online
    replica; each sentinel sees them all and the other sentinels, and has its quorum."""
    replicas = len(data_ports) - 1

    def check() -> bool:
        named = set()
        for port in sentinel_ports:
            host = host_of(hosts, port)
            found = ask(port, "SENTINEL", "MASTER", SENTINEL_MASTER, host=host)
            state = dict(zip(found[::2], found[1::2], strict=True))
            if "s_down" in state["flags"] or int(state["num-slaves"]) != replicas:
                return False
            if int(state["num-other-sentinels"]) != len(sentinel_ports) - 1:
                return False
            slaves = ask(port, "SENTINEL", "REPLICAS", SENTINEL_MASTER, host=host)
            if any("s_down" in dict(zip(s[::2], s[1::2], strict=True))["flags"] for s in slaves):
                return False
            ask(port, "SENTINEL", "CKQUORUM", SENTINEL_MASTER, host=host)
            named.add(int(state["port"]))
        if len(named) != 1:
            return False
        port = named.pop()
        primary = info(port, "replication", host_of(hosts, port))
        online = [primary.get(f"slave{i}", {}).get("state") for i in range(replicas)]
        return primary["role"] == "master" and online == ["online"] * replicas

    return check


def primary_of(
    mode: str,
    data_ports: Sequence[int],
    sentinel_ports: Sequence[int],
    key: str,
    hosts: Hosts | None = None,
) -> int:
    """The port of the primary that holds ``key`` now, in any mode."""
    if mode == "cluster":
        return slot_primary(data_ports, key, hosts)
    if mode == "sentinel":
        return sentinel_primary(sentinel_ports, hosts)
    return data_ports[0]


def kill_event_primary(state: StackState, event_id: str) -> int:
    """kill -9 the primary that holds ``event_id`` in a running local stack (Cluster: the
    owner of the event's slot; Sentinel: the primary the sentinels watch); its port. The
    node stays down until `couponrush up` starts it again."""
    port = event_primary(state, event_id)
    kill(port, host_of(state.redis_hosts, port))
    return port


def event_primary(state: StackState, event_id: str) -> int:
    """The port of the primary that holds ``event_id`` in a running local stack."""
    key = event_keys(event_id).stock
    where = (state.redis_mode, state.redis_data_ports, state.sentinel_ports)
    return primary_of(*where, key, state.redis_hosts)


def bring_up(
    mode: str,
    data_ports: Sequence[int],
    sentinel_ports: Sequence[int],
    timeout_s: float = 60,
    hosts: Hosts | None = None,
) -> None:
    """Wait until the started nodes answer, form the cluster if it is new, and wait until
    the whole topology is ready."""
    for port in [*data_ports, *sentinel_ports]:
        url = f"redis://{host_of(hosts, port)}:{port}"
        wait_until(redis_ready(url), f"Redis on {port}", timeout_s)
    if mode == "cluster":
        form_cluster(data_ports, hosts)
        wait_until(cluster_ready(data_ports, hosts), "the Redis Cluster", timeout_s)
    elif mode == "sentinel":
        tune_sentinels(sentinel_ports, hosts)
        ready = sentinel_ready(data_ports, sentinel_ports, hosts)
        wait_until(ready, "Redis Sentinel", timeout_s)
