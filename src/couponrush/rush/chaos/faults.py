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

from couponrush.stack.local import Stack

Action = Callable[[Stack], None]
Queue = Literal["stream", "kafka"]


@dataclass(frozen=True)
class Fault:
    name: str
    what: str
    inject: Action
    heal: Action | None = None  # None: a single blow, nothing to undo
    queue: Queue = "stream"
    redis: str = "standalone"

    @property
    def lasts(self) -> bool:
        return self.heal is not None


def kill(program: str) -> Action:
    def act(stack: Stack) -> None:
        os.killpg(stack.supervisor.pid(program), signal.SIGKILL)

    return act


def stop(program: str) -> Action:
    return lambda stack: stack.supervisor.stop_program(program)


def start(program: str) -> Action:
    return lambda stack: stack.supervisor.start_programs([program])


def pause(program: str, sig: int) -> Action:
    """SIGSTOP / SIGCONT: the memory-only test broker would forget its topic if stopped."""
    return lambda stack: os.kill(stack.supervisor.pid(program), sig)


def restart(program: str) -> Action:
    def act(stack: Stack) -> None:
        stack.supervisor.stop_program(program)
        stack.supervisor.start_programs([program])

    return act


def reload_gateway(stack: Stack) -> None:
    stack.supervisor.signal("gateway", "HUP")


FAULTS = (
    Fault("app-worker-kill", "kill -9 an app worker", kill("app-0")),
    Fault("consumer-kill", "kill -9 the consumer", kill("consumer")),
    Fault("relay-kill", "kill -9 the relay (kafka mode)", kill("relay"), queue="kafka"),
    Fault("broker-down", "the broker unreachable (paused)", pause("kafka", signal.SIGSTOP),
          pause("kafka", signal.SIGCONT), queue="kafka"),
    Fault("postgres-down", "PostgreSQL stopped", stop("postgres"), start("postgres")),
    Fault("redis-restart", "Redis stopped and started again (AOF)", restart("redis")),
    Fault("gateway-reload", "nginx reloads its configuration", reload_gateway),
)  # fmt: skip
