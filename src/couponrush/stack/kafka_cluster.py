"""A cluster of the local Kafka nodes (stack.kafka): its id and its storage, formatted by
Kafka's own storage tool once per node; whether its brokers answer; who leads a topic."""

from __future__ import annotations

import base64
import subprocess
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from couponrush.core.errors import StackError
from couponrush.stack.kafka import KafkaNode, format_argv, write_conf


def new_cluster_id() -> str:
    """What Kafka's own Uuid.randomUuid() gives: 16 random bytes, URL-safe base64 without
    padding, never starting with '-' (a command line would take it for an option)."""
    while True:
        found = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not found.startswith("-"):
            return found


def cluster_id(folder: Path) -> str:
    """The cluster's id, made once and kept in ``folder/cluster.id``."""
    path = folder / "cluster.id"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(new_cluster_id())
    return path.read_text().strip()


def prepare(folder: Path, nodes: Sequence[KafkaNode], libs: Path) -> None:
    """Write every node's config and format the storage of those not formatted yet (in
    parallel: each format is a JVM of its own)."""
    for node in nodes:
        write_conf(node, nodes)
    todo = [n for n in nodes if not (n.data / "meta.properties").exists()]
    ident = cluster_id(folder)

    def format_one(node: KafkaNode) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            format_argv(node, ident, libs), capture_output=True, text=True, timeout=120, check=False
        )

    with ThreadPoolExecutor(max(1, len(todo))) as pool:
        for node, done in zip(todo, pool.map(format_one, todo), strict=True):
            if done.returncode != 0:
                raise StackError(
                    f"formatting Kafka node {node.node_id}'s storage failed: "
                    f"{(done.stderr or done.stdout).strip()[-1500:]}"
                )


def brokers_ready(addrs: str, count: int) -> Callable[[], bool]:
    """The cluster's metadata (the answer to a client's first requests, ApiVersions then
    Metadata) lists ``count`` live brokers."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    def check() -> bool:
        admin = AdminClient({"bootstrap.servers": addrs, "log_level": 0})
        try:
            return len(admin.list_topics(timeout=1).brokers) >= count
        except KafkaException:
            return False

    return check


def leaders(addrs: str, topic: str) -> dict[int, int]:
    """The node leading each partition of ``topic`` (-1: none), as the brokers at
    ``addrs`` say."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": addrs, "log_level": 0})
    parts = admin.list_topics(topic, timeout=10).topics[topic].partitions.values()
    return {p.id: p.leader for p in parts}


def leader_of_most(addrs: str, topic: str) -> int:
    """The node leading the most partitions of ``topic`` (the lowest id on a tie): the
    broker whose loss takes the most wins' partitions with it."""
    found = list(leaders(addrs, topic).values())
    return max(sorted(set(found)), key=found.count)
