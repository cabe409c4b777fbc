"""Apache Kafka brokers on loopback or in network namespaces, for the local stack, the
tests and the benchmarks.

Every node is broker and controller at once (KRaft, combined mode, as compose runs them);
its config and its command line are functions of its node id, its address, its two ports
and its folder alone, so whoever runs it (supervisord, a test fixture, a network
namespace, where it listens on its member's address) runs the same broker. Storage,
readiness and leaders: stack.kafka_cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from couponrush.stack import kafka_dist
from couponrush.stack.procs import binary, steady_ports

HOST = "127.0.0.1"
HEAP_MB = 256
# A small heap and a cheap JVM: brokers share two cores with everything else here, and
# C1 alone starts a broker in about half the CPU time.
JVM = [
    "-Xms64m",
    f"-Xmx{HEAP_MB}m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
]
# A dead broker is fenced (its partitions led elsewhere, itself out of every ISR) about
# 4 s after its last heartbeat rather than 9; clients learn it from their next request.
FAILOVER = {"broker.heartbeat.interval.ms": "1000", "broker.session.timeout.ms": "4000"}
# Few threads and internal partitions: the loopback traffic of one machine.
SMALL = {
    "num.network.threads": "2",
    "num.io.threads": "2",
    "background.threads": "2",
    "offsets.topic.num.partitions": "10",
}


@dataclass(frozen=True)
class KafkaNode:
    node_id: int
    port: int  # clients and the other brokers
    controller_port: int  # the KRaft quorum
    folder: Path  # server.properties and data/
    host: str = HOST  # where it listens and what it advertises (its namespace's address)

    @property
    def addr(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def voter(self) -> str:
        return f"{self.node_id}@{self.host}:{self.controller_port}"

    @property
    def conf(self) -> Path:
        return self.folder / "server.properties"

    @property
    def data(self) -> Path:
        return self.folder / "data"


@dataclass(frozen=True)
class Replication:
    """Of the cluster's topics: copies of each partition, and how many must hold a write
    before it is acknowledged (acks=all)."""

    factor: int
    min_insync: int


def replication(brokers: int) -> Replication:
    """Three copies, two in sync, as compose runs them; fewer on fewer brokers."""
    factor = min(3, brokers)
    return Replication(factor, max(1, factor - 1))


def cluster(
    folder: Path,
    ports: Sequence[int],
    controller_ports: Sequence[int],
    hosts: Sequence[str] = (),
) -> list[KafkaNode]:
    """Node ``i`` (from 1) on the ``i``-th ports, in ``folder/node-<i>``, listening on the
    ``i``-th of ``hosts`` (none: all on loopback)."""
    where = list(hosts) or [HOST] * len(ports)
    return [
        KafkaNode(i, port, cport, folder / f"node-{i}", host)
        for i, (port, cport, host) in enumerate(zip(ports, controller_ports, where, strict=True), 1)
    ]


def new_ports(brokers: int, first: int = 0) -> tuple[list[int], list[int]]:
    """Client and controller ports for ``brokers`` nodes (below the ephemeral range, so that
    a killed broker can start again on its port); ``first``: the first client port."""
    found = steady_ports(2 * brokers + 1)
    if first:
        found = [first, *(p for p in found if p != first)]
    return found[:brokers], found[brokers : 2 * brokers]


def bootstrap(nodes: Sequence[KafkaNode]) -> str:
    return ",".join(n.addr for n in nodes)


def server_properties(node: KafkaNode, nodes: Sequence[KafkaNode]) -> dict[str, str]:
    """``node``'s configuration in the cluster of ``nodes``."""
    copies = replication(len(nodes))
    return {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "controller.quorum.voters": ",".join(n.voter for n in nodes),
        "listeners": f"PLAINTEXT://{node.addr},CONTROLLER://{node.host}:{node.controller_port}",
        "advertised.listeners": f"PLAINTEXT://{node.addr}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(node.data),
        "default.replication.factor": str(copies.factor),
        "min.insync.replicas": str(copies.min_insync),
        "offsets.topic.replication.factor": str(copies.factor),
        "transaction.state.log.replication.factor": str(copies.factor),
        "transaction.state.log.min.isr": str(copies.min_insync),
        "unclean.leader.election.enable": "false",
        # Topics are created on purpose (by the pipeline, from its settings), never by a typo.
        "auto.create.topics.enable": "false",
        "group.initial.rebalance.delay.ms": "0",
        **FAILOVER,
        **SMALL,
    }


def write_conf(node: KafkaNode, nodes: Sequence[KafkaNode]) -> Path:
    """The node's server.properties, written afresh each start (ports may have changed;
    the data and the cluster id stay)."""
    node.folder.mkdir(parents=True, exist_ok=True)
    text = "".join(f"{k}={v}\n" for k, v in server_properties(node, nodes).items())
    node.conf.write_text(text)
    return node.conf


def java_argv(libs: Path) -> list[str]:
    log4j = resources.files("couponrush.stack") / "kafka-log4j2.properties"
    java = binary("java", "run 'make install' (Debian package openjdk-17-jre-headless)")
    return [java, *JVM, f"-Dlog4j2.configurationFile={log4j}", "-cp", kafka_dist.classpath(libs)]


def broker_argv(node: KafkaNode, libs: Path) -> list[str]:
    """The broker in the foreground; its stdout is its log (warnings and worse)."""
    return [*java_argv(libs), "kafka.Kafka", str(node.conf)]


def tool_argv(main: str, args: Sequence[str], libs: Path) -> list[str]:
    """One of Kafka's command-line tools, by its class (org.apache.kafka.tools.*)."""
    return [*java_argv(libs), main, *args]


def format_argv(node: KafkaNode, cluster_id: str, libs: Path) -> list[str]:
    return [
        *java_argv(libs),
        "kafka.tools.StorageTool",
        "format",
        "--cluster-id",
        cluster_id,
        "--config",
        str(node.conf),
        "--ignore-formatted",
    ]
