"""Network faults, Jepsen-style, in a stack whose Redis nodes and sentinels, or Kafka
nodes, each live in a network namespace of their own (`up --netns`): partitions that cut
chosen links both ways while the rest of the network goes on, and a slow, lossy link;
each healed afterwards.

Which node is hit is decided when the fault starts (the primary that holds the event now,
the broker leading the wins now), and remembered for the heal in the stack's folder, since
the two run at different times.
"""

from __future__ import annotations

import json
import time

from couponrush.core.errors import StackError
from couponrush.rush.chaos.kafka_faults import leader
from couponrush.stack import kafka_cluster, links, netns, redis_ha, redis_nodes
from couponrush.stack.local import Stack
from couponrush.stack.state import StackState

SLOW_DELAY_MS, SLOW_LOSS_PCT = 200, 10
# How long the replica lags behind its slow link before its primary dies.
SLOW_FOR_S = 1.5
_HIT = "chaos-hit.json"


def _net(stack: Stack) -> tuple[StackState, netns.Net]:
    state, net = stack.load_state(), netns.load(stack.var)
    if state is None or net is None:
        raise StackError("this fault needs a stack started with --netns")
    return state, net


def _name(state: StackState, port: int) -> str:
    return next(name for name, p in state.redis_members.items() if p == port)


def _remember(stack: Stack, *names: str) -> None:
    (stack.var / _HIT).write_text(json.dumps(names))


def _remembered(stack: Stack, forget: bool = True) -> list[str]:
    path = stack.var / _HIT
    found: list[str] = json.loads(path.read_text()) if path.exists() else []
    if forget:
        path.unlink(missing_ok=True)
    return found


def heal(stack: Stack, _event_id: str) -> None:
    """Every link of the members the fault hit is whole again."""
    net = _net(stack)[1]
    for name in _remembered(stack):
        links.heal(net, name)


def isolate_primary(stack: Stack, event_id: str) -> None:
    """The event's primary loses its replicas and the sentinels (in a cluster: every other
    node); the host, and so every client, still reaches it."""
    state, net = _net(stack)
    primary = _name(state, redis_ha.event_primary(state, event_id))
    links.cut(net, primary, [m for m in net.members if m != primary])
    _remember(stack, primary)


def cut_clients_from_primary(stack: Stack, event_id: str) -> None:
    """The host (app workers, pipeline, clients) no longer reaches the event's primary,
    which still sees its replicas and the sentinels: no failover, the sale waits."""
    state, net = _net(stack)
    primary = _name(state, redis_ha.event_primary(state, event_id))
    links.cut(net, primary, [netns.HOST])
    _remember(stack, primary)


def isolate_sentinel(stack: Stack, _event_id: str) -> None:
    """One sentinel of three (a minority) alone: it reaches no node, no other sentinel and
    no client. The majority goes on; nothing should fail over."""
    net = _net(stack)[1]
    lone = "sentinel-0"
    links.cut(net, lone, [*[m for m in net.members if m != lone], netns.HOST])
    _remember(stack, lone)


def slow_replica_then_kill_primary(stack: Stack, event_id: str) -> None:
    """One replica of the event's primary behind a slow, lossy link; once it lags, kill -9
    the primary. The stack's healer starts it again once a replica took over."""
    state, net = _net(stack)
    port = redis_ha.event_primary(state, event_id)
    hosts = state.redis_hosts
    replica = next(
        p
        for p in state.redis_data_ports
        if p != port
        and redis_nodes.info(p, "replication", redis_nodes.host_of(hosts, p)).get("master_port")
        == port
    )
    links.degrade(net, _name(state, replica), SLOW_DELAY_MS, SLOW_LOSS_PCT)
    _remember(stack, _name(state, replica))
    time.sleep(SLOW_FOR_S)  # the lag being injected, not a wait for readiness
    redis_nodes.kill(port, redis_nodes.host_of(hosts, port))


def isolate_kafka_leader(stack: Stack, _event_id: str) -> None:
    """The broker leading the most partitions of the wins topic loses the other brokers
    (its controller quorum and its followers) and the host (the relay and the consumer):
    the others fence it and elect new leaders, the clients must find them."""
    net = _net(stack)[1]
    lone = leader(stack)
    brokers = [m for m in net.members if m.startswith("kafka-") and m != lone]
    links.cut(net, lone, [*brokers, netns.HOST])
    _remember(stack, lone)


def heal_kafka_leader(stack: Stack, event_id: str) -> None:
    """Heal the cut broker, having asked the others first whether they moved every
    partition it led: one it still leads (or none leads) means the cut did not take or no
    election came, and the scenario fails (it would pass unchanged without the fault)."""
    state, _ = _net(stack)
    lone = _remembered(stack, forget=False)
    addrs = enumerate(state.kafka_bootstrap.split(","), 1)
    others = ",".join(a for i, a in addrs if f"kafka-{i}" not in lone)
    led = kafka_cluster.leaders(others, stack.settings.kafka_topic)
    stuck = sorted(p for p, node in led.items() if node == -1 or f"kafka-{node}" in lone)
    heal(stack, event_id)
    stack.up()
    if stuck:
        raise StackError(f"partitions {stuck} had no leader but {lone} when its cut ended")
