"""The Kafka pipeline's faults on a stack of three brokers: its leader killed or paused,
and a consumer of the group killed while another takes its partitions over (the leader
cut off by a partition: chaos.partitions).

The chaos stacks run the relay and the consumer with timeouts short enough for the
outages to pass them (the short form's too): a message's delivery timeout and the
consumer's poll interval (Kafka's least, with the consumer's 6-s session).
"""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from couponrush.stack import kafka_cluster
from couponrush.stack.commands import CLI
from couponrush.stack.local import Stack
from couponrush.stack.procs import free_port, spawn, stop
from couponrush.stack.programs import pipeline_env
from couponrush.stack.ready import http_ready, wait_until

DELIVERY_TIMEOUT_MS = 3_000
POLL_INTERVAL_MS = 6_000
TUNING = {
    "kafka_delivery_timeout_ms": DELIVERY_TIMEOUT_MS,
    "kafka_max_poll_interval_ms": POLL_INTERVAL_MS,
}


def broker_programs(stack: Stack) -> list[str]:
    state = stack.load_state()
    assert state is not None
    return [f"kafka-{i}" for i in range(1, len(state.kafka_ports) + 1)]


def leader(stack: Stack) -> str:
    """The program of the broker leading the most partitions of the wins topic."""
    state = stack.load_state()
    assert state is not None
    bootstrap = state.environment()["COUPONRUSH_KAFKA_BOOTSTRAP"]
    return f"kafka-{kafka_cluster.leader_of_most(bootstrap, stack.settings.kafka_topic)}"


def kill_leader(stack: Stack, _: str) -> None:
    os.kill(stack.supervisor.pid(leader(stack)), signal.SIGKILL)


def pause_leader(stack: Stack, _: str) -> None:
    os.kill(stack.supervisor.pid(leader(stack)), signal.SIGSTOP)


def resume_brokers(stack: Stack, _: str) -> None:
    """SIGCONT to every broker (a running one ignores it)."""
    for name in broker_programs(stack):
        os.kill(stack.supervisor.pid(name), signal.SIGCONT)


@dataclass
class Takeover:
    """A second consumer of the stack's group, outside its supervisor, for one scenario."""

    running: dict[Path, subprocess.Popen[bytes]] = field(default_factory=dict)

    def join_then_kill_first(self, stack: Stack, _: str) -> None:
        """Start the second consumer, wait until it has joined the group (its /readyz), then
        kill -9 the stack's own (supervisord starts it again; it rejoins)."""
        state = stack.load_state()
        assert state is not None
        port = free_port()
        env = {**os.environ, **state.environment(), **pipeline_env(stack.settings)}
        argv = [*CLI, "consume", "--metrics-port", str(port)]
        self.running[stack.var] = spawn(argv, stack.var / "logs" / "consumer-second.log", env)
        wait_until(http_ready(f"http://127.0.0.1:{port}"), "a second consumer's group join", 60)
        os.killpg(stack.supervisor.pid("consumer"), signal.SIGKILL)

    def leave(self, stack: Stack, _: str) -> None:
        proc = self.running.pop(stack.var, None)
        if proc is not None:
            stop(proc)


TAKEOVER = Takeover()
