"""What a rush run does, as plain values: who the clients are and when they arrive."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from typing import Literal

Arrival = Literal["burst", "ramp", "rate"]


@dataclass(frozen=True, slots=True)
class RushPlan:
    event_id: str
    clients: int
    stock: int
    connections: int = 256
    processes: int = 1
    arrival: Arrival = "burst"
    # ramp: seconds over which the clients arrive; rate: clients per second
    arrival_value: float = 0.0
    retry_budget: int = 5
    max_duration_s: float = 300.0
    request_timeout_s: float = 10.0
    # Keep every answer (a history, as Jepsen keeps one): the chaos runner's; a rush of a
    # million clients does without.
    history: bool = False

    def with_event(self, event_id: str) -> RushPlan:
        return replace(self, event_id=event_id)

    def offset_s(self, index: int) -> float:
        """When client ``index`` first sends, in seconds after the start."""
        if self.arrival == "ramp" and self.arrival_value > 0:
            return index * self.arrival_value / self.clients
        if self.arrival == "rate" and self.arrival_value > 0:
            return index / self.arrival_value
        return 0.0

    def share(self, process: int) -> range:
        """The client indices process ``process`` of ``processes`` simulates."""
        return range(process, self.clients, self.processes)

    def connections_of(self, process: int) -> int:
        base, extra = divmod(self.connections, self.processes)
        return max(1, base + (process < extra))


def user_id(index: int) -> str:
    return f"rush-{index:07d}"


def client_address(user: str) -> str:
    """A stable made-up address per simulated client, sent as X-Forwarded-For.

    Only a header value: the gateway, trusting the load generator's hop, gives each
    simulated client its own bucket. No traffic ever goes to these addresses.
    """
    n = zlib.crc32(user.encode())
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
