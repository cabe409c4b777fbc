"""A sold-out event's frozen state, as the app workers' caches and the gateway's edge see it.

Once an event has sold out, ``issue.lua`` never changes it again: no stock, no new winner.
Only a write from outside the script can (``restore``, ``repair``'s counter fix, an
operator), and each of those changes the event's stamp: ``restore`` rewrites ``created_at``,
the counter fix the stock, a new winner the count. Such a write first fences the event
(``fenced``), so nobody answers from what they verified before it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# user_id -> (slot, issued_at_ms)
Winners = Mapping[str, tuple[int, int]]


@dataclass(frozen=True, slots=True)
class Stamp:
    event_id: str
    created_at: str
    stock: int
    winners: int
    fenced: bool

    @property
    def fingerprint(self) -> str:
        """Changes with every write that could change a sold-out answer."""
        return f"{self.created_at}:{self.stock}:{self.winners}"

    @property
    def sold_out(self) -> bool:
        """Answerable as sold out: no stock left, and no write about to change that."""
        return self.stock <= 0 and not self.fenced


@dataclass(frozen=True, slots=True)
class Frozen:
    """A sold-out event's stamp and its winners, read at one moment."""

    stamp: Stamp
    winners: Winners


def stamp_of(
    event_id: str, created_at: str | None, stock: str | None, winners: int, fenced: bool
) -> Stamp | None:
    """None when the event is unknown (no meta or no counter: lost, or never created)."""
    if created_at is None or stock is None:
        return None
    return Stamp(event_id, created_at, int(stock), int(winners), bool(fenced))
