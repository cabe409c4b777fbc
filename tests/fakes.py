"""In-memory fakes of the ports (core.ports), for unit tests of the use cases."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from couponrush.core.errors import BrokerUnavailable
from couponrush.core.event import Event
from couponrush.core.frozen import Frozen, Stamp
from couponrush.core.letters import Letter
from couponrush.core.ports import Delivery, Winners
from couponrush.core.win import ExistingRow, Win, parse_entry

Journal = list[str]


def delivery(event_id: str, user: str, slot: int | str, ref: int = 0) -> Delivery:
    """A queued message as a source hands it out (a slot that is no number: poison)."""
    payload = {
        "user_id": user,
        "slot": str(slot),
        "issued_at": "1700000000000",
        "request_id": f"r-{user}",
    }
    try:
        return Delivery(ref, event_id, payload, parse_entry(event_id, payload))
    except Exception as exc:  # what does not parse travels with its reason
        return Delivery(ref, event_id, payload, None, str(exc))


@dataclass
class FakeSource:
    batches: list[list[Delivery]]
    journal: Journal = field(default_factory=list)
    acked: list[Delivery] = field(default_factory=list)
    name: str = "fake"

    async def fetch(self) -> list[Delivery]:
        self.journal.append("fetch")
        return self.batches.pop(0) if self.batches else []

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        self.journal.append("ack")
        self.acked.extend(deliveries)

    async def close(self) -> None:
        return None


@dataclass
class FakeRepository:
    journal: Journal = field(default_factory=list)
    rows: dict[tuple[str, str], int] = field(default_factory=dict)
    events: set[str] = field(default_factory=set)
    failures: list[Exception] = field(default_factory=list)

    async def insert_wins(
        self, wins: Sequence[Win], codes: Sequence[str]
    ) -> dict[Win, list[ExistingRow]]:
        if self.failures:
            self.journal.append("write failed")
            raise self.failures.pop(0)
        self.journal.append("write")
        skipped: dict[Win, list[ExistingRow]] = {}
        for win in wins:
            in_the_way = [
                ExistingRow(u, s)
                for (e, u), s in self.rows.items()
                if e == win.event_id and (u == win.user_id or s == win.slot)
            ]
            if in_the_way:
                skipped[win] = in_the_way
            else:
                self.rows[(win.event_id, win.user_id)] = win.slot
        return skipped

    async def known_events(self, event_ids: Sequence[str]) -> set[str]:
        return self.events & set(event_ids)

    async def ensure_events(self, events: Sequence[Event]) -> None:
        self.events |= {e.event_id for e in events}


@dataclass
class FakeCatalog:
    """Event definitions Redis holds (the meta hash)."""

    known: set[str] = field(default_factory=set)

    async def definition(self, event_id: str) -> Event | None:
        return Event(event_id, event_id, 10, None, None) if event_id in self.known else None


@dataclass
class FakeDeadLetters:
    letters: list[Letter] = field(default_factory=list)

    async def put(self, letter: Letter) -> str:
        self.letters.append(letter)
        return f"{len(self.letters)}-0"


@dataclass
class FakePublisher:
    journal: Journal = field(default_factory=list)
    published: list[Win] = field(default_factory=list)
    outages: int = 0

    async def publish(self, wins: Sequence[Win]) -> None:
        if self.outages:
            self.outages -= 1
            self.journal.append("publish failed")
            raise BrokerUnavailable("broker down")
        self.journal.append("publish")
        self.published.extend(wins)


@dataclass
class FakeBatcher:
    """Answers each call with the next scripted reply, or never (a hung Redis)."""

    replies: list[list[Any] | Exception]
    calls: list[tuple[str, str, str]] = field(default_factory=list)

    def call(
        self, event_id: str, user_id: str, request_id: str
    ) -> tuple[asyncio.Future[list[Any]], int]:
        self.calls.append((event_id, user_id, request_id))
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        if self.replies:
            reply = self.replies.pop(0)
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result([reply])
        return future, 0


@dataclass
class FakeFrozen:
    """Sold-out events (their winners) as Redis would hold them; ``created_at`` stands for
    the rest of the stamp, so changing it is a restore."""

    winners: dict[str, Winners] = field(default_factory=dict)
    created_at: str = "1"
    fenced: bool = False
    loads: int = 0
    checks: int = 0
    # whether the replicas confirm what was read (replicated), and how often it was asked
    replicas_hold: bool = True
    confirms: int = 0

    def _stamp(self, event_id: str) -> Stamp | None:
        found = self.winners.get(event_id)
        if found is None:
            return None
        return Stamp(event_id, self.created_at, 0, len(found), self.fenced)

    async def stamp(self, event_id: str) -> Stamp | None:
        self.checks += 1
        return self._stamp(event_id)

    async def replicated(self, event_id: str) -> bool:
        self.confirms += 1
        return self.replicas_hold

    async def frozen(self, event_id: str) -> Frozen | None:
        self.loads += 1
        stamp = self._stamp(event_id)
        if stamp is None or not stamp.sold_out:
            return None
        return Frozen(stamp, dict(self.winners[event_id]))
