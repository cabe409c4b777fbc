"""`couponrush up --redis sentinel --queue kafka --netns`: each Redis node, each sentinel
and the Kafka broker in a network namespace of its own, reached from the host (the broker
advertising its bridge address); a cut link is really cut and heals; `down` removes every
namespace, link and bridge, also after the stack's supervisor crashed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from couponrush.stack import links, netns
from couponrush.stack.procs import binary, children
from couponrush.stack.ready import wait_until
from couponrush.stack.state import load
from tests.helpers import stack_cli


def _ping(net: netns.Net, source: str, ip: str, port: int) -> bool:
    """Whether member ``source`` reaches the Redis at ip:port (from its own namespace)."""
    cli = binary("redis-cli", "Debian package redis-tools")
    argv = net.exec_argv(source, [cli, "-h", ip, "-p", str(port), "PING"])
    try:  # a cut link drops the connection attempt: it would wait for TCP's own timeout
        done = subprocess.run(argv, capture_output=True, text=True, timeout=3, check=False)
    except subprocess.TimeoutExpired:
        return False
    return done.stdout.strip() == "PONG"


def _left_over(prefix: str) -> list[str]:
    found = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True)
    spaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return [
        line for line in [*found.stdout.splitlines(), *spaces.stdout.splitlines()] if prefix in line
    ]


def test_netns_nodes_are_reached_cut_healed_and_removed_after_a_crash(
    stack_env: dict[str, str],
) -> None:
    up = stack_cli(stack_env, "up", "--redis", "sentinel", "--queue", "kafka", "--netns")
    assert up.returncode == 0, up.stdout + up.stderr
    var = Path(stack_env["COUPONRUSH_VAR_DIR"]).resolve()
    state, net = load(var / "state.json"), netns.load(var)
    assert state is not None
    assert net is not None
    status = json.loads(stack_cli(stack_env, "status", "--json").stdout)
    addrs = {n["addr"] for n in status["redis_nodes"]}
    assert addrs == {f"{ip}:{port}" for port, ip in state.redis_hosts.items()}
    assert all(n["pid"] and not n["addr"].startswith("127.") for n in status["redis_nodes"])
    broker = net.members["kafka-1"]
    assert [b["addr"] for b in status["kafka_brokers"]] == [f"{broker.ip}:{state.kafka_ports[0]}"]
    assert status["kafka_brokers"][0]["pid"] in netns.pids(broker.ns)
    assert _advertised(state.kafka_bootstrap) == [f"{broker.ip}:{state.kafka_ports[0]}"]

    # A sale goes through the gateway and the app workers on the host, its win through the
    # relay, the broker in its namespace and the consumer to PostgreSQL.
    assert stack_cli(stack_env, "event", "create", "ns-e1", "--stock", "2").returncode == 0
    assert stack_cli(stack_env, "issue", "ns-e1", "alice").returncode == 0
    wait_until(lambda: _rows(stack_env, "ns-e1") == 1, "alice's row, through Kafka", 60)

    replica_ip, replica_port = (
        state.redis_hosts[state.redis_data_ports[1]],
        state.redis_data_ports[1],
    )
    assert _ping(net, "redis-2", replica_ip, replica_port)
    links.cut(net, "redis-1", ["redis-2"])
    assert not _ping(net, "redis-2", replica_ip, replica_port)  # cut, both ways
    assert _ping(net, "sentinel-0", replica_ip, replica_port)  # the rest goes on
    links.heal(net, "redis-1")
    assert _ping(net, "redis-2", replica_ip, replica_port)

    # A crash: the supervisor and its programs on the host die; the Redis nodes in their
    # namespaces are left running. `down` still removes every one and all the stack made.
    supervisord = int((var / "supervisord.pid").read_text())
    inside = {pid for member in net.members.values() for pid in netns.pids(member.ns)}
    on_host = children(supervisord) - inside
    os.kill(supervisord, signal.SIGKILL)
    for pid in on_host:
        os.killpg(pid, signal.SIGKILL)
    assert inside
    assert stack_cli(stack_env, "down").returncode == 0
    assert _left_over(net.prefix) == []
    assert not (var / netns.RECORD).exists()
    wait_until(lambda: all(_gone(pid) for pid in inside), "the nodes killed", 10)


def _advertised(bootstrap: str) -> list[str]:
    """The brokers as the cluster's metadata names them to its clients."""
    from confluent_kafka.admin import AdminClient

    meta = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0}).list_topics(timeout=10)
    return [f"{b.host}:{b.port}" for b in meta.brokers.values()]


def _rows(env: dict[str, str], event_id: str) -> int:
    done = stack_cli(env, "reconcile", event_id, "--json")
    rows: int = json.loads(done.stdout)["db_rows"]
    return rows


def _gone(pid: int) -> bool:
    """No such process, or a dead one its new parent has not reaped yet."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" in status
