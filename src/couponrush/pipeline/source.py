"""The port every source of queued wins implements (Redis outbox stream, Kafka topic)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from couponrush.pipeline.model import Win


@dataclass(frozen=True, slots=True)
class Delivery:
    """One queued message: the win it holds, or why it holds none.

    ``payload`` is the message as received, kept for the dead-letter entry; ``ref`` is
    what the source needs to acknowledge it.
    """

    ref: object
    event_id: str
    payload: dict[str, str]
    win: Win | None
    error: str | None = None


class Source(Protocol):
    name: str

    async def fetch(self) -> list[Delivery]:
        """The next batch; empty after a bounded wait when there is nothing."""
        ...

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Mark these done for good: call only after their effects are committed."""
        ...

    async def close(self) -> None: ...
