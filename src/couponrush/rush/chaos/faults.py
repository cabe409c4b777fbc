"""The faults, each injected into a running local stack and bounded in time.

A kill takes the program's whole process group (granian's workers with it), as a crashed
host would; supervisord then starts it again. An outage lasts ``outage_s`` and is healed.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from couponrush.pipeline.kafka import FETCH_SILENCE_MS, SESSION_TIMEOUT_MS
from couponrush.rush.chaos import kafka_faults, partitions
from couponrush.rush.chaos.kafka_faults import DELIVERY_TIMEOUT_MS, POLL_INTERVAL_MS
from couponrush.stack import redis_ha
from couponrush.stack.kafka import FAILOVER
from couponrush.stack.local import Stack

# (the stack, the id of the event on sale)
Action = Callable[[Stack, str], None]
Queue = Literal["stream", "kafka"]


@dataclass(frozen=True)
class Fault:
    name: str
    what: str
    inject: Action
    heal: Action | None = None  # None: a single blow, nothing to undo
    queue: Queue = "stream"
    redis: str = "standalone"
    # Each Redis node and sentinel (with replicas) and each Kafka broker in a network
    # namespace of its own (partitions).
    netns: bool = False
    # Apache Kafka brokers of the stack in Kafka mode.
    kafka_brokers: int = 1
    # A lasting fault lasts at least this long (a partition outlasts a failover, an outage
    # the timeout it is meant to pass).
    min_outage_s: float = 0.0

    @property
    def lasts(self) -> bool:
        return self.heal is not None


def kill(program: str) -> Action:
    def act(stack: Stack, _: str) -> None:
        os.killpg(stack.supervisor.pid(program), signal.SIGKILL)

    return act


def stop(program: str) -> Action:
    return lambda stack, _: stack.supervisor.stop_program(program)


def start(program: str) -> Action:
    return lambda stack, _: stack.supervisor.start_programs([program])


def pause(program: str, sig: int) -> Action:
    """SIGSTOP / SIGCONT: the process keeps its connections and answers nothing."""
    return lambda stack, _: os.kill(stack.supervisor.pid(program), sig)


def restart(program: str) -> Action:
    def act(stack: Stack, _: str) -> None:
        stack.supervisor.stop_program(program)
        stack.supervisor.start_programs([program])

    return act


def kafka(
    name: str,
    what: str,
    inject: Action,
    heal: Action | None = None,
    min_outage_s: float = 0.0,
    netns: bool = False,
) -> Fault:
    """A fault of the Kafka pipeline, on three brokers as compose runs them (``netns``:
    each in a network namespace of its own)."""
    return Fault(
        name,
        what,
        inject,
        heal,
        queue="kafka",
        netns=netns,
        kafka_brokers=3,
        min_outage_s=min_outage_s,
    )


def brokers(sig: int) -> Action:
    """``sig`` to every Kafka broker of the stack."""

    def act(stack: Stack, _: str) -> None:
        for name in kafka_faults.broker_programs(stack):
            os.kill(stack.supervisor.pid(name), sig)

    return act


def reload_gateway(stack: Stack, _: str) -> None:
    stack.supervisor.signal("gateway", "HUP")


def fail_over(stack: Stack, event_id: str) -> None:
    """kill -9 the primary that holds the event (Sentinel: the watched one; Cluster: the
    owner of the event's slot): a replica is promoted."""
    state = stack.load_state()
    assert state is not None
    redis_ha.kill_event_primary(state, event_id)


def node_back(stack: Stack, _: str) -> None:
    """Whatever is still down starts again (the stack's healer has normally started the
    killed node already, once a replica took over: it rejoins as a replica). Until then a
    shard whose replicas do not all confirm waits (WAIT on every replica): 503 rather than
    a win a failover could forget."""
    stack.up()


def _healed(stack: Stack, event_id: str) -> None:
    partitions.heal(stack, event_id)
    stack.up()


# A partition lasts longer than a failover (~2-3 s here), also in the short form.
_PARTITION_S = 6.0
# A broker cut off lasts past its fencing (broker.session.timeout.ms), the consumer's fetch
# timeout and, where it was the group's coordinator, two consumer sessions (the lapsed
# one, then the rejoin on the new coordinator), with room to spare: the pipeline must
# flow again while the cut lasts (measured: 7-20 s after the cut).
_BROKER_CUT_S = (
    int(FAILOVER["broker.session.timeout.ms"]) + FETCH_SILENCE_MS + 2 * SESSION_TIMEOUT_MS
) / 1000 + 4


NETWORK = (
    Fault(
        "primary-isolated",
        "the primary cut off from its replicas and the sentinels, not "
        "from the clients, longer than a failover; then healed",
        partitions.isolate_primary,
        _healed,
        redis="sentinel",
        netns=True,
        min_outage_s=_PARTITION_S,
    ),
    Fault(
        "replica-slow-link",
        "a replica behind a 200-ms link losing 10 % of its packets, "
        "then kill -9 of the primary; the link healed after the outage",
        partitions.slow_replica_then_kill_primary,
        _healed,
        redis="sentinel",
        netns=True,
    ),
    Fault(
        "app-cut-from-primary",
        "the app workers (and every client on the host) cut off "
        "from the primary, which still sees its replicas and sentinels; then healed",
        partitions.cut_clients_from_primary,
        _healed,
        redis="sentinel",
        netns=True,
    ),
    Fault(
        "sentinel-minority",
        "one sentinel of three partitioned from every node, sentinel and client; then healed",
        partitions.isolate_sentinel,
        _healed,
        redis="sentinel",
        netns=True,
    ),
    Fault(
        "cluster-primary-isolated",
        "the cluster primary owning the event's slot cut off "
        "from every other node, not from the clients, longer than a failover; then healed",
        partitions.isolate_primary,
        _healed,
        redis="cluster",
        netns=True,
        min_outage_s=_PARTITION_S,
    ),
)
KAFKA = (
    kafka("relay-kill", "kill -9 the relay", kill("relay")),
    kafka(
        "broker-down",
        "every broker unreachable (paused); resumed after the outage",
        brokers(signal.SIGSTOP),
        brokers(signal.SIGCONT),
    ),
    kafka(
        "kafka-leader-kill",
        "kill -9 the broker leading most of the topic's partitions; back after the outage",
        kafka_faults.kill_leader,
        node_back,
    ),
    kafka(
        "kafka-leader-pause",
        "the broker leading most partitions paused past the relay's "
        f"delivery timeout ({DELIVERY_TIMEOUT_MS / 1000:g} s); resumed after the outage",
        kafka_faults.pause_leader,
        kafka_faults.resume_brokers,
        min_outage_s=DELIVERY_TIMEOUT_MS / 1000 + 3,
    ),
    kafka(
        "kafka-db-outage",
        "PostgreSQL stopped for longer than the consumer's poll interval "
        f"({POLL_INTERVAL_MS / 1000:g} s): its group keeps it",
        stop("postgres"),
        start("postgres"),
        min_outage_s=POLL_INTERVAL_MS / 1000 + 2,
    ),
    kafka(
        "consumer-takeover",
        "a second consumer joins the group; kill -9 of the first "
        "mid-sale, the second takes its partitions over; it leaves after the outage",
        kafka_faults.TAKEOVER.join_then_kill_first,
        kafka_faults.TAKEOVER.leave,
    ),
)
KAFKA_NETWORK = (
    kafka(
        "kafka-leader-isolated",
        "the broker leading most partitions cut off from the other "
        f"brokers and from the relay and the consumer for at least {_BROKER_CUT_S:g} s, past "
        f"its fencing and the clients' timeouts ({DELIVERY_TIMEOUT_MS / 1000:g}-s delivery, "
        f"{FETCH_SILENCE_MS / 1000:g}-s fetch); then healed",
        partitions.isolate_kafka_leader,
        partitions.heal_kafka_leader,
        min_outage_s=_BROKER_CUT_S,
        netns=True,
    ),
)
FAULTS = (
    Fault("app-worker-kill", "kill -9 an app worker", kill("app-0")),
    Fault("consumer-kill", "kill -9 the consumer", kill("consumer")),
    Fault("postgres-down", "PostgreSQL stopped", stop("postgres"), start("postgres")),
    Fault("redis-restart", "Redis stopped and started again (AOF)", restart("redis")),
    Fault("gateway-reload", "nginx reloads its configuration", reload_gateway),
    Fault(
        "sentinel-failover",
        "kill -9 the primary the sentinels watch; the stack starts it "
        "again once a replica took over",
        fail_over,
        node_back,
        redis="sentinel",
    ),
    Fault(
        "cluster-failover",
        "kill -9 the cluster primary owning the event's slot; the stack "
        "starts it again once a replica took over",
        fail_over,
        node_back,
        redis="cluster",
    ),
    *NETWORK,
    *KAFKA,
    *KAFKA_NETWORK,
)
