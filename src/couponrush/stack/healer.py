"""The local stack's orchestrator for Redis with replicas: a data node that died is started
again without an operator, as Kubernetes restarts a pod, but only once the failover has
happened (no primary left on it), so that it rejoins as a replica instead of coming back
as a second primary. A node whose failover does not come (no replica could take over) is
started anyway after ``FAILOVER_WAIT_S``.

It runs under the stack's supervisord as the program ``healer`` (``couponrush heal``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis
import structlog

from couponrush.core.errors import StackError
from couponrush.stack import redis_ha, redis_nodes
from couponrush.stack.local import Stack
from couponrush.stack.state import StackState

log = structlog.get_logger(__name__)
FAILOVER_WAIT_S = 20.0
POLL_S = 0.2
# A node that died (not one stopped on purpose: STOPPED is left alone).
_DIED = frozenset({"EXITED", "FATAL"})


def watch(stack: Stack, until: Callable[[], bool] = lambda: False) -> None:
    """Poll the stack's Redis nodes and start each dead one again once it may rejoin;
    returns when ``until()`` holds (never, under supervisord: it stops the program)."""
    down_since: dict[str, float] = {}
    while not until():
        state = stack.load_state()
        if state is None:
            raise StackError("no local stack state to watch")
        dead = _dead(stack, state)
        now = time.monotonic()
        down_since = {name: down_since.get(name, now) for name in dead}
        for name, since in down_since.items():
            if _may_rejoin(state, dead[name]) or now - since > FAILOVER_WAIT_S:
                log.info("redis_node_restarted", program=name, down_s=round(now - since, 2))
                _follow_primary(stack, state, dead[name])
                stack.supervisor.start_programs([name])
        time.sleep(POLL_S)


def _dead(stack: Stack, state: StackState) -> dict[str, int]:
    """Dead data nodes: supervisor name -> port (sentinels restart by themselves)."""
    members = state.redis_members
    return {
        p["name"]: members[p["name"]]
        for p in stack.processes()
        if p["name"].startswith("redis-") and p["name"] in members and p["state"] in _DIED
    }


def _may_rejoin(state: StackState, port: int) -> bool:
    """No slot (Cluster) and not the watched master (Sentinel) is still on ``port``."""
    try:
        if state.redis_mode == "sentinel":
            return redis_ha.sentinel_primary(state.sentinel_ports, state.redis_hosts) != port
        return port not in _slot_owners(state, port)
    except (redis.RedisError, OSError, StackError):
        return False


def _slot_owners(state: StackState, dead: int) -> set[int]:
    """The primaries that serve a slot, as the first live node says."""
    for port in state.redis_data_ports:
        if port == dead:
            continue
        host = redis_nodes.host_of(state.redis_hosts, port)
        try:
            slots = redis_nodes.ask(port, "CLUSTER", "SLOTS", host=host)
        except (redis.RedisError, OSError):
            continue
        return {int(r[2][1]) for r in slots}
    raise StackError("no live cluster node")


def _follow_primary(stack: Stack, state: StackState, port: int) -> None:
    """Sentinel: the node's config names the primary the sentinels name now, so that it
    starts as its replica at once (else it would come back as a primary until the
    sentinels turn it, seconds later). A Cluster node learns its role from nodes.conf."""
    conf = stack.var / "redis" / f"node-{port}" / "redis.conf"
    if state.redis_mode != "sentinel" or not conf.exists():
        return
    try:
        primary = redis_ha.sentinel_primary(state.sentinel_ports, state.redis_hosts)
    except StackError:
        return
    if primary == port:
        return
    lines = [line for line in conf.read_text().splitlines() if not line.startswith("replicaof ")]
    lines.append(f"replicaof {redis_nodes.host_of(state.redis_hosts, primary)} {primary}")
    conf.write_text("\n".join(lines) + "\n")
