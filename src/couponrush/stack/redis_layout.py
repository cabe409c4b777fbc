"""Where the local stack's Redis runs: the nodes' and sentinels' ports, and, with
`up --netns`, the network namespaces' name prefix and subnet; the same ones as last time
when they can be, since a node's roles and data live in folders named by its port (and a
cluster node's nodes.conf names its peers' addresses)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from couponrush.core.errors import StackError
from couponrush.stack import netns, redis_nodes
from couponrush.stack.procs import port_is_free
from couponrush.stack.state import StackState


@dataclass(frozen=True)
class RedisLayout:
    mode: str
    data_ports: list[int]
    sentinel_ports: list[int]
    netns_prefix: str = ""
    netns_subnet: str = ""

    @property
    def url(self) -> str:
        """COUPONRUSH_REDIS_URL, naming each node where it listens."""
        ports = [*self.data_ports, *self.sentinel_ports]
        inside = self.netns_subnet and self.mode != "standalone"  # a lone server stays home
        hosts = netns.addresses(self.netns_subnet, ports) if inside else {}
        return redis_nodes.url_of(self.mode, self.data_ports, self.sentinel_ports, hosts)


def choose(
    mode: str,
    configured: int,
    previous: StackState | None,
    isolated: bool,
    pick_port: Callable[[int], int],
    queue: str = "stream",
) -> RedisLayout:
    """``configured``: STACK_REDIS_PORT (0: any); ``pick_port``: a free port, the given
    one if it is free; ``isolated``: the stack's members in network namespaces (Redis in
    Sentinel or Cluster mode; Kafka's nodes with ``queue`` kafka, beside any Redis)."""
    if isolated and mode == "standalone" and queue != "kafka":
        raise StackError("--netns needs --redis sentinel or cluster, or --queue kafka")
    same = previous if previous and bool(previous.netns_subnet) == isolated else None
    data, sentinels = _ports(mode, configured, same, pick_port)
    if not isolated:
        return RedisLayout(mode, data, sentinels)
    before = (same.netns_prefix, same.netns_subnet) if same else ("", "")
    return RedisLayout(mode, data, sentinels, *netns.choose(*before))


def _ports(
    mode: str, configured: int, previous: StackState | None, pick_port: Callable[[int], int]
) -> tuple[list[int], list[int]]:
    """The ports of the last run when the layout is the same and they are all free, else
    new ones."""
    if previous and previous.redis_mode == mode and not configured:
        ports = [*previous.redis_data_ports, *previous.sentinel_ports]
        same_size = len(previous.redis_data_ports) == redis_nodes.data_nodes(mode)
        if same_size and all(port_is_free(p) for p in ports):
            return previous.redis_data_ports, previous.sentinel_ports
    first = pick_port(configured or (previous.redis_port if previous else 0))
    return redis_nodes.layout(mode, first)
