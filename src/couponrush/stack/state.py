"""The local stack's state: ports, paths and generated secrets, kept in ``state.json``
(mode 0600), and the one map from that state to the programs' environment."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from couponrush.stack.kafka import HOST, KafkaNode, cluster, new_ports, replication
from couponrush.stack.netns import member_ip
from couponrush.stack.postgres import database_url
from couponrush.stack.procs import port_is_free


@dataclass(frozen=True)
class StackState:
    url: str
    redis_url: str
    admin_token: str
    coupon_secret: str
    redis_port: int
    workers: int
    app_ports: list[int] = field(default_factory=list)
    app_sockets: list[str] = field(default_factory=list)
    gateway_port: int = 0
    pg_port: int = 0
    queue: str = "stream"
    # Apache Kafka's nodes in Kafka mode: node i+1 serves clients on kafka_ports[i] and
    # its controller on kafka_controller_ports[i].
    kafka_ports: list[int] = field(default_factory=list)
    kafka_controller_ports: list[int] = field(default_factory=list)
    # The gateway's key to the app's sold-out feed (empty in a state of an older version).
    edge_feed_token: str = ""
    redis_mode: str = "standalone"
    # Data nodes (standalone: the one server) and, in sentinel mode, the sentinels.
    redis_ports: list[int] = field(default_factory=list)
    sentinel_ports: list[int] = field(default_factory=list)
    # Loopback ports of the /metrics endpoints, by process (app: the workers' sum).
    metrics_ports: dict[str, int] = field(default_factory=dict)
    prometheus_port: int = 0
    # Set when every Redis node and sentinel (with replicas) and every Kafka node runs in a
    # network namespace of its own (`up --netns`, see stack.netns): the prefix of every
    # name made and the /24's first three numbers; member k of netns_members is .(10 + k).
    netns_prefix: str = ""
    netns_subnet: str = ""

    @property
    def database_url(self) -> str:
        return database_url(self.pg_port)

    @property
    def redis_data_ports(self) -> list[int]:
        return self.redis_ports or [self.redis_port]

    @property
    def redis_members(self) -> dict[str, int]:
        """The Redis programs with replicas, by supervisor name, and their ports."""
        if self.redis_mode == "standalone":
            return {}
        data = {f"redis-{i}": p for i, p in enumerate(self.redis_data_ports)}
        return data | {f"sentinel-{i}": p for i, p in enumerate(self.sentinel_ports)}

    @property
    def netns_members(self) -> dict[str, int]:
        """Every program in a namespace of its own with `up --netns`, by supervisor name,
        and its port: the Redis members, then the Kafka nodes ("kafka-<node id>")."""
        brokers = {f"kafka-{i}": p for i, p in enumerate(self.kafka_ports, 1)}
        return self.redis_members | brokers

    @property
    def redis_hosts(self) -> dict[int, str]:
        """Where each Redis node and sentinel listens, by port (empty: on loopback)."""
        return {p: self._member_hosts()[n] for n, p in self.redis_members.items()}

    @property
    def kafka_hosts(self) -> list[str]:
        """Where each Kafka node listens, in node order (empty: on loopback)."""
        found = self._member_hosts()
        return [found[f"kafka-{i}"] for i in range(1, len(self.kafka_ports) + 1)] if found else []

    @property
    def kafka_bootstrap(self) -> str:
        """The Kafka nodes as clients name them (COUPONRUSH_KAFKA_BOOTSTRAP)."""
        hosts = self.kafka_hosts or [HOST] * len(self.kafka_ports)
        return ",".join(f"{h}:{p}" for h, p in zip(hosts, self.kafka_ports, strict=True))

    def _member_hosts(self) -> dict[str, str]:
        if not self.netns_subnet:
            return {}
        return {n: member_ip(self.netns_subnet, k) for k, n in enumerate(self.netns_members)}

    @property
    def app_urls(self) -> list[str]:
        """Direct URLs of the app workers (empty when they listen on Unix sockets)."""
        return [f"http://127.0.0.1:{port}" for port in self.app_ports]

    @property
    def app_addrs(self) -> list[str]:
        """The app workers as nginx upstream addresses."""
        return [f"127.0.0.1:{p}" for p in self.app_ports] + [f"unix:{s}" for s in self.app_sockets]

    @property
    def metrics_urls(self) -> dict[str, str]:
        """Every /metrics of the stack, by process (the gateway's is served by nginx)."""
        urls = {k: f"http://127.0.0.1:{p}/metrics" for k, p in self.metrics_ports.items()}
        return {**urls, "gateway": f"{self.url}/gateway/metrics"}

    @property
    def prometheus_url(self) -> str | None:
        return f"http://127.0.0.1:{self.prometheus_port}" if self.prometheus_port else None

    def environment(self) -> dict[str, str]:
        """The settings every program of the stack (and every command pointed at it) gets."""
        env = {
            "COUPONRUSH_REDIS_URL": self.redis_url,
            "COUPONRUSH_REDIS_MODE": self.redis_mode,
            "COUPONRUSH_DATABASE_URL": self.database_url,
            "COUPONRUSH_ADMIN_TOKEN": self.admin_token,
            "COUPONRUSH_COUPON_SECRET": self.coupon_secret,
            "COUPONRUSH_QUEUE": self.queue,
            "COUPONRUSH_EDGE_FEED_TOKEN": self.edge_feed_token,
            # The local stack is for development: unsigned user ids unless COUPONRUSH_AUTH
            # is jwt (deployments refuse them unless allowed, docs/identity.md).
            "COUPONRUSH_ALLOW_UNSIGNED_USERS": "true",
        }
        if self.queue == "kafka":
            copies = replication(len(self.kafka_ports))
            env["COUPONRUSH_KAFKA_BOOTSTRAP"] = self.kafka_bootstrap
            env["COUPONRUSH_KAFKA_REPLICATION_FACTOR"] = str(copies.factor)
            env["COUPONRUSH_KAFKA_MIN_INSYNC_REPLICAS"] = str(copies.min_insync)
        return env

    def kafka_nodes(self, var: Path) -> list[KafkaNode]:
        """The Kafka nodes, their data under var/kafka/cluster-<n> (a stack run with another
        number of brokers finds its own cluster again, as Redis's nodes keep per port)."""
        folder = kafka_folder(var, len(self.kafka_ports))
        return cluster(folder, self.kafka_ports, self.kafka_controller_ports, self.kafka_hosts)


def kafka_folder(var: Path, brokers: int) -> Path:
    return var / "kafka" / f"cluster-{brokers}"


def kafka_ports(
    brokers: int, configured: int, previous: StackState | None
) -> tuple[list[int], list[int]]:
    """Client and controller ports of a stack's Kafka nodes: the last run's when it ran as
    many brokers and they are all free (``configured``: the first client port wanted),
    else new ones."""
    if previous and len(previous.kafka_ports) == brokers and not configured:
        ports = [*previous.kafka_ports, *previous.kafka_controller_ports]
        if all(port_is_free(p) for p in ports):
            return previous.kafka_ports, previous.kafka_controller_ports
    return new_ports(brokers, configured if configured and port_is_free(configured) else 0)


def load(path: Path) -> StackState | None:
    if not path.exists():
        return None
    raw = json.loads(path.read_text())
    known = {f.name for f in fields(StackState)}
    try:
        return StackState(**{k: v for k, v in raw.items() if k in known})
    except TypeError:
        return None


def save(path: Path, state: StackState) -> None:
    """It holds the admin token and the coupon secret: owner-only."""
    write_private(path, json.dumps(asdict(state), indent=2))


def write_private(path: Path, text: str) -> None:
    """Write ``text`` readable by its owner alone, from the first byte (a file that held a
    secret before keeps no wider mode: it is narrowed first)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.chmod(0o600)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
