"""A Redis Cluster's ports: free, distinct with their bus ports, and out of the kernel's
ephemeral range, which any outgoing connection may take before the nodes start."""

from __future__ import annotations

from couponrush.stack import procs, redis_nodes
from couponrush.stack.procs import port_is_free


def test_cluster_ports_and_their_bus_ports_are_distinct_free_and_not_ephemeral() -> None:
    low = procs.ephemeral_low()
    for _ in range(50):
        ports = redis_nodes.cluster_ports(6)
        every = ports + [p + redis_nodes.CLUSTER_BUS_OFFSET for p in ports]
        assert len(set(every)) == 12
        assert max(every) < low
        assert all(port_is_free(p) for p in every)
