"""A sold-out event's frozen state, as the app workers' caches and the gateway's edge see it.

Once an event has sold out, ``issue.lua`` never changes it again: no stock, no new winner.
Only a write from outside the script can (``restore``, ``repair``'s counter fix, a top-up,
an operator), and each of those changes the event's stamp: ``restore`` rewrites
``created_at``, the counter fix and a top-up the stock, a new winner the count. Such a
write first fences the event (``fenced``), so nobody answers from what they verified
before it. A closed or archived event is answered by Redis (``closed``), not as sold out:
closing one changes its ``ends_at``, which is in the stamp too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    # The window's end as the meta hash holds it ("" = none), and whether it has passed
    # (or the event was archived).
    ends_at: str = ""
    closed: bool = False

    @property
    def fingerprint(self) -> str:
        """Changes with every write that could change a sold-out answer."""
        return f"{self.created_at}:{self.stock}:{self.winners}:{self.ends_at}"

    @property
    def sold_out(self) -> bool:
        """Answerable as sold out: no stock left, no write about to change that, and still
        in its window (after it, the answer is closed)."""
        return self.stock <= 0 and not self.fenced and not self.closed


@dataclass(frozen=True, slots=True)
class Frozen:
    """A sold-out event's stamp and its winners, read at one moment."""

    stamp: Stamp
    winners: Winners


def stamp_of(
    event_id: str,
    meta: Sequence[str | None],
    stock: str | None,
    winners: int,
    fenced: bool,
    now_ms: int,
) -> Stamp | None:
    """``meta``: its created_at, ends_at and archived fields. None when the event is
    unknown (no meta or no counter: lost, or never created)."""
    created_at, ends_at, archived = meta
    if created_at is None or stock is None:
        return None
    over = archived == "1" or (bool(ends_at) and int(ends_at or 0) <= now_ms)
    return Stamp(event_id, created_at, int(stock), int(winners), bool(fenced), ends_at or "", over)
