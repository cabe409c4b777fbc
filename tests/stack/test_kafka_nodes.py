"""The brokers' configuration, as a function of node id, ports and folder: a KRaft quorum of
every node, replication as compose runs it, and ports a restarted broker can take again."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from couponrush.stack import kafka, kafka_cluster, procs
from couponrush.stack.state import StackState, kafka_ports


def test_three_nodes_form_one_quorum_with_three_copies_two_in_sync(tmp_path: Path) -> None:
    nodes = kafka.cluster(tmp_path, [9101, 9102, 9103], [9201, 9202, 9203])
    conf = kafka.server_properties(nodes[1], nodes)
    assert conf["node.id"] == "2"
    assert conf["process.roles"] == "broker,controller"
    voters = "1@127.0.0.1:9201,2@127.0.0.1:9202,3@127.0.0.1:9203"
    assert conf["controller.quorum.voters"] == voters
    assert conf["listeners"] == "PLAINTEXT://127.0.0.1:9102,CONTROLLER://127.0.0.1:9202"
    assert conf["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9102"
    assert conf["log.dirs"] == str(tmp_path / "node-2" / "data")
    assert (conf["default.replication.factor"], conf["min.insync.replicas"]) == ("3", "2")
    assert conf["offsets.topic.replication.factor"] == "3"
    assert conf["auto.create.topics.enable"] == "false"
    assert conf["unclean.leader.election.enable"] == "false"


def test_replication_follows_the_number_of_brokers() -> None:
    found = {n: kafka.replication(n) for n in (1, 2, 3, 5)}
    assert {n: (r.factor, r.min_insync) for n, r in found.items()} == {
        1: (1, 1),
        2: (2, 1),
        3: (3, 2),
        5: (3, 2),
    }


def test_the_command_line_runs_the_node_of_its_folder(tmp_path: Path) -> None:
    node = kafka.cluster(tmp_path, [9101], [9201])[0]
    argv = kafka.broker_argv(node, tmp_path / "libs")
    assert argv[-2:] == ["kafka.Kafka", str(tmp_path / "node-1" / "server.properties")]
    assert any(a.startswith("-Xmx") for a in argv)
    tool = kafka.format_argv(node, "abc", tmp_path / "libs")
    start = tool.index("kafka.tools.StorageTool")
    assert tool[start : start + 4] == ["kafka.tools.StorageTool", "format", "--cluster-id", "abc"]


def test_a_cluster_id_is_kept_and_looks_like_kafkas(tmp_path: Path) -> None:
    first = kafka_cluster.cluster_id(tmp_path)
    assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", first)
    assert kafka_cluster.cluster_id(tmp_path) == first


def test_ports_are_below_the_ephemeral_range_and_reused_while_free() -> None:
    clients, controllers = kafka.new_ports(3)
    assert len(set(clients + controllers)) == 6
    assert max(clients + controllers) < procs.ephemeral_low()
    previous = StackState(
        "u", "r", "a", "s", 0, 1, kafka_ports=clients, kafka_controller_ports=controllers
    )
    assert kafka_ports(3, 0, previous) == (clients, controllers)
    assert len(kafka_ports(1, 0, previous)[0]) == 1


def three_brokers(**more: Any) -> StackState:
    """A stack's state with three brokers on loopback ports (and what ``more`` says)."""
    clients, controllers = [9101, 9102, 9103], [9201, 9202, 9203]
    return StackState(
        "u",
        "r",
        "a",
        "s",
        0,
        1,
        queue="kafka",
        kafka_ports=clients,
        kafka_controller_ports=controllers,
        **more,
    )


def test_the_stack_points_its_programs_at_every_broker_with_the_copies_they_allow() -> None:
    env = three_brokers().environment()
    assert env["COUPONRUSH_KAFKA_BOOTSTRAP"] == "127.0.0.1:9101,127.0.0.1:9102,127.0.0.1:9103"
    assert env["COUPONRUSH_KAFKA_REPLICATION_FACTOR"] == "3"
    assert env["COUPONRUSH_KAFKA_MIN_INSYNC_REPLICAS"] == "2"


def test_in_network_namespaces_each_broker_listens_on_and_advertises_its_address(
    tmp_path: Path,
) -> None:
    """`up --netns`: the Redis members take the first addresses, the brokers the next; each
    broker's listeners, quorum and the clients' bootstrap name its bridge address."""
    state = three_brokers(
        redis_mode="sentinel",
        redis_ports=[7001, 7002, 7003],
        sentinel_ports=[7101, 7102, 7103],
        netns_prefix="crabc123",
        netns_subnet="10.200.7",
    )
    assert list(state.netns_members)[6:] == ["kafka-1", "kafka-2", "kafka-3"]
    assert state.redis_hosts[7001] == "10.200.7.10"
    assert state.kafka_hosts == ["10.200.7.16", "10.200.7.17", "10.200.7.18"]
    bootstrap = "10.200.7.16:9101,10.200.7.17:9102,10.200.7.18:9103"
    assert state.environment()["COUPONRUSH_KAFKA_BOOTSTRAP"] == bootstrap
    nodes = state.kafka_nodes(tmp_path)
    conf = kafka.server_properties(nodes[1], nodes)
    assert conf["listeners"] == "PLAINTEXT://10.200.7.17:9102,CONTROLLER://10.200.7.17:9202"
    assert conf["advertised.listeners"] == "PLAINTEXT://10.200.7.17:9102"
    assert conf["controller.quorum.voters"].startswith("1@10.200.7.16:9201,")
