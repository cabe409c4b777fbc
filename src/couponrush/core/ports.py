"""The ports: what the use cases need from the outside world, as typing.Protocol.

Redis, PostgreSQL and Kafka adapters implement them; unit tests use in-memory fakes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from couponrush.core.event import Event
from couponrush.core.frozen import Frozen, Stamp
from couponrush.core.frozen import Winners as Winners
from couponrush.core.letters import Letter
from couponrush.core.win import ExistingRow, Win


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
    """Queued wins: the Redis outbox streams or the Kafka topic."""

    name: str

    async def fetch(self) -> list[Delivery]:
        """The next batch; empty after a bounded wait when there is nothing."""
        ...

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Mark these done for good: call only after their effects are committed."""
        ...

    async def close(self) -> None: ...


class DeadLetterSink(Protocol):
    async def put(self, letter: Letter) -> str: ...


class WinRepository(Protocol):
    """The database side of the consumer."""

    async def insert_wins(
        self, wins: Sequence[Win], codes: Sequence[str]
    ) -> dict[Win, list[ExistingRow]]:
        """Insert what is new; each win skipped, with the rows in its way."""
        ...

    async def known_events(self, event_ids: Sequence[str]) -> set[str]: ...

    async def ensure_events(self, events: Sequence[Event]) -> None:
        """Add the events' coupons rows that are missing; leave existing ones alone."""
        ...


class EventCatalog(Protocol):
    """Event definitions as Redis holds them (the meta hash)."""

    async def definition(self, event_id: str) -> Event | None: ...


class Publisher(Protocol):
    """The broker side of the relay: every win delivered, or BrokerUnavailable."""

    async def publish(self, wins: Sequence[Win]) -> None: ...


class Batcher(Protocol):
    """Runs the issue script: the calls of one event in one event-loop tick share one run,
    and its future."""

    def call(
        self, event_id: str, user_id: str, request_id: str
    ) -> tuple[asyncio.Future[list[Any]], int]:
        """The future of the reply to every call of the run, and this call's place in it."""
        ...


class FrozenStates(Protocol):
    """Sold-out events as Redis holds them (see core.frozen)."""

    async def stamp(self, event_id: str) -> Stamp | None:
        """The event's stamp, cheaply (no winners); None when the event is unknown."""
        ...

    async def frozen(self, event_id: str) -> Frozen | None:
        """Stamp and winners at one moment, when the event is sold out; else None."""
        ...

    async def replicated(self, event_id: str) -> bool:
        """Whether the replicas waited for hold everything read of the event so far."""
        ...
